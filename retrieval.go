package ragvsft

import (
	"context"
	"errors"
)

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

// BatchRetriever is the optional ability of a Retriever to answer many
// queries at once, faster than one Retrieve call per query (one pass over
// the documents for a group of queries, queries embedded in batches). An
// Experiment finds it by type assertion, as database/sql finds a driver's
// optional interfaces, and then retrieves for all its questions in one call.
//
// RetrieveBatch returns, for each query in order, what Retrieve(ctx,
// queries[i], k) returns.
type BatchRetriever interface {
	RetrieveBatch(ctx context.Context, queries []string, k int) ([][]Hit, error)
}

// GoldRank returns the Rank of the hit whose document has ID docID, or -1
// when docID is empty or was not retrieved. An Experiment records it per
// question to compute hit@k and the mean reciprocal rank.
func GoldRank(hits []Hit, docID string) int {
	if docID == "" {
		return -1
	}
	for _, h := range hits {
		if h.Document.ID == docID {
			return h.Rank
		}
	}
	return -1
}

// ErrBadK is returned by Retrieve for k <= 0; the returned error wraps it
// and names the k that was asked for.
var ErrBadK = errors.New("ragvsft: k must be positive")
