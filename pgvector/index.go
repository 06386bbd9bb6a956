package pgvector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	pgv "github.com/pgvector/pgvector-go"
	"golang.org/x/sync/errgroup"

	"github.com/ragvsft/ragvsft"
)

// upsertBatch is how many documents Index embeds and upserts at once: one
// EmbedBatch call (OpenAIEmbedder's default batch, one request) and one
// INSERT statement.
const upsertBatch = 512

// storedDoc is what the table holds of a document, but its vector.
type storedDoc struct{ text, model string }

// Index makes the table hold exactly docs, creating it on the first call.
// It rejects an empty list, an empty ID or text, and duplicate IDs before
// changing anything. What is upserted before a failure or a cancellation
// stays, so the next Index reuses it.
func (r *Retriever) Index(ctx context.Context, docs []ragvsft.Document) error {
	if err := ragvsft.CheckDocuments(docs); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ragvsft: indexing: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	unlock, err := r.lockTable(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if r.fit {
		r.fitOn(docs)
	}

	dims, err := r.tableDims(ctx)
	if err != nil {
		return err
	}
	have := map[string]storedDoc{}
	if dims > 0 {
		if have, err = r.storedDocs(ctx); err != nil {
			return err
		}
	}
	var add []ragvsft.Document
	in := make(map[string]bool, len(docs))
	for _, d := range docs {
		in[d.ID] = true
		if old, ok := have[d.ID]; !ok || old.text != d.Text || old.model != r.model {
			add = append(add, d)
		}
	}
	var stale []string
	for id := range have {
		if !in[id] {
			stale = append(stale, id)
		}
	}
	slices.Sort(stale)
	stats := ragvsft.IndexStats{Embedded: len(add), Reused: len(docs) - len(add), Removed: len(stale)}

	if len(stale) > 0 {
		if _, err := r.pool.Exec(ctx, "DELETE FROM "+r.Table()+" WHERE id = ANY($1)", stale); err != nil {
			return fmt.Errorf("ragvsft: indexing: deleting %d documents no longer in the set from %s: %w", len(stale), r.Table(), err)
		}
	}
	if len(add) > 0 {
		if dims > 0 && len(add) > len(docs)/2 && !r.exact {
			// Building the graph once is faster than inserting most of
			// the table into it.
			if _, err := r.pool.Exec(ctx, "DROP INDEX IF EXISTS "+r.indexName()); err != nil {
				return fmt.Errorf("ragvsft: indexing: dropping %s before reloading: %w", r.indexName(), err)
			}
		}
		if err := r.upsertAll(ctx, add, dims, stats.Reused); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ragvsft: indexing: %w", err)
	}
	if !r.exact {
		if err := r.ensureHNSW(ctx); err != nil {
			return err
		}
	}
	r.stats = stats
	return nil
}

// lockTable waits for the table's advisory lock, so that two processes
// indexing the same table take turns instead of interleaving their
// deletes and upserts. The lock is held on a connection of its own and
// released by the returned function.
func (r *Retriever) lockTable(ctx context.Context) (func(), error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: indexing: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", "ragvsft:"+r.Table()); err != nil {
		conn.Release()
		return nil, fmt.Errorf("ragvsft: indexing: waiting for the lock on %s: %w", r.Table(), err)
	}
	return func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtextextended($1, 0))", "ragvsft:"+r.Table()); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // a closed session drops its locks
		}
		conn.Release()
	}, nil
}

// upsertAll embeds docs and upserts them in batches. The first batch goes
// alone: its vectors' length decides the table's column (created, or
// recreated when nothing stored is reused); the rest run on r.concurrency
// goroutines.
func (r *Retriever) upsertAll(ctx context.Context, docs []ragvsft.Document, dims, reused int) error {
	var mu sync.Mutex
	done := 0
	report := func(n int) {
		if r.progress != nil {
			mu.Lock()
			defer mu.Unlock()
			done += n
			r.progress(done, len(docs))
		}
	}
	first := docs[:min(upsertBatch, len(docs))]
	vecs, err := r.embedDocs(ctx, first)
	if err != nil {
		return err
	}
	if got := len(vecs[0]); got != dims {
		if dims > 0 && reused > 0 {
			return fmt.Errorf("ragvsft: indexing: %s holds %d-dimensional vectors but document %q's is %d-dimensional: "+
				"the table holds vectors of another embedding model; set Options.Model or Options.Table",
				r.Table(), dims, first[0].ID, got)
		}
		if err := r.createTable(ctx, got); err != nil {
			return err
		}
	}
	if err := r.upsert(ctx, first, vecs); err != nil {
		return err
	}
	report(len(first))

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency)
	for start := len(first); start < len(docs); start += upsertBatch {
		batch := docs[start:min(start+upsertBatch, len(docs))]
		g.Go(func() error {
			vecs, err := r.embedDocs(gctx, batch)
			if err != nil {
				return err
			}
			if err := r.upsert(gctx, batch, vecs); err != nil {
				return err
			}
			report(len(batch))
			return nil
		})
	}
	return g.Wait()
}

// embedDocs embeds one batch: in one EmbedBatch call if set, else through
// Embed on r.concurrency goroutines.
func (r *Retriever) embedDocs(ctx context.Context, batch []ragvsft.Document) ([][]float32, error) {
	texts := make([]string, len(batch))
	for i, d := range batch {
		texts[i] = d.Text
	}
	vecs, err := r.embedTexts(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: indexing: embedding documents %q to %q: %w", batch[0].ID, batch[len(batch)-1].ID, err)
	}
	for i, v := range vecs {
		if len(v) == 0 {
			return nil, fmt.Errorf("ragvsft: indexing: embedding document %q: empty vector", batch[i].ID)
		}
	}
	return vecs, nil
}

// embedTexts embeds texts, one vector per text in order.
func (r *Retriever) embedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	if r.embedBatch != nil {
		vecs, err := r.embedBatch(ctx, texts)
		if err != nil {
			return nil, err
		}
		if len(vecs) != len(texts) {
			return nil, fmt.Errorf("%d vectors for %d texts", len(vecs), len(texts))
		}
		return vecs, nil
	}
	vecs := make([][]float32, len(texts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency)
	for i, t := range texts {
		g.Go(func() error {
			v, err := r.embed(gctx, t)
			if err != nil {
				return fmt.Errorf("text %d: %w", i, err)
			}
			vecs[i] = v
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return vecs, nil
}

// upsert writes one batch in one statement: documents already stored are
// overwritten, so indexing twice never duplicates a row.
func (r *Retriever) upsert(ctx context.Context, batch []ragvsft.Document, vecs [][]float32) error {
	ids, texts, models := make([]string, len(batch)), make([]string, len(batch)), make([]string, len(batch))
	vs := make([]pgv.Vector, len(batch))
	for i, d := range batch {
		ids[i], texts[i], models[i], vs[i] = d.ID, d.Text, r.model, pgv.NewVector(vecs[i])
	}
	_, err := r.pool.Exec(ctx, "INSERT INTO "+r.Table()+` (id, body, model, embedding)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::vector[])
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, model = excluded.model, embedding = excluded.embedding`,
		ids, texts, models, vs)
	if err != nil {
		return fmt.Errorf("ragvsft: indexing: upserting documents %q to %q into %s: %w", batch[0].ID, batch[len(batch)-1].ID, r.Table(), err)
	}
	return nil
}

// tableDims returns the length of the table's vectors, 0 when the table
// does not exist.
func (r *Retriever) tableDims(ctx context.Context) (int, error) {
	var exists bool
	var dims *int
	err := r.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL,
		(SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'embedding' AND NOT attisdropped)`,
		r.Table()).Scan(&exists, &dims)
	switch {
	case err != nil:
		return 0, fmt.Errorf("ragvsft: indexing: looking for table %s: %w", r.Table(), err)
	case !exists:
		return 0, nil
	case dims == nil || *dims <= 0:
		return 0, fmt.Errorf("ragvsft: indexing: table %s exists but has no vector column \"embedding\" of fixed length: "+
			"it is not one of this package's; choose another Options.Table", r.Table())
	}
	return *dims, nil
}

// storedDocs reads every stored document's text and model.
func (r *Retriever) storedDocs(ctx context.Context) (map[string]storedDoc, error) {
	rows, err := r.pool.Query(ctx, "SELECT id, body, model FROM "+r.Table())
	if err != nil {
		return nil, fmt.Errorf("ragvsft: indexing: reading %s: %w", r.Table(), err)
	}
	have := map[string]storedDoc{}
	var id string
	var d storedDoc
	_, err = pgx.ForEachRow(rows, []any{&id, &d.text, &d.model}, func() error {
		have[id] = d
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ragvsft: indexing: reading %s: %w", r.Table(), err)
	}
	return have, nil
}

// createTable (re)creates the table for vectors of length dims; a table of
// another length is dropped, since none of its vectors is reused.
func (r *Retriever) createTable(ctx context.Context, dims int) error {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("ragvsft: indexing: creating %s: %w", r.Table(), err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+r.Table()); err != nil {
		return fmt.Errorf("ragvsft: indexing: dropping %s to change its vectors' length: %w", r.Table(), err)
	}
	_, err = tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE %s (
		id text PRIMARY KEY,
		body text NOT NULL,
		model text NOT NULL,
		embedding vector(%d) NOT NULL)`, r.Table(), dims))
	if err != nil {
		return fmt.Errorf("ragvsft: indexing: creating %s for %d-dimensional vectors: %w", r.Table(), dims, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("ragvsft: indexing: creating %s: %w", r.Table(), err)
	}
	return nil
}

// ensureHNSW builds the HNSW index when it is missing or was built with
// other parameters.
func (r *Retriever) ensureHNSW(ctx context.Context) error {
	want := []string{fmt.Sprintf("m=%d", r.hnsw.M), fmt.Sprintf("ef_construction=%d", r.hnsw.EfConstruction)}
	var have []string
	err := r.pool.QueryRow(ctx, "SELECT reloptions FROM pg_class WHERE oid = to_regclass($1)", r.indexName()).Scan(&have)
	switch {
	case err == nil:
		slices.Sort(have)
		slices.Sort(want)
		if slices.Equal(have, want) {
			return nil
		}
		if _, err := r.pool.Exec(ctx, "DROP INDEX "+r.indexName()); err != nil {
			return fmt.Errorf("ragvsft: indexing: dropping %s (built with %v) to rebuild it: %w", r.indexName(), have, err)
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("ragvsft: indexing: looking for %s: %w", r.indexName(), err)
	}
	_, err = r.pool.Exec(ctx, fmt.Sprintf("CREATE INDEX %s ON %s USING hnsw (embedding vector_cosine_ops) WITH (m = %d, ef_construction = %d)",
		r.indexName(), r.Table(), r.hnsw.M, r.hnsw.EfConstruction))
	if err != nil {
		return fmt.Errorf("ragvsft: indexing: building %s: %w", r.indexName(), err)
	}
	return nil
}

// isUndefinedTable tells whether err is PostgreSQL's "relation does not
// exist".
func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P01"
}
