// Package pgvector is a ragvsft.Retriever on PostgreSQL with the pgvector
// extension, for knowledge bases that outgrow one process or that a team
// already keeps in Postgres. It lives outside the root package, as
// database/sql keeps its drivers apart, so a program that does not use it
// does not link pgx.
//
// [Open] connects to a server from a DSN; [Retriever.Index] upserts the
// documents and their embeddings in batches into one table and builds an
// HNSW index on it (parameters in [HNSW]); [Retriever.Retrieve] and
// [Retriever.RetrieveBatch] return the nearest documents by cosine
// similarity, exactly as ragvsft.ChromemRetriever's contract says. The
// embedding functions are chromem's, so the offline
// ragvsft.NewLocalEmbeddingFunc and OpenAI's embeddings both work.
//
// The server needs the vector extension (CREATE EXTENSION vector, by a
// role allowed to); pgvector 0.8 or later also lets an approximate search
// return more than ef_search hits (hnsw.iterative_scan).
package pgvector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
	"github.com/philippgille/chromem-go"

	"github.com/ragvsft/ragvsft"
)

// DefaultTable is the table a Retriever keeps its documents in when
// Options.Table is empty.
const DefaultTable = "ragvsft_documents"

// HNSW's defaults are pgvector's own.
const (
	DefaultM              = 16
	DefaultEfConstruction = 64
	DefaultEfSearch       = 40
)

// HNSW sets pgvector's hierarchical navigable small world index. Larger
// values find the true nearest neighbours more often (recall) at the cost
// of time: M and EfConstruction when the index is built, EfSearch at every
// query. The zero value is pgvector's defaults, M 16, EfConstruction 64 and
// EfSearch 40.
type HNSW struct {
	// M is the number of neighbours each vector is linked to per layer,
	// 2 to 100; 0 means DefaultM.
	M int
	// EfConstruction is the candidate list's length while the index is
	// built, 4 to 1000 and at least 2*M; 0 means DefaultEfConstruction.
	EfConstruction int
	// EfSearch is the candidate list's length while a query walks the
	// index (hnsw.ef_search), 1 to 1000; 0 means DefaultEfSearch. A query
	// for more hits than EfSearch walks on (hnsw.iterative_scan).
	EfSearch int
}

// resolved fills in the defaults and checks the ranges pgvector accepts.
func (h HNSW) resolved() (HNSW, error) {
	h.M = cmp.Or(h.M, DefaultM)
	h.EfConstruction = cmp.Or(h.EfConstruction, DefaultEfConstruction)
	h.EfSearch = cmp.Or(h.EfSearch, DefaultEfSearch)
	switch {
	case h.M < 2 || h.M > 100:
		return h, fmt.Errorf("ragvsft: pgvector: HNSW.M must be 2 to 100, got %d", h.M)
	case h.EfConstruction < 4 || h.EfConstruction > 1000:
		return h, fmt.Errorf("ragvsft: pgvector: HNSW.EfConstruction must be 4 to 1000, got %d", h.EfConstruction)
	case h.EfConstruction < 2*h.M:
		return h, fmt.Errorf("ragvsft: pgvector: HNSW.EfConstruction (%d) must be at least 2*M (%d)", h.EfConstruction, 2*h.M)
	case h.EfSearch < 1 || h.EfSearch > 1000:
		return h, fmt.Errorf("ragvsft: pgvector: HNSW.EfSearch must be 1 to 1000, got %d", h.EfSearch)
	}
	return h, nil
}

// Options configures a Retriever. The zero value keeps the documents in
// DefaultTable, embedded with the local embedding fitted on them by Index
// (ragvsft.FitLocalEmbedding, as ChromemRetriever's default), and
// searches an HNSW index with pgvector's default parameters.
type Options struct {
	// Table is the table holding the documents, created by Index when it
	// does not exist, in the connection's search_path; "" means
	// DefaultTable. One database can hold several knowledge bases in
	// tables of their own.
	Table string
	// Embed embeds documents and queries; nil (with EmbedBatch nil) means
	// the local embedding, fitted on the documents at every Index: a
	// Retriever searches only after its Index. Embed nil with EmbedBatch
	// set means ragvsft.NewLocalEmbeddingFunc(0) for single texts.
	Embed chromem.EmbeddingFunc
	// Model names the embedding model behind Embed, stored with every
	// document so that a table built with another model is re-embedded
	// rather than mixed with new vectors. "" means the local embedding's
	// name when Embed is nil, and "custom" otherwise.
	Model string
	// EmbedBatch, if set, embeds many texts in one call, as Embed embeds
	// one (the same model): Index and RetrieveBatch then embed in batches.
	// Use (*ragvsft.OpenAIEmbedder).EmbedBatch, wrapped by
	// ragvsft.Cache.EmbeddingBatch to cache it.
	EmbedBatch ragvsft.BatchEmbeddingFunc
	// Concurrency is how many batches Index embeds and upserts at once,
	// and how many RetrieveBatch sends at once; 0 means runtime.NumCPU().
	// The pool's size is pgx's default (pool_max_conns in the DSN).
	Concurrency int
	// Progress, if set, is called by Index after each batch is upserted,
	// with the documents embedded so far and how many need it; one call
	// at a time. Nil reports nothing.
	Progress func(done, total int)
	// HNSW sets the index; its zero value is pgvector's defaults.
	HNSW HNSW
	// Exact makes every search scan the whole table, never the index:
	// the true nearest neighbours, at a cost that grows with the table.
	// Index then builds no HNSW index (it keeps one that exists). For
	// small knowledge bases, and to measure the index's recall.
	Exact bool
}

// Retriever is a ragvsft.Retriever and ragvsft.BatchRetriever on a
// PostgreSQL table with the pgvector extension.
//
// Index makes the table hold exactly the given documents: a document whose
// ID, text and embedding model are already stored keeps its vector (no
// embedding call), others are embedded and upserted in batches, and stored
// documents not in the set are deleted; then the HNSW index is built if it
// is missing or its parameters changed. Retrieve embeds the query with the
// same function and returns the k most similar documents; Hit.Score is the
// cosine similarity in [-1, 1] (1 minus pgvector's cosine distance), hits
// of equal score ordered by ID. The server sums the products in another
// order than Go does, so scores agree with ChromemRetriever's to about
// 1e-6, and documents whose scores tie that closely may come in another
// order than there. Without Options.Exact the search walks the
// HNSW index, which may miss a true neighbour (see HNSW); an approximate
// search that finds fewer than k hits is redone exactly, so k larger than
// the table returns the whole table.
//
// A Retriever is safe for concurrent use; Retrieve calls run in parallel on
// the connection pool, and an Index waits for running Retrieve calls of the
// same Retriever to finish. Index calls on the same table from other
// Retrievers or processes take turns (a PostgreSQL advisory lock); their
// searches meanwhile see the table as the running Index has left it so far.
// Close releases the connections.
type Retriever struct {
	pool        *pgxpool.Pool
	table       string
	embed       chromem.EmbeddingFunc
	embedBatch  ragvsft.BatchEmbeddingFunc
	model       string
	concurrency int
	progress    func(done, total int)
	hnsw        HNSW
	exact       bool

	mu    sync.RWMutex // Index holds it exclusively
	stats ragvsft.IndexStats

	// fit is set when the caller gave no embedding: Index fits the local
	// embedding on the documents (ragvsft.FitLocalEmbedding), as
	// ChromemRetriever does, so both defaults retrieve alike.
	fit    bool
	fitMu  sync.RWMutex
	fitted *ragvsft.LocalEmbedding
}

// embedFitted embeds with the local embedding fitted by the last Index.
func (r *Retriever) embedFitted(ctx context.Context, text string) ([]float32, error) {
	r.fitMu.RLock()
	e := r.fitted
	r.fitMu.RUnlock()
	if e == nil {
		return nil, errors.New("ragvsft: pgvector: the local embedding is fitted on the documents by Index: call Index first")
	}
	return e.Embed(ctx, text)
}

// fitOn fits the local embedding on docs; the caller holds r.mu.
func (r *Retriever) fitOn(docs []ragvsft.Document) {
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = d.Text
	}
	e := ragvsft.FitLocalEmbedding(texts, 0)
	r.fitMu.Lock()
	r.fitted = e
	r.fitMu.Unlock()
	r.model = e.Model()
}

var (
	_ ragvsft.Retriever      = (*Retriever)(nil)
	_ ragvsft.BatchRetriever = (*Retriever)(nil)
)

// Open connects to the PostgreSQL server of dsn (a URL,
// postgres://user:password@host:port/database?sslmode=disable, or
// key=value pairs, as pgx reads them; other parameters such as
// maintenance_work_mem=1GB are set for the session) and checks that the
// vector extension is there, creating it if it may. Errors name the server
// but never the password.
func Open(ctx context.Context, dsn string, opts Options) (*Retriever, error) {
	h, err := opts.HNSW.resolved()
	if err != nil {
		return nil, err
	}
	r := &Retriever{
		table:       cmp.Or(opts.Table, DefaultTable),
		embed:       opts.Embed,
		embedBatch:  opts.EmbedBatch,
		model:       opts.Model,
		concurrency: opts.Concurrency,
		progress:    opts.Progress,
		hnsw:        h,
		exact:       opts.Exact,
	}
	switch {
	case r.embed == nil && r.embedBatch == nil:
		r.fit = true
		r.embed = r.embedFitted
	case r.embed == nil:
		r.embed = ragvsft.NewLocalEmbeddingFunc(0)
		r.model = cmp.Or(r.model, ragvsft.LocalEmbeddingModel(0))
	}
	r.model = cmp.Or(r.model, "custom")
	if r.concurrency <= 0 {
		r.concurrency = runtime.NumCPU()
	}

	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password in what it quotes of the DSN.
		return nil, fmt.Errorf("ragvsft: pgvector: reading the DSN: %w", err)
	}
	server := describe(cfg.ConnConfig)
	// Session settings ride on the startup message, so they hold for every
	// statement, prepared and cached ones included.
	cfg.ConnConfig.RuntimeParams["hnsw.ef_search"] = strconv.Itoa(h.EfSearch)
	cfg.ConnConfig.RuntimeParams["hnsw.iterative_scan"] = "strict_order"

	if err := ensureExtension(ctx, cfg.ConnConfig.Copy(), server); err != nil {
		return nil, err
	}
	cfg.AfterConnect = pgxvec.RegisterTypes
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: pgvector: connecting to %s: %w", server, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ragvsft: pgvector: connecting to %s: %w", server, err)
	}
	r.pool = pool
	return r, nil
}

// describe names a server for error messages: user, host, port and
// database, never the password.
func describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// ensureExtension creates the vector extension when the database lacks it,
// on a connection of its own: the pool's connections register the vector
// type as they open, which needs the extension to be there.
func ensureExtension(ctx context.Context, cfg *pgx.ConnConfig, server string) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("ragvsft: pgvector: connecting to %s: %w", server, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var installed bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')").Scan(&installed); err != nil {
		return fmt.Errorf("ragvsft: pgvector: %s: looking for the vector extension: %w", server, err)
	}
	if installed {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
		return fmt.Errorf("ragvsft: pgvector: %s has no vector extension and this role cannot create it "+
			"(install pgvector on the server and run CREATE EXTENSION vector as its owner): %w", server, err)
	}
	return nil
}

// Close closes the connections, waiting for those in use.
func (r *Retriever) Close() {
	r.pool.Close()
}

// Table returns the table's name, as it is quoted in SQL.
func (r *Retriever) Table() string {
	return pgx.Identifier{r.table}.Sanitize()
}

// indexName is the HNSW index's name, quoted.
func (r *Retriever) indexName() string {
	return pgx.Identifier{r.table + "_hnsw"}.Sanitize()
}

// Stats reports what the last Index call did.
func (r *Retriever) Stats() ragvsft.IndexStats {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.stats
}

// Count returns the number of documents in the table, 0 when it does not
// exist yet.
func (r *Retriever) Count(ctx context.Context) (int, error) {
	var n int
	err := r.pool.QueryRow(ctx, "SELECT count(*) FROM "+r.Table()).Scan(&n)
	if isUndefinedTable(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ragvsft: pgvector: counting %s: %w", r.Table(), err)
	}
	return n, nil
}
