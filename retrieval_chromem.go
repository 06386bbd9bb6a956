package ragvsft

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/philippgille/chromem-go"
)

// DefaultCollection is the chromem collection a ChromemRetriever uses when
// ChromemOptions.Collection is empty.
const DefaultCollection = "ragvsft"

// modelKey is the document metadata under which ChromemRetriever records
// which embedding model made a document's vector.
const modelKey = "ragvsft.embedding_model"

// ChromemOptions configures a ChromemRetriever. The zero value is an
// in-memory index embedded with the local embedding fitted to the indexed
// documents (FitLocalEmbedding).
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
	// Embed embeds documents and queries. It must return normalized
	// vectors, as chromem requires. Nil, with EmbedBatch nil too, means the
	// local embedding, fitted by every Index to the documents it is given
	// (FitLocalEmbedding), so its weights are the corpus's; nil with
	// EmbedBatch set means NewLocalEmbeddingFunc(0) for single queries.
	Embed chromem.EmbeddingFunc
	// Model names the embedding model behind Embed. It is stored with every
	// document so that a persistent index built with another model is
	// re-embedded rather than mixed with new vectors. "" means "custom"
	// when Embed is set: set it when you persist vectors of your own Embed
	// and may change it later. With the fitted local embedding Model is
	// ignored: the name recorded is (*LocalEmbedding).Model, which changes
	// with the corpus, so a changed corpus re-embeds every document.
	Model string
	// EmbedBatch, if set, embeds many texts in one call, as Embed embeds
	// one (the same model, normalized vectors): Index then embeds its
	// documents in batches of up to embedIndexBatch texts instead of one
	// Embed call each, and RetrieveBatch its queries. Use
	// (*OpenAIEmbedder).EmbedBatch, wrapped by Cache.EmbeddingBatch to
	// cache it.
	EmbedBatch BatchEmbeddingFunc
	// Concurrency is how many documents (or, with EmbedBatch, batches)
	// Index embeds at once; 0 means runtime.NumCPU().
	Concurrency int
	// Progress, if set, is called by Index after each document or batch is
	// embedded, with the documents embedded so far and how many need it;
	// one call at a time, from Index's goroutines. Nil reports nothing.
	Progress func(done, total int)
}

// BatchEmbeddingFunc embeds texts in one call, returning one normalized
// vector per text, in order. (*OpenAIEmbedder).EmbedBatch is one; a batch
// costs one request per batch the provider's limits allow instead of one
// per text.
type BatchEmbeddingFunc func(ctx context.Context, texts []string) ([][]float32, error)

// embedIndexBatch is how many texts Index hands EmbedBatch at once: small
// enough for progress and cancellation between batches, large enough that
// OpenAIEmbedder sends each as one request (its default BatchSize).
const embedIndexBatch = defaultEmbedBatch

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
// chromem stores the documents and their vectors; searches run on a
// contiguous copy of the vectors, made after Index (or, for an index
// reopened from its folder, at the first search), which scores documents
// exactly as chromem's Query does (the same float32 sums, bit for bit, when
// built with the default GOAMD64) at close to the memory bandwidth, with
// AVX2 where the CPU has it. RetrieveBatch scores many queries per pass over
// the vectors.
//
// Index makes the collection hold exactly the given documents: a document
// whose ID, text and embedding model are already stored keeps its vector
// (no embedding call), others are embedded, and stored documents that are
// not in the set are removed. Retrieve embeds the query with the same
// function and returns the k most similar documents; Hit.Score is chromem's
// cosine similarity in [-1, 1]. Documents with equal scores are ordered by
// ID, so results are deterministic.
//
// The copy costs 4 bytes per dimension per document beside chromem's own.
//
// A ChromemRetriever is safe for concurrent use; Retrieve calls run in
// parallel, and an Index waits for running Retrieve calls to finish.
type ChromemRetriever struct {
	db          *chromem.DB
	name        string
	embedBatch  BatchEmbeddingFunc
	concurrency int
	progress    func(done, total int)
	fitted      bool // the local embedding, fitted to the indexed documents

	mu    sync.RWMutex // guards what follows; Index holds it exclusively
	embed chromem.EmbeddingFunc
	model string
	coll  *chromem.Collection
	stats IndexStats
	ix    *vectorIndex // nil: not built since opening or since Index began
}

var (
	_ Retriever      = (*ChromemRetriever)(nil)
	_ BatchRetriever = (*ChromemRetriever)(nil)
)

// NewChromemRetriever opens (or creates) the index described by opts.
func NewChromemRetriever(opts ChromemOptions) (*ChromemRetriever, error) {
	r := &ChromemRetriever{
		name:        cmp.Or(opts.Collection, DefaultCollection),
		embed:       opts.Embed,
		embedBatch:  opts.EmbedBatch,
		model:       opts.Model,
		concurrency: opts.Concurrency,
		progress:    opts.Progress,
	}
	switch {
	case r.embed == nil && r.embedBatch == nil:
		// Fitted by Index (or, for a reopened folder, by the first
		// search, from the stored texts); until then nothing is embedded.
		r.fitted = true
		r.embed = errNotFitted
		r.model = ""
	case r.embed == nil:
		r.embed = NewLocalEmbeddingFunc(0)
		r.model = cmp.Or(r.model, LocalEmbeddingModel(0))
	default:
		r.model = cmp.Or(r.model, "custom")
	}
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
	coll, err := r.db.GetOrCreateCollection(r.name, nil, r.chromemEmbed)
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
	if err := CheckDocuments(docs); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ragvsft: indexing: %w", err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.ix = nil // rebuilt below, or from chromem at the next search
	if r.fitted {
		texts := make([]string, len(docs))
		for i, d := range docs {
			texts[i] = d.Text
		}
		r.useLocal(FitLocalEmbedding(texts, 0))
	}

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
		coll, err := r.db.CreateCollection(r.name, nil, r.chromemEmbed)
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
		if err := r.embedAll(ctx, add); err != nil {
			return err
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
	ix, err := r.copyVectors(ctx, docs)
	if err != nil {
		return err
	}
	r.ix = ix
	r.stats = stats
	return nil
}

// embedAttempts is how many times embedAll tries a batch (or a document)
// before it gives up on it, on top of the retries of the embedding
// function's own client: a run against an endpoint that fails now and then
// still builds its index.
const embedAttempts = 3

// embedBackoff is the wait before embedAll's second attempt; it doubles.
var embedBackoff = 250 * time.Millisecond

// embedAll embeds docs and adds them to the collection as they are done:
// with EmbedBatch, in batches on r.concurrency goroutines; else through
// Embed, one by one on as many. A batch that fails is tried again
// (embedAttempts in all, with a doubling wait) while the others go on;
// what is added before a failure or a cancellation stays, so the next
// Index embeds only what is missing. The error counts what could not be
// embedded and names the first failure. Progress is told as documents are
// done.
func (r *ChromemRetriever) embedAll(ctx context.Context, docs []chromem.Document) error {
	size := 1
	if r.embedBatch != nil {
		size = embedIndexBatch
	}
	var mu sync.Mutex
	done, failed := 0, 0
	var first error
	batches := (len(docs) + size - 1) / size
	err := forEach(ctx, batches, r.concurrency, func(b int) error {
		batch := docs[b*size : min((b+1)*size, len(docs))]
		var err error
		wait := embedBackoff
		for attempt := 1; attempt <= embedAttempts; attempt++ {
			if err = r.embedBatchOnce(ctx, batch); err == nil || ctx.Err() != nil {
				break
			}
			if attempt < embedAttempts {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
				}
				wait *= 2
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed += len(batch)
			if first == nil {
				first = err
			}
			return nil // the other batches go on
		}
		done += len(batch)
		if r.progress != nil {
			r.progress(done, len(docs))
		}
		return nil
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return fmt.Errorf("ragvsft: indexing: %w", err)
		}
		return err
	}
	if failed > 0 {
		return fmt.Errorf("ragvsft: indexing: %d of %d documents could not be embedded after %d attempts each (the %d embedded are kept: indexing again embeds only the rest); the first failure: %w",
			failed, len(docs), embedAttempts, len(docs)-failed, first)
	}
	return nil
}

// embedBatchOnce embeds batch in one call (one document without
// EmbedBatch) and adds it to the collection.
func (r *ChromemRetriever) embedBatchOnce(ctx context.Context, batch []chromem.Document) error {
	if r.embedBatch == nil {
		v, err := r.embed(ctx, batch[0].Content)
		if err != nil {
			return fmt.Errorf("embedding document %q: %w", batch[0].ID, err)
		}
		batch[0].Embedding = v
	} else {
		texts := make([]string, len(batch))
		for i, d := range batch {
			texts[i] = d.Content
		}
		vs, err := r.embedBatch(ctx, texts)
		if err != nil {
			return fmt.Errorf("embedding documents %q to %q: %w", batch[0].ID, batch[len(batch)-1].ID, err)
		}
		if len(vs) != len(batch) {
			return fmt.Errorf("embedding documents %q to %q: %d vectors for %d texts", batch[0].ID, batch[len(batch)-1].ID, len(vs), len(batch))
		}
		for i := range batch {
			if len(vs[i]) == 0 {
				return fmt.Errorf("embedding document %q: empty vector", batch[i].ID)
			}
			batch[i].Embedding = vs[i]
		}
	}
	if err := r.coll.AddDocuments(ctx, batch, 1); err != nil {
		return fmt.Errorf("adding documents %q to %q: %w", batch[0].ID, batch[len(batch)-1].ID, err)
	}
	return nil
}

// copyVectors makes the search copy of docs' vectors as chromem stores them
// (it normalizes what it is given).
func (r *ChromemRetriever) copyVectors(ctx context.Context, docs []Document) (*vectorIndex, error) {
	ids, texts, vecs := make([]string, len(docs)), make([]string, len(docs)), make([][]float32, len(docs))
	for i, d := range docs {
		stored, err := r.coll.GetByID(ctx, d.ID)
		if err != nil {
			return nil, fmt.Errorf("ragvsft: indexing: document %q missing after indexing: %w", d.ID, err)
		}
		ids[i], texts[i], vecs[i] = d.ID, stored.Content, stored.Embedding
	}
	return newVectorIndex(ids, texts, vecs)
}

// vectors returns the search copy with r.mu read-locked (the caller
// unlocks), building it from chromem first if needed: after reopening a
// folder, chromem has the documents but cannot list them, so a query of
// probe's dimension for all of them reads them back, once.
func (r *ChromemRetriever) vectors(ctx context.Context, probe []float32) (*vectorIndex, error) {
	r.mu.RLock()
	for r.ix == nil {
		r.mu.RUnlock()
		if err := r.rebuild(ctx, probe); err != nil {
			return nil, err
		}
		r.mu.RLock()
	}
	return r.ix, nil
}

func (r *ChromemRetriever) rebuild(ctx context.Context, probe []float32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ix != nil {
		return nil
	}
	count := r.coll.Count()
	if count == 0 {
		return errors.New("ragvsft: retrieving: the index is empty; call Index first")
	}
	res, err := r.coll.QueryEmbedding(ctx, probe, count, nil, nil)
	if err != nil {
		return fmt.Errorf("ragvsft: retrieving: reading the %d stored vectors: %w", count, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ragvsft: retrieving: reading the stored vectors: %w", err)
	}
	ids, texts, vecs := make([]string, len(res)), make([]string, len(res)), make([][]float32, len(res))
	for i, x := range res {
		ids[i], texts[i], vecs[i] = x.ID, x.Content, x.Embedding
	}
	if r.fitted {
		// The weights are the stored documents': fit them again, and
		// make sure every stored vector was made with them (an Index
		// that failed midway leaves vectors of two corpora).
		local := FitLocalEmbedding(texts, 0)
		for _, x := range res {
			if got := x.Metadata[modelKey]; got != local.Model() {
				return fmt.Errorf("ragvsft: retrieving: stored document %q was embedded as %q, not as the local embedding of the stored documents (%s): call Index", x.ID, got, local.Model())
			}
		}
		r.useLocal(local)
	}
	ix, err := newVectorIndex(ids, texts, vecs)
	if err != nil {
		return err
	}
	r.ix = ix
	return nil
}

// queryVectors embeds queries, with EmbedBatch if set and batch is true,
// and returns their vectors and the search copy with r.mu read-locked
// (the caller unlocks). The fitted local embedding embeds the queries
// with the lock held, so with the weights of the documents searched;
// other embeddings (which may call a server) run before it is taken.
func (r *ChromemRetriever) queryVectors(ctx context.Context, queries []string, batch bool) ([][]float32, *vectorIndex, error) {
	vecs := make([][]float32, len(queries))
	if r.fitted {
		ix, err := r.fittedVectors(ctx)
		if err != nil {
			return nil, nil, err
		}
		if err := r.embedFitted(ctx, queries, vecs); err != nil {
			r.mu.RUnlock()
			return nil, nil, err
		}
		return vecs, ix, nil
	}
	if batch && r.embedBatch != nil {
		for start := 0; start < len(queries); start += embedIndexBatch {
			end := min(start+embedIndexBatch, len(queries))
			vs, err := r.embedBatch(ctx, queries[start:end])
			if err != nil {
				return nil, nil, fmt.Errorf("ragvsft: retrieving: embedding queries %d-%d: %w", start, end-1, err)
			}
			if len(vs) != end-start {
				return nil, nil, fmt.Errorf("ragvsft: retrieving: embedding queries %d-%d: %d vectors for %d texts", start, end-1, len(vs), end-start)
			}
			copy(vecs[start:], vs)
		}
	} else {
		err := forEach(ctx, len(queries), r.concurrency, func(i int) error {
			v, err := r.embed(ctx, queries[i])
			if err != nil {
				return fmt.Errorf("ragvsft: retrieving for %q: embedding the query: %w", queries[i], err)
			}
			vecs[i] = v
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	ix, err := r.vectors(ctx, vecs[0])
	if err != nil {
		return nil, nil, err
	}
	return vecs, ix, nil
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

// chromemEmbed is the collection's embedding function. Every document is
// given to chromem with its vector, so chromem should never call it; if it
// does, it embeds as Index does.
func (r *ChromemRetriever) chromemEmbed(ctx context.Context, text string) ([]float32, error) {
	return r.embed(ctx, text)
}

// errNotFitted is the fitted local embedding before it is fitted.
func errNotFitted(context.Context, string) ([]float32, error) {
	return nil, errors.New("ragvsft: the local embedding is fitted to the documents by Index; call Index first")
}

// useLocal makes e the embedding of documents and queries; r.mu is held.
func (r *ChromemRetriever) useLocal(e *LocalEmbedding) {
	r.embed, r.model = e.Embed, e.Model()
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
	vecs, ix, err := r.queryVectors(ctx, []string{query}, false)
	if err != nil {
		return nil, err
	}
	defer r.mu.RUnlock()
	res, err := ix.search(ctx, vecs[0], k)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: retrieving top %d for %q: %w", k, query, err)
	}
	return ix.hits(res), nil
}

// RetrieveBatch returns Retrieve(ctx, queries[i], k) for every query, in
// order: the queries are embedded (with EmbedBatch, if set, in batches) and
// scored against the documents in one pass per group of queries, which is
// several times faster than as many Retrieve calls.
func (r *ChromemRetriever) RetrieveBatch(ctx context.Context, queries []string, k int) ([][]Hit, error) {
	if k <= 0 {
		return nil, fmt.Errorf("%w, got %d", ErrBadK, k)
	}
	if len(queries) == 0 {
		return nil, nil
	}
	for i, q := range queries {
		if q == "" {
			return nil, fmt.Errorf("ragvsft: retrieving: query %d is empty", i)
		}
	}
	if r.fitted {
		return r.retrieveFitted(ctx, queries, k)
	}
	vecs, ix, err := r.queryVectors(ctx, queries, true)
	if err != nil {
		return nil, err
	}
	defer r.mu.RUnlock()
	res, err := ix.searchBatch(ctx, vecs, k)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: retrieving top %d for %d queries: %w", k, len(queries), err)
	}
	out := make([][]Hit, len(res))
	for i, x := range res {
		out[i] = ix.hits(x)
	}
	return out, nil
}

// fittedVectors returns the search copy of a retriever with the fitted
// local embedding (rebuilt, and the weights fitted, from the stored
// documents if need be) with r.mu read-locked (the caller unlocks).
func (r *ChromemRetriever) fittedVectors(ctx context.Context) (*vectorIndex, error) {
	probe := make([]float32, DefaultLocalEmbeddingDims)
	probe[0] = 1
	return r.vectors(ctx, probe)
}

// embedFitted embeds queries into vecs with the fitted local embedding;
// r.mu must be read-locked, so that the weights are the searched
// documents'.
func (r *ChromemRetriever) embedFitted(ctx context.Context, queries []string, vecs [][]float32) error {
	for i, q := range queries {
		v, err := r.embed(ctx, q)
		if err != nil {
			return fmt.Errorf("ragvsft: retrieving for %q: embedding the query: %w", q, err)
		}
		vecs[i] = v
	}
	return nil
}

// fittedBlock is how many queries RetrieveBatch embeds with the fitted
// local embedding before it searches them: it costs nothing to embed them
// a block at a time, and the vectors of 50,000 questions are 200 MB.
const fittedBlock = 1024

// retrieveFitted is RetrieveBatch with the fitted local embedding: a block
// of queries is embedded, searched and dropped before the next, all under
// one read lock, so that the whole batch sees one index.
func (r *ChromemRetriever) retrieveFitted(ctx context.Context, queries []string, k int) ([][]Hit, error) {
	ix, err := r.fittedVectors(ctx)
	if err != nil {
		return nil, err
	}
	defer r.mu.RUnlock()
	out := make([][]Hit, 0, len(queries))
	block := make([][]float32, fittedBlock)
	for start := 0; start < len(queries); start += fittedBlock {
		qs := queries[start:min(start+fittedBlock, len(queries))]
		vecs := block[:len(qs)]
		if err := r.embedFitted(ctx, qs, vecs); err != nil {
			return nil, err
		}
		res, err := ix.searchBatch(ctx, vecs, k)
		if err != nil {
			return nil, fmt.Errorf("ragvsft: retrieving top %d for %d queries: %w", k, len(queries), err)
		}
		for _, x := range res {
			out = append(out, ix.hits(x))
		}
	}
	return out, nil
}

// hits converts search results.
func (ix *vectorIndex) hits(res []scored) []Hit {
	hits := make([]Hit, len(res))
	for i, x := range res {
		hits[i] = Hit{
			Document: Document{ID: ix.ids[x.row], Text: ix.texts[x.row]},
			Rank:     i,
			Score:    float64(x.score),
		}
	}
	return hits
}
