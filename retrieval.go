package ragvsft

import (
	"context"
	"errors"
	"fmt"
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
//
// Experiment.Run checks every Retrieve's (or RetrieveBatch's) hits before
// any model is asked,
// and fails with an error wrapping ErrBadRetrieval if they break the
// contract: more than k hits, a hit whose Rank is not its position (the
// ranks must be 0, 1, ... n-1, in order), a document id that is not one of
// the indexed documents', or the same document twice. A broken retriever
// would otherwise be reported as perfect (every hit rank 0 is hit@1 =
// 100%). Scores are not checked.
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

// ErrBadRetrieval is wrapped by Experiment.Run when a Retriever's hits break
// its contract (see Retriever); the error names the retriever's type, the
// question and what is wrong. Nothing has been asked of any model then.
var ErrBadRetrieval = errors.New("ragvsft: retriever broke its contract")

// CheckDocuments applies the rules every Retriever's Index keeps before
// it changes anything: at least one document, each with an ID and a text,
// no two with the same ID. A Retriever outside this package calls it so
// that its errors read like the default's.
func CheckDocuments(docs []Document) error {
	if len(docs) == 0 {
		return errors.New("ragvsft: indexing: no documents")
	}
	seen := make(map[string]int, len(docs))
	for i, d := range docs {
		switch {
		case d.ID == "":
			return fmt.Errorf("ragvsft: indexing: document %d has an empty ID", i+1)
		case d.Text == "":
			return fmt.Errorf("ragvsft: indexing: document %q has an empty text", d.ID)
		}
		if j, dup := seen[d.ID]; dup {
			return fmt.Errorf("ragvsft: indexing: documents %d and %d have the same ID %q", j+1, i+1, d.ID)
		}
		seen[d.ID] = i
	}
	return nil
}

// checkRetrieval checks the hits of every question, in question order, and
// names the first question whose hits break the Retriever contract, with
// how many other questions' do.
func checkRetrieval(r Retriever, docs []Document, questions []Question, hits [][]Hit, k int) error {
	known := make(map[string]bool, len(docs))
	for _, d := range docs {
		known[d.ID] = true
	}
	var first error
	bad := 0
	for i, h := range hits {
		problem := hitsProblem(h, known, k)
		if problem == "" {
			continue
		}
		if bad++; first == nil {
			first = fmt.Errorf("%w: %T, question %s: %s", ErrBadRetrieval, r, questions[i].ID, problem)
		}
	}
	if bad > 1 {
		return fmt.Errorf("%w (and %d more questions)", first, bad-1)
	}
	return first
}

// hitsProblem says what is wrong with one Retrieve's hits, "" if nothing.
func hitsProblem(hits []Hit, known map[string]bool, k int) string {
	if len(hits) > k {
		return fmt.Sprintf("returned %d hits for k=%d", len(hits), k)
	}
	seen := make(map[string]int, len(hits))
	for i, h := range hits {
		id := h.Document.ID
		switch j, dup := seen[id]; {
		case h.Rank != i:
			return fmt.Sprintf("hit %d has rank %d (ranks must be 0..%d in order)", i, h.Rank, len(hits)-1)
		case !known[id]:
			return fmt.Sprintf("hit %d has unknown document id %q", i, id)
		case dup:
			return fmt.Sprintf("hits %d and %d are the same document %q", j, i, id)
		}
		seen[id] = i
	}
	return ""
}
