package pgvector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	pgv "github.com/pgvector/pgvector-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/internal/pgtest"
	"github.com/ragvsft/ragvsft/internal/vecgen"
)

// testTable returns a table name of the test's own, dropped when it ends,
// so tests run in parallel and reruns start empty.
func testTable(t *testing.T, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "ragvsft_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize())
		assert.NoError(t, err)
	})
	return name
}

// open opens a Retriever on a fresh table of the test's own.
func open(t *testing.T, opts Options) *Retriever {
	t.Helper()
	dsn := pgtest.DSN(t)
	if opts.Table == "" {
		opts.Table = testTable(t, dsn)
	}
	r, err := Open(context.Background(), dsn, opts)
	require.NoError(t, err, "the test server in %s must be reachable", pgtest.Env)
	t.Cleanup(r.Close)
	return r
}

// vectorSpace embeds the texts "d<i>" as docs[i] and "q<i>" as queries[i],
// counting calls, so tests choose the geometry instead of a model.
type vectorSpace struct {
	docs, queries [][]float32
	calls, texts  atomic.Int64
}

func newVectorSpace(docs, queries, dims int) *vectorSpace {
	all := vecgen.Clustered(docs+queries, dims, 20, 0.1, 7)
	return &vectorSpace{docs: all[:docs], queries: all[docs:]}
}

func (s *vectorSpace) embed(_ context.Context, text string) ([]float32, error) {
	s.calls.Add(1)
	s.texts.Add(1)
	return s.lookup(text)
}

func (s *vectorSpace) embedBatch(_ context.Context, texts []string) ([][]float32, error) {
	s.calls.Add(1)
	s.texts.Add(int64(len(texts)))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, err := s.lookup(t)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (s *vectorSpace) lookup(text string) ([]float32, error) {
	var i int
	switch {
	case strings.HasPrefix(text, "d") && scan(text[1:], &i) && i < len(s.docs):
		return s.docs[i], nil
	case strings.HasPrefix(text, "q") && scan(text[1:], &i) && i < len(s.queries):
		return s.queries[i], nil
	}
	return nil, fmt.Errorf("no vector for %q", text)
}

func scan(s string, i *int) bool {
	_, err := fmt.Sscanf(s, "%d", i)
	return err == nil
}

func (s *vectorSpace) documents() []ragvsft.Document {
	docs := make([]ragvsft.Document, len(s.docs))
	for i := range docs {
		docs[i] = ragvsft.Document{ID: fmt.Sprintf("doc-%05d", i), Text: fmt.Sprintf("d%d", i)}
	}
	return docs
}

func (s *vectorSpace) queryTexts() []string {
	qs := make([]string, len(s.queries))
	for i := range qs {
		qs[i] = fmt.Sprintf("q%d", i)
	}
	return qs
}

// kbDocuments reads a test knowledge base's documents and questions.
func kbDocuments(t *testing.T, name string) ([]ragvsft.Document, []ragvsft.Question) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", name))
	require.NoError(t, err)
	defer f.Close()
	ds, err := ragvsft.ReadJSONL(f, name)
	require.NoError(t, err)
	docs, err := ragvsft.Documents(ds)
	require.NoError(t, err)
	qs, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	return docs, qs
}

// checkContract asserts the Retriever contract Experiment.Run enforces,
// and that scores come best first.
func checkContract(t *testing.T, hits []ragvsft.Hit, known map[string]bool, want int) {
	t.Helper()
	require.Len(t, hits, want)
	seen := map[string]bool{}
	for i, h := range hits {
		assert.Equal(t, i, h.Rank)
		assert.True(t, known[h.Document.ID], "unknown id %q", h.Document.ID)
		assert.False(t, seen[h.Document.ID], "%q twice", h.Document.ID)
		seen[h.Document.ID] = true
		assert.NotEmpty(t, h.Document.Text)
		assert.LessOrEqual(t, h.Score, 1.0+1e-6)
		if i > 0 {
			assert.LessOrEqual(t, h.Score, hits[i-1].Score, "scores best first")
		}
	}
}

// On real knowledge bases and the local embedding, both searches keep the
// contract, and the exact one returns what ChromemRetriever returns.
func TestRetrieverContractOnKnowledgeBases(t *testing.T) {
	for _, kb := range []string{"companies.jsonl", "rivers.jsonl", "people.jsonl", "german.jsonl"} {
		t.Run(kb, func(t *testing.T) {
			docs, questions := kbDocuments(t, kb)
			known := map[string]bool{}
			for _, d := range docs {
				known[d.ID] = true
			}
			chromem, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{})
			require.NoError(t, err)
			require.NoError(t, chromem.Index(context.Background(), docs))
			exact := open(t, Options{Exact: true})
			require.NoError(t, exact.Index(context.Background(), docs))
			approx := open(t, Options{Table: exact.table})
			require.NoError(t, approx.Index(context.Background(), docs))
			assert.Equal(t, ragvsft.IndexStats{Reused: len(docs)}, approx.Stats(), "the second retriever reuses the table")

			for _, q := range questions {
				want, err := chromem.Retrieve(context.Background(), q.Text, 3)
				require.NoError(t, err)
				for name, r := range map[string]*Retriever{"exact": exact, "hnsw": approx} {
					hits, err := r.Retrieve(context.Background(), q.Text, 3)
					require.NoError(t, err, name)
					checkContract(t, hits, known, min(3, len(docs)))
					if name == "exact" {
						sameUpToTies(t, want, hits, q.Text)
					}
				}
			}
			all, err := approx.Retrieve(context.Background(), questions[0].Text, len(docs)+10)
			require.NoError(t, err)
			checkContract(t, all, known, len(docs))
		})
	}
}

// scoreTie is how close two cosine similarities are when PostgreSQL and Go
// sum the same products in another order.
const scoreTie = 1e-5

// sameUpToTies asserts that two hit lists have the same scores at every
// rank and the same documents, but that documents whose scores tie may
// come in either order, or, tied with the last hit, one instead of the
// other.
func sameUpToTies(t *testing.T, want, got []ragvsft.Hit, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	score := map[string]float64{}
	for _, w := range want {
		score[w.Document.ID] = w.Score
	}
	last := want[len(want)-1].Score
	for j := range want {
		require.InDelta(t, want[j].Score, got[j].Score, scoreTie, "%s: hit %d", what, j)
		if got[j].Document.ID == want[j].Document.ID {
			assert.Equal(t, want[j].Document.Text, got[j].Document.Text)
			continue
		}
		s, ok := score[got[j].Document.ID]
		if !ok {
			s = last // not in want: it must tie with the last hit
		}
		require.InDelta(t, want[j].Score, s, scoreTie, "%s: hit %d is %s instead of %s, and their scores do not tie",
			what, j, got[j].Document.ID, want[j].Document.ID)
	}
}

func ids(hits []ragvsft.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Document.ID
	}
	return out
}

func TestRetrieveRejectsBadArguments(t *testing.T) {
	r := open(t, Options{})
	_, err := r.Retrieve(context.Background(), "anything", 3)
	require.ErrorContains(t, err, "call Index first", "before Index")

	require.NoError(t, r.Index(context.Background(), []ragvsft.Document{{ID: "a", Text: "Paris is in France."}}))
	_, err = r.Retrieve(context.Background(), "Paris", 0)
	require.ErrorIs(t, err, ragvsft.ErrBadK)
	_, err = r.RetrieveBatch(context.Background(), []string{"Paris"}, -1)
	require.ErrorIs(t, err, ragvsft.ErrBadK)
	_, err = r.Retrieve(context.Background(), "", 1)
	require.ErrorContains(t, err, "empty query")
	_, err = r.RetrieveBatch(context.Background(), []string{"Paris", ""}, 1)
	require.ErrorContains(t, err, "query 1 is empty")

	for _, tc := range []struct {
		docs []ragvsft.Document
		want string
	}{
		{nil, "no documents"},
		{[]ragvsft.Document{{ID: "", Text: "x"}}, "document 1 has an empty ID"},
		{[]ragvsft.Document{{ID: "b", Text: ""}}, `document "b" has an empty text`},
		{[]ragvsft.Document{{ID: "b", Text: "x"}, {ID: "b", Text: "y"}}, `documents 1 and 2 have the same ID "b"`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			require.ErrorContains(t, r.Index(context.Background(), tc.docs), tc.want)
			n, err := r.Count(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 1, n, "a rejected Index changes nothing")
		})
	}
}

// Indexing the same documents again embeds nothing and stores no second
// copy; a changed, a removed and a new document are told apart.
func TestIndexIsAnUpsert(t *testing.T) {
	space := newVectorSpace(40, 0, 16)
	r := open(t, Options{Embed: space.embed, Model: "space"})
	docs := space.documents()
	ctx := context.Background()

	require.NoError(t, r.Index(ctx, docs))
	assert.Equal(t, ragvsft.IndexStats{Embedded: 40}, r.Stats())
	require.NoError(t, r.Index(ctx, docs))
	assert.Equal(t, ragvsft.IndexStats{Reused: 40}, r.Stats())
	assert.Equal(t, int64(40), space.texts.Load(), "the second Index embeds nothing")
	n, err := r.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, 40, n, "no row twice")

	changed := slices.Clone(docs[:39]) // doc-00039 removed
	changed[5].Text = "d39"            // doc-00005 changed
	changed = append(changed, ragvsft.Document{ID: "doc-new", Text: "d39"})
	require.NoError(t, r.Index(ctx, changed))
	assert.Equal(t, ragvsft.IndexStats{Embedded: 2, Reused: 38, Removed: 1}, r.Stats())
	n, err = r.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, 40, n)

	hits, err := r.Retrieve(ctx, "d39", 2)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"doc-00005", "doc-new"}, ids(hits), "both hold d39's vector now")
	assert.InDelta(t, 1.0, hits[0].Score, 1e-5)
	var texts []string
	rows, err := r.pool.Query(ctx, "SELECT body FROM "+r.Table()+" WHERE id = 'doc-00005'")
	require.NoError(t, err)
	texts, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Equal(t, []string{"d39"}, texts, "the changed text replaced the old one")
}

// More documents than one batch: a few EmbedBatch calls, one upsert each,
// progress to the end, and RetrieveBatch answering as Retrieve does.
func TestBatchUpsertAndRetrieveBatch(t *testing.T) {
	const n = 3*upsertBatch + 17
	space := newVectorSpace(n, 150, 24)
	var mu sync.Mutex
	var progress [][2]int
	r := open(t, Options{Embed: space.embed, EmbedBatch: space.embedBatch, Model: "space", Concurrency: 3,
		Progress: func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			progress = append(progress, [2]int{done, total})
		}})
	ctx := context.Background()
	require.NoError(t, r.Index(ctx, space.documents()))
	assert.Equal(t, int64(4), space.calls.Load(), "one EmbedBatch call per batch of %d", upsertBatch)
	assert.Equal(t, int64(n), space.texts.Load())
	require.Len(t, progress, 4)
	assert.Equal(t, [2]int{n, n}, progress[3])
	cnt, err := r.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, n, cnt)

	queries := space.queryTexts()
	space.calls.Store(0)
	batch, err := r.RetrieveBatch(ctx, queries, 5)
	require.NoError(t, err)
	assert.Equal(t, int64(1), space.calls.Load(), "150 queries are embedded in one batch")
	require.Len(t, batch, len(queries))
	for i, q := range queries {
		one, err := r.Retrieve(ctx, q, 5)
		require.NoError(t, err)
		assert.Equal(t, one, batch[i], q)
	}
}

// The approximate SQL walks the HNSW index and the exact SQL cannot, as
// the server plans them; on a small table they agree.
func TestHNSWAgreesWithExactSearch(t *testing.T) {
	space := newVectorSpace(3000, 100, 32)
	ctx := context.Background()
	approx := open(t, Options{Embed: space.embed, EmbedBatch: space.embedBatch, Model: "space"})
	require.NoError(t, approx.Index(ctx, space.documents()))
	exact := open(t, Options{Table: approx.table, Embed: space.embed, EmbedBatch: space.embedBatch, Model: "space", Exact: true})
	require.NoError(t, exact.Index(ctx, space.documents()))

	plan := func(sql string) string {
		var lines []string
		rows, err := approx.pool.Query(ctx, "EXPLAIN "+sql, pgv.NewVector(space.queries[0]), 5)
		require.NoError(t, err)
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return strings.Join(lines, "\n")
	}
	// Planner statistics decide between index and scan; fresh ones, as
	// autovacuum would gather, make the index the plan for a top-5.
	_, err := approx.pool.Exec(ctx, "ANALYZE "+approx.Table())
	require.NoError(t, err)
	assert.Contains(t, plan(approx.sql(false)), "Index Scan using "+approx.table+"_hnsw")
	assert.NotContains(t, plan(approx.sql(true)), "Index Scan")

	found, total := 0, 0
	for _, q := range space.queryTexts() {
		a, err := approx.Retrieve(ctx, q, 5)
		require.NoError(t, err)
		e, err := exact.Retrieve(ctx, q, 5)
		require.NoError(t, err)
		for _, id := range ids(e) {
			total++
			if slices.Contains(ids(a), id) {
				found++
			}
		}
	}
	recall := float64(found) / float64(total)
	t.Logf("recall@5 of the HNSW index on 3000 clustered vectors: %.3f", recall)
	assert.GreaterOrEqual(t, recall, 0.95)
}

// The index's parameters are the ones asked for, and asking for others
// rebuilds it.
func TestHNSWParametersAreSettable(t *testing.T) {
	space := newVectorSpace(200, 0, 8)
	ctx := context.Background()
	r := open(t, Options{Embed: space.embed, Model: "space", HNSW: HNSW{M: 8, EfConstruction: 20}})
	require.NoError(t, r.Index(ctx, space.documents()))
	reloptions := func() []string {
		var opts []string
		require.NoError(t, r.pool.QueryRow(ctx, "SELECT reloptions FROM pg_class WHERE oid = to_regclass($1)", r.indexName()).Scan(&opts))
		slices.Sort(opts)
		return opts
	}
	assert.Equal(t, []string{"ef_construction=20", "m=8"}, reloptions())

	r2 := open(t, Options{Table: r.table, Embed: space.embed, Model: "space", HNSW: HNSW{EfSearch: 123}})
	require.NoError(t, r2.Index(ctx, space.documents()))
	assert.Equal(t, []string{"ef_construction=64", "m=16"}, reloptions(), "the defaults rebuild it")
	var ef string
	require.NoError(t, r2.pool.QueryRow(ctx, "SHOW hnsw.ef_search").Scan(&ef))
	assert.Equal(t, "123", ef)

	for _, tc := range []struct {
		h    HNSW
		want string
	}{
		{HNSW{M: 1}, "HNSW.M must be 2 to 100"},
		{HNSW{M: 101, EfConstruction: 500}, "HNSW.M must be 2 to 100"},
		{HNSW{M: 40}, "must be at least 2*M"},
		{HNSW{EfConstruction: 1001}, "HNSW.EfConstruction must be 4 to 1000"},
		{HNSW{EfSearch: 1001}, "HNSW.EfSearch must be 1 to 1000"},
		{HNSW{EfSearch: -1}, "HNSW.EfSearch must be 1 to 1000"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := Open(ctx, "postgres://nobody@127.0.0.1:1/none", Options{HNSW: tc.h})
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// A new embedding model of another length replaces the table's vectors; a
// length that does not match vectors being reused is refused.
func TestIndexChangesModel(t *testing.T) {
	small, big := newVectorSpace(30, 0, 8), newVectorSpace(30, 0, 12)
	ctx := context.Background()
	r := open(t, Options{Embed: small.embed, Model: "small"})
	docs := small.documents()
	require.NoError(t, r.Index(ctx, docs))

	r2 := open(t, Options{Table: r.table, Embed: big.embed, Model: "big"})
	require.NoError(t, r2.Index(ctx, docs))
	assert.Equal(t, ragvsft.IndexStats{Embedded: 30}, r2.Stats())
	hits, err := r2.Retrieve(ctx, "d3", 1)
	require.NoError(t, err)
	assert.Equal(t, "doc-00003", hits[0].Document.ID)

	// The same model name, vectors of another length, some documents kept.
	r3 := open(t, Options{Table: r.table, Embed: small.embed, Model: "big"})
	more := append(slices.Clone(docs), ragvsft.Document{ID: "extra", Text: "d0"})
	err = r3.Index(ctx, more)
	require.ErrorContains(t, err, "holds 12-dimensional vectors")
	require.ErrorContains(t, err, "another embedding model")
}

// A DSN that is wrong says what is wrong and where, never the password.
func TestBadDSN(t *testing.T) {
	good, err := url.Parse(pgtest.DSN(t))
	require.NoError(t, err)
	realPassword, _ := good.User.Password()
	wrong := *good
	wrong.User = url.UserPassword(good.User.Username(), "Wr0ngPassw0rd")
	noDB := *good
	noDB.Path = "/no_such_database"
	closed := *good
	closed.Host = "127.0.0.1:1"

	for _, tc := range []struct {
		name, dsn, want string
	}{
		{"unparsable", "postgres://ragvsft:Wr0ngPassw0rd@127.0.0.1:notaport/x", "reading the DSN"},
		{"wrong password", wrong.String(), "password authentication failed"},
		{"no database", noDB.String(), `database "no_such_database" does not exist`},
		{"nothing listening", closed.String(), "connecting to postgres://" + good.User.Username() + "@127.0.0.1:1/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(context.Background(), tc.dsn, Options{})
			require.ErrorContains(t, err, tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "ragvsft: pgvector: "), err.Error())
			assert.NotContains(t, err.Error(), "Wr0ngPassw0rd")
			if realPassword != "" {
				assert.NotContains(t, err.Error(), realPassword)
			}
		})
	}
}

// An Index waits while another session indexes the same table: it holds
// the table's advisory lock here, and Index starts only once it is let go.
func TestIndexTakesTurnsWithOtherProcesses(t *testing.T) {
	space := newVectorSpace(20, 0, 8)
	r := open(t, Options{Embed: space.embed, Model: "space"})
	ctx := context.Background()
	other, err := pgx.Connect(ctx, pgtest.DSN(t))
	require.NoError(t, err)
	defer other.Close(ctx)
	key := "ragvsft:" + r.Table()
	_, err = other.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", key)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- r.Index(ctx, space.documents()) }()
	waiting := func() bool {
		var n int
		err := other.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`, key).Scan(&n)
		return err == nil && n == 1
	}
	require.Eventually(t, waiting, time.Minute, 10*time.Millisecond, "Index waits for the lock")
	n, err := r.Count(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing written while the other session holds the lock")

	_, err = other.Exec(ctx, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)
	require.NoError(t, err)
	require.NoError(t, <-done)
	n, err = r.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, 20, n)
}
