package ragvsft

import "context"

// Hit is one retrieved document.
type Hit struct {
	Document Document
	// Rank is the 0-based position in the result list, best first.
	Rank int
	// Score is the retriever's similarity; higher is better.
	Score float64
}

// Retriever finds the documents most relevant to a query.
//
// Index is called once with the whole collection before any Retrieve.
// Retrieve returns at most k hits, best first; k larger than the collection
// returns the whole collection, k <= 0 is an error. Implementations must be
// safe for concurrent calls to Retrieve.
type Retriever interface {
	Index(ctx context.Context, docs []Document) error
	Retrieve(ctx context.Context, query string, k int) ([]Hit, error)
}
