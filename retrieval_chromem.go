package ragvsft

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/philippgille/chromem-go"
)

// DefaultCollection is the chromem collection a ChromemRetriever uses when
// ChromemOptions.Collection is empty.
const DefaultCollection = "ragvsft"

// modelKey is the document metadata under which ChromemRetriever records
// which embedding model made a document's vector.
const modelKey = "ragvsft.embedding_model"

// ChromemOptions configures a ChromemRetriever. The zero value is an
// in-memory index embedded with NewLocalEmbeddingFunc(0).
type ChromemOptions struct {
	// Dir is the folder of a persistent index (chromem.NewPersistentDB);
	// "" keeps the index in memory. Reopening a folder reuses the vectors
	// stored there, so embeddings are paid once.
	Dir string
	// Compress gzips the files of a persistent index.
	Compress bool
	// Collection is the chromem collection's name; "" means
	// DefaultCollection. One folder can hold several collections.
	Collection string
	// Embed embeds documents and queries; nil means NewLocalEmbeddingFunc(0).
	// It must return normalized vectors, as chromem requires.
	Embed chromem.EmbeddingFunc
	// Model names the embedding model behind Embed. It is stored with every
	// document so that a persistent index built with another model is
	// re-embedded rather than mixed with new vectors. "" means the local
	// embedding's name when Embed is nil, and "custom" otherwise: set it
	// when you persist vectors of your own Embed and may change it later.
	Model string
	// Concurrency is how many documents Index embeds at once; 0 means
	// runtime.NumCPU().
	Concurrency int
}

// IndexStats says what the last Index did.
type IndexStats struct {
	// Embedded counts documents whose vector was computed.
	Embedded int `json:"embedded"`
	// Reused counts documents whose stored vector was kept because their ID,
	// text and embedding model were unchanged.
	Reused int `json:"reused"`
	// Removed counts stored documents that were not in the indexed set.
	Removed int `json:"removed"`
}

// ChromemRetriever is the default Retriever: an exhaustive cosine search
// over chromem-go, in memory or persistent in a folder.
//
// Index makes the collection hold exactly the given documents: a document
// whose ID, text and embedding model are already stored keeps its vector
// (no embedding call), others are embedded, and stored documents that are
// not in the set are removed. Retrieve embeds the query with the same
// function and returns the k most similar documents; Hit.Score is chromem's
// cosine similarity in [-1, 1]. Documents with equal scores are ordered by
// ID, so results are deterministic.
//
// A ChromemRetriever is safe for concurrent use; Retrieve calls run in
// parallel, and an Index waits for running Retrieve calls to finish.
type ChromemRetriever struct {
	db          *chromem.DB
	name        string
	embed       chromem.EmbeddingFunc
	model       string
	concurrency int

	mu    sync.RWMutex // guards coll and stats; Index holds it exclusively
	coll  *chromem.Collection
	stats IndexStats
}

var _ Retriever = (*ChromemRetriever)(nil)

// NewChromemRetriever opens (or creates) the index described by opts.
func NewChromemRetriever(opts ChromemOptions) (*ChromemRetriever, error) {
	r := &ChromemRetriever{
		name:        cmp.Or(opts.Collection, DefaultCollection),
		embed:       opts.Embed,
		model:       opts.Model,
		concurrency: opts.Concurrency,
	}
	if r.embed == nil {
		r.embed = NewLocalEmbeddingFunc(0)
		r.model = cmp.Or(r.model, localEmbeddingModel(0))
	}
	r.model = cmp.Or(r.model, "custom")
	if r.concurrency <= 0 {
		r.concurrency = runtime.NumCPU()
	}
	if opts.Dir == "" {
		r.db = chromem.NewDB()
	} else {
		db, err := chromem.NewPersistentDB(opts.Dir, opts.Compress)
		if err != nil {
			return nil, fmt.Errorf("ragvsft: opening index folder %s: %w", opts.Dir, err)
		}
		r.db = db
	}
	coll, err := r.db.GetOrCreateCollection(r.name, nil, r.embed)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: opening collection %q: %w", r.name, err)
	}
	r.coll = coll
	return r, nil
}

// Count returns the number of indexed documents.
func (r *ChromemRetriever) Count() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.coll.Count()
}

// Stats reports what the last Index call did.
func (r *ChromemRetriever) Stats() IndexStats {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.stats
}

// Index makes the collection hold exactly docs. It rejects an empty list,
// an empty ID or text, and duplicate IDs, before changing anything.
func (r *ChromemRetriever) Index(ctx context.Context, docs []Document) error {
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
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ragvsft: indexing: %w", err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()

	// Sort the work: documents whose stored vector can be kept, and the rest.
	add := make([]chromem.Document, 0, len(docs))
	keep := make([]chromem.Document, 0, len(docs))
	stored := r.coll.Count()
	found := 0
	for _, d := range docs {
		old, err := r.coll.GetByID(ctx, d.ID)
		if err != nil { // not stored
			add = append(add, r.chromemDoc(d, nil))
			continue
		}
		found++
		if old.Content == d.Text && old.Metadata[modelKey] == r.model && len(old.Embedding) > 0 {
			keep = append(keep, r.chromemDoc(d, old.Embedding))
			continue
		}
		add = append(add, r.chromemDoc(d, nil))
	}
	stats := IndexStats{Embedded: len(add), Reused: len(keep), Removed: stored - found}

	if stats.Removed > 0 {
		// chromem cannot list IDs, so drop the collection and write back
		// what is kept with its vectors: no embedding is paid again.
		if err := r.db.DeleteCollection(r.name); err != nil {
			return fmt.Errorf("ragvsft: indexing: clearing collection %q: %w", r.name, err)
		}
		coll, err := r.db.CreateCollection(r.name, nil, r.embed)
		if err != nil {
			return fmt.Errorf("ragvsft: indexing: recreating collection %q: %w", r.name, err)
		}
		r.coll = coll
		// Kept vectors first: if embedding fails below, they are not lost.
		if len(keep) > 0 {
			if err := r.coll.AddDocuments(ctx, keep, r.concurrency); err != nil {
				return fmt.Errorf("ragvsft: indexing: restoring %d stored vectors: %w", len(keep), err)
			}
		}
	}
	if len(add) > 0 {
		if err := r.coll.AddDocuments(ctx, add, r.concurrency); err != nil {
			return fmt.Errorf("ragvsft: indexing %d documents: %w", len(add), err)
		}
	}
	// chromem stops early without an error when ctx is cancelled before its
	// workers start, so check: a half-built index must not look complete.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ragvsft: indexing: %w", err)
	}
	if len(keep) > 0 && stats.Embedded > 0 {
		if err := checkDims(ctx, r.coll, keep[0].ID, add[0].ID); err != nil {
			return err
		}
	}
	r.stats = stats
	return nil
}

// chromemDoc converts d; a nil embedding asks chromem to embed the text.
func (r *ChromemRetriever) chromemDoc(d Document, embedding []float32) chromem.Document {
	return chromem.Document{
		ID:        d.ID,
		Content:   d.Text,
		Embedding: embedding,
		Metadata:  map[string]string{modelKey: r.model},
	}
}

// checkDims makes sure a reused vector and a new one have the same length,
// so vectors of another model stored under the same Model name fail here,
// not at query time.
func checkDims(ctx context.Context, coll *chromem.Collection, keptID, addedID string) error {
	kept, err := coll.GetByID(ctx, keptID)
	if err != nil {
		return fmt.Errorf("ragvsft: indexing: document %q missing after indexing: %w", keptID, err)
	}
	added, err := coll.GetByID(ctx, addedID)
	if err != nil {
		return fmt.Errorf("ragvsft: indexing: document %q missing after indexing: %w", addedID, err)
	}
	if len(kept.Embedding) != len(added.Embedding) {
		return fmt.Errorf("ragvsft: indexing: stored document %q has a %d-dimensional vector but new document %q %d: "+
			"the index holds vectors of another embedding model; set ChromemOptions.Model",
			keptID, len(kept.Embedding), addedID, len(added.Embedding))
	}
	return nil
}

// Retrieve returns the k documents most similar to query, best first. k
// larger than the collection returns the whole collection; k <= 0 is an
// error wrapping ErrBadK.
func (r *ChromemRetriever) Retrieve(ctx context.Context, query string, k int) ([]Hit, error) {
	if k <= 0 {
		return nil, fmt.Errorf("%w, got %d", ErrBadK, k)
	}
	if query == "" {
		return nil, errors.New("ragvsft: retrieving: empty query")
	}
	vec, err := r.embed(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: retrieving for %q: embedding the query: %w", query, err)
	}

	r.mu.RLock()
	defer r.mu.RUnlock()
	count := r.coll.Count()
	if count == 0 {
		return nil, errors.New("ragvsft: retrieving: the index is empty; call Index first")
	}
	k = min(k, count)
	// Ask for one more than k, and for more while the k-th result ties with
	// the last one returned, so which of several equal documents make the
	// cut does not depend on the order of chromem's parallel scan.
	n := min(k+1, count)
	var res []chromem.Result
	for {
		res, err = r.coll.QueryEmbedding(ctx, vec, n, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("ragvsft: retrieving top %d for %q: %w", k, query, err)
		}
		if n >= count || len(res) < n || res[n-1].Similarity != res[k-1].Similarity {
			break
		}
		n = min(2*n, count)
	}
	// chromem stops scanning without an error when ctx is cancelled.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ragvsft: retrieving for %q: %w", query, err)
	}
	slices.SortStableFunc(res, func(a, b chromem.Result) int {
		return cmp.Or(cmp.Compare(b.Similarity, a.Similarity), cmp.Compare(a.ID, b.ID))
	})
	if len(res) > k {
		res = res[:k]
	}
	hits := make([]Hit, len(res))
	for i, x := range res {
		hits[i] = Hit{
			Document: Document{ID: x.ID, Text: x.Content},
			Rank:     i,
			Score:    float64(x.Similarity),
		}
	}
	return hits, nil
}
