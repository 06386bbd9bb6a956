package pgvector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	pgv "github.com/pgvector/pgvector-go"
	"golang.org/x/sync/errgroup"

	"github.com/ragvsft/ragvsft"
)

// The two searches are distinct SQL, not one statement under two session
// settings: pgx prepares and caches each statement, and a cached plan
// keeps the index scan whatever enable_indexscan says later.
const (
	// approximateSQL is the form the planner answers with the HNSW index:
	// ORDER BY the distance operator on the column, with a LIMIT.
	approximateSQL = "SELECT id, body, embedding <=> $1 FROM %s ORDER BY embedding <=> $1 LIMIT $2"
	// exactSQL hides the distance in a subquery that OFFSET 0 keeps from
	// being merged into the outer query, so no index can produce its order:
	// every row is scored, ties ordered by ID.
	exactSQL = "SELECT id, body, distance FROM (SELECT id, body, embedding <=> $1 AS distance FROM %s OFFSET 0) AS scored " +
		"ORDER BY distance, id LIMIT $2"
)

// queriesPerRoundTrip is how many searches RetrieveBatch sends to the
// server at once, pipelined on one connection.
const queriesPerRoundTrip = 64

// Retrieve returns the k documents most similar to query, best first. k
// larger than the table returns the whole table; k <= 0 is an error
// wrapping ragvsft.ErrBadK.
func (r *Retriever) Retrieve(ctx context.Context, query string, k int) ([]ragvsft.Hit, error) {
	if k <= 0 {
		return nil, fmt.Errorf("%w, got %d", ragvsft.ErrBadK, k)
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
	hits, err := r.search(ctx, vec, k, r.exact)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: retrieving top %d for %q: %w", k, query, err)
	}
	return hits, nil
}

// RetrieveBatch returns Retrieve(ctx, queries[i], k) for every query, in
// order: the queries are embedded (with EmbedBatch, if set, in batches) and
// sent to the server queriesPerRoundTrip at a time.
func (r *Retriever) RetrieveBatch(ctx context.Context, queries []string, k int) ([][]ragvsft.Hit, error) {
	if k <= 0 {
		return nil, fmt.Errorf("%w, got %d", ragvsft.ErrBadK, k)
	}
	if len(queries) == 0 {
		return nil, nil
	}
	for i, q := range queries {
		if q == "" {
			return nil, fmt.Errorf("ragvsft: retrieving: query %d is empty", i)
		}
	}
	vecs := make([][]float32, 0, len(queries))
	for start := 0; start < len(queries); start += upsertBatch {
		end := min(start+upsertBatch, len(queries))
		vs, err := r.embedTexts(ctx, queries[start:end])
		if err != nil {
			return nil, fmt.Errorf("ragvsft: retrieving: embedding queries %d-%d: %w", start, end-1, err)
		}
		vecs = append(vecs, vs...)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([][]ragvsft.Hit, len(queries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency)
	for start := 0; start < len(queries); start += queriesPerRoundTrip {
		end := min(start+queriesPerRoundTrip, len(queries))
		g.Go(func() error {
			if err := r.searchMany(gctx, vecs[start:end], k, out[start:end]); err != nil {
				return fmt.Errorf("ragvsft: retrieving top %d for queries %d-%d: %w", k, start, end-1, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// search returns the k nearest documents to vec; an approximate search
// that finds fewer is redone exactly.
func (r *Retriever) search(ctx context.Context, vec []float32, k int, exact bool) ([]ragvsft.Hit, error) {
	rows, err := r.pool.Query(ctx, r.sql(exact), pgv.NewVector(vec), k)
	if err != nil {
		return nil, r.searchError(err)
	}
	hits, err := collectHits(rows)
	if err != nil {
		return nil, r.searchError(err)
	}
	if len(hits) < k && !exact {
		return r.search(ctx, vec, k, true)
	}
	if len(hits) == 0 {
		return nil, fmt.Errorf("%s is empty; call Index first", r.Table())
	}
	return hits, nil
}

// searchMany answers vecs' searches in one round trip, into out.
func (r *Retriever) searchMany(ctx context.Context, vecs [][]float32, k int, out [][]ragvsft.Hit) error {
	b := &pgx.Batch{}
	for _, v := range vecs {
		b.Queue(r.sql(r.exact), pgv.NewVector(v), k)
	}
	res := r.pool.SendBatch(ctx, b)
	for i := range vecs {
		rows, err := res.Query()
		if err == nil {
			out[i], err = collectHits(rows)
		}
		if err != nil {
			res.Close()
			return r.searchError(err)
		}
	}
	if err := res.Close(); err != nil {
		return r.searchError(err)
	}
	for i, v := range vecs {
		if len(out[i]) < k {
			hits, err := r.search(ctx, v, k, true)
			if err != nil {
				return err
			}
			out[i] = hits
		}
	}
	return nil
}

func (r *Retriever) sql(exact bool) string {
	if exact {
		return fmt.Sprintf(exactSQL, r.Table())
	}
	return fmt.Sprintf(approximateSQL, r.Table())
}

func (r *Retriever) searchError(err error) error {
	if isUndefinedTable(err) {
		return fmt.Errorf("table %s does not exist; call Index first: %w", r.Table(), err)
	}
	return err
}

// collectHits reads a search's rows as hits, best first, equal scores
// ordered by ID (the index returns ties in the order it found them).
func collectHits(rows pgx.Rows) ([]ragvsft.Hit, error) {
	var hits []ragvsft.Hit
	var id, text string
	var distance float64
	_, err := pgx.ForEachRow(rows, []any{&id, &text, &distance}, func() error {
		hits = append(hits, ragvsft.Hit{Document: ragvsft.Document{ID: id, Text: text}, Score: 1 - distance})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(hits, func(a, b ragvsft.Hit) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Document.ID, b.Document.ID))
	})
	for i := range hits {
		hits[i].Rank = i
	}
	return hits, nil
}
