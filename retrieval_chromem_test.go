package ragvsft

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/philippgille/chromem-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingEmbed wraps the local embedding and counts its calls.
type countingEmbed struct {
	calls atomic.Int64
	inner chromem.EmbeddingFunc
}

func newCountingEmbed() *countingEmbed {
	return &countingEmbed{inner: NewLocalEmbeddingFunc(0)}
}

func (c *countingEmbed) embed(ctx context.Context, text string) ([]float32, error) {
	c.calls.Add(1)
	return c.inner(ctx, text)
}

func newIndexed(t *testing.T, opts ChromemOptions, docs []Document) *ChromemRetriever {
	t.Helper()
	r, err := NewChromemRetriever(opts)
	require.NoError(t, err)
	require.NoError(t, r.Index(context.Background(), docs))
	return r
}

func TestChromemRetrieverCities(t *testing.T) {
	ctx := context.Background()
	docs := testCities(100)
	r := newIndexed(t, ChromemOptions{}, docs)
	require.Equal(t, 100, r.Count())
	for i, d := range docs {
		hits, err := r.Retrieve(ctx, fmt.Sprintf("What is the population of City_%d?", i+1), 5)
		require.NoError(t, err)
		require.Len(t, hits, 5)
		assert.Equal(t, 0, GoldRank(hits, d.ID), "City_%d", i+1)
		assert.Equal(t, d, hits[0].Document)
		for j, h := range hits {
			assert.Equal(t, j, h.Rank)
			if j > 0 {
				assert.GreaterOrEqual(t, hits[j-1].Score, h.Score)
			}
			assert.LessOrEqual(t, h.Score, 1.0+1e-6)
		}
	}
}

func TestChromemRetrieverK(t *testing.T) {
	ctx := context.Background()
	docs := testCities(7)
	r := newIndexed(t, ChromemOptions{}, docs)
	tests := []struct {
		k       int
		wantLen int
		wantErr string
	}{
		{k: 0, wantErr: "ragvsft: k must be positive, got 0"},
		{k: -3, wantErr: "ragvsft: k must be positive, got -3"},
		{k: 1, wantLen: 1},
		{k: 7, wantLen: 7},
		{k: 8, wantLen: 7},
		{k: 1000, wantLen: 7},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("k=", tt.k), func(t *testing.T) {
			hits, err := r.Retrieve(ctx, "population of City_3", tt.k)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				require.ErrorIs(t, err, ErrBadK)
				return
			}
			require.NoError(t, err)
			require.Len(t, hits, tt.wantLen)
			assert.Equal(t, "city-3", hits[0].Document.ID)
			ids := map[string]bool{}
			for _, h := range hits {
				ids[h.Document.ID] = true
			}
			assert.Len(t, ids, tt.wantLen, "no document twice")
		})
	}
}

func TestChromemRetrieverTiesAreDeterministic(t *testing.T) {
	ctx := context.Background()
	// Twenty copies of one text: all tie, so the ID decides.
	var docs []Document
	for i := range 20 {
		docs = append(docs, Document{ID: fmt.Sprintf("d%02d", 19-i), Text: "the same passage"})
	}
	docs = append(docs, Document{ID: "other", Text: "an unrelated sentence about bananas"})
	r := newIndexed(t, ChromemOptions{}, docs)
	for range 20 {
		hits, err := r.Retrieve(ctx, "the same passage", 3)
		require.NoError(t, err)
		require.Len(t, hits, 3)
		assert.Equal(t, []string{"d00", "d01", "d02"}, []string{hits[0].Document.ID, hits[1].Document.ID, hits[2].Document.ID})
	}
}

func TestChromemRetrieverIndexErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		docs    []Document
		wantErr string
	}{
		{"none", nil, "ragvsft: indexing: no documents"},
		{"empty id", []Document{{ID: "a", Text: "x"}, {Text: "y"}}, "ragvsft: indexing: document 2 has an empty ID"},
		{"empty text", []Document{{ID: "a", Text: "x"}, {ID: "b"}}, `ragvsft: indexing: document "b" has an empty text`},
		{"duplicate", []Document{{ID: "a", Text: "x"}, {ID: "b", Text: "y"}, {ID: "a", Text: "z"}},
			`ragvsft: indexing: documents 1 and 3 have the same ID "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewChromemRetriever(ChromemOptions{})
			require.NoError(t, err)
			require.EqualError(t, r.Index(ctx, tt.docs), tt.wantErr)
			assert.Zero(t, r.Count(), "nothing indexed")
		})
	}

	t.Run("retrieve before index", func(t *testing.T) {
		r, err := NewChromemRetriever(ChromemOptions{})
		require.NoError(t, err)
		_, err = r.Retrieve(ctx, "anything", 3)
		require.ErrorContains(t, err, "index is empty")
	})
	t.Run("empty query", func(t *testing.T) {
		r := newIndexed(t, ChromemOptions{}, testCities(3))
		_, err := r.Retrieve(ctx, "", 3)
		require.ErrorContains(t, err, "empty query")
	})
	t.Run("embedding error is wrapped", func(t *testing.T) {
		boom := errors.New("boom")
		r, err := NewChromemRetriever(ChromemOptions{Embed: func(context.Context, string) ([]float32, error) { return nil, boom }})
		require.NoError(t, err)
		err = r.Index(ctx, testCities(3))
		require.ErrorIs(t, err, boom)
		require.ErrorContains(t, err, "ragvsft: indexing: 3 of 3 documents could not be embedded after 3 attempts each")
		require.ErrorContains(t, err, "the first failure: embedding document \"city-")
	})
}

// An endpoint that fails now and then: each document is tried again while
// the others go on; one that keeps failing leaves the others indexed, and
// the next Index embeds only it.
func TestChromemRetrieverIndexRetries(t *testing.T) {
	defer func(d time.Duration) { embedBackoff = d }(embedBackoff)
	embedBackoff = time.Millisecond
	local := NewLocalEmbeddingFunc(0)
	var mu sync.Mutex
	calls := map[string]int{}
	broken := "City_2"
	embed := func(ctx context.Context, text string) ([]float32, error) {
		mu.Lock()
		calls[text]++
		n := calls[text]
		mu.Unlock()
		if n < embedAttempts || strings.Contains(text, broken+" ") {
			return nil, errors.New("500 server_error")
		}
		return local(ctx, text)
	}
	r, err := NewChromemRetriever(ChromemOptions{Embed: embed})
	require.NoError(t, err)
	docs := testCities(4)
	err = r.Index(context.Background(), docs)
	require.ErrorContains(t, err, "1 of 4 documents could not be embedded after 3 attempts each (the 3 embedded are kept")
	assert.Equal(t, 3, r.coll.Count())
	for _, d := range docs {
		assert.Equal(t, embedAttempts, calls[d.Text], d.ID)
	}

	broken = "nothing"
	require.NoError(t, r.Index(context.Background(), docs))
	assert.Equal(t, IndexStats{Embedded: 1, Reused: 3}, r.Stats(), "only the missing document is embedded again")
}

func TestChromemRetrieverCancelled(t *testing.T) {
	cctx, cancel := context.WithCancel(context.Background())
	cancel()

	t.Run("index", func(t *testing.T) {
		r, err := NewChromemRetriever(ChromemOptions{})
		require.NoError(t, err)
		require.ErrorIs(t, r.Index(cctx, testCities(50)), context.Canceled)
	})
	t.Run("index cancelled midway by an embedding that ignores ctx", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		local := NewLocalEmbeddingFunc(0)
		var calls atomic.Int64
		r, err := NewChromemRetriever(ChromemOptions{Concurrency: 1, Embed: func(_ context.Context, s string) ([]float32, error) {
			if calls.Add(1) == 5 {
				cancel()
			}
			return local(context.Background(), s)
		}})
		require.NoError(t, err)
		// chromem's workers may all have passed their ctx check already,
		// so the embedding count proves nothing; the error must come.
		require.ErrorIs(t, r.Index(ctx, testCities(50)), context.Canceled)
	})
	t.Run("retrieve", func(t *testing.T) {
		r := newIndexed(t, ChromemOptions{}, testCities(50))
		_, err := r.Retrieve(cctx, "City_3", 5)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("retrieve with an embedding that ignores ctx", func(t *testing.T) {
		// The scan itself must notice the cancelled context.
		local := NewLocalEmbeddingFunc(0)
		r := newIndexed(t, ChromemOptions{Embed: func(_ context.Context, s string) ([]float32, error) {
			return local(context.Background(), s)
		}}, testCities(50))
		_, err := r.Retrieve(cctx, "City_3", 5)
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestChromemRetrieverPersistent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	docs := testCities(30)
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compress=", compress), func(t *testing.T) {
			dir := t.TempDir()
			ce := newCountingEmbed()
			opts := ChromemOptions{Dir: dir, Compress: compress, Embed: ce.embed, Model: "local-test"}
			r := newIndexed(t, opts, docs)
			require.EqualValues(t, 30, ce.calls.Load())
			assert.Equal(t, IndexStats{Embedded: 30}, r.Stats())
			first, err := r.Retrieve(ctx, "What is the population of City_12?", 3)
			require.NoError(t, err)

			// Reopen: querying works without indexing, and re-indexing the
			// same documents embeds nothing.
			ce2 := newCountingEmbed()
			opts.Embed = ce2.embed
			r2, err := NewChromemRetriever(opts)
			require.NoError(t, err)
			require.Equal(t, 30, r2.Count())
			again, err := r2.Retrieve(ctx, "What is the population of City_12?", 3)
			require.NoError(t, err)
			assert.Equal(t, first, again)
			require.NotNil(t, r2.ix, "the search copy is rebuilt from the folder")
			assert.Equal(t, r.ix, r2.ix)
			require.NoError(t, r2.Index(ctx, docs))
			assert.EqualValues(t, 1, ce2.calls.Load(), "only the query was embedded")
			assert.Equal(t, IndexStats{Reused: 30}, r2.Stats())

			// Change one text, drop two documents, add one: only two
			// embeddings are paid and the dropped ones are gone.
			changed := append([]Document(nil), docs[2:]...)
			changed[0].Text = "City_3 has about 42 inhabitants."
			changed = append(changed, Document{ID: "new", Text: "Atlantis has about 7 inhabitants."})
			require.NoError(t, r2.Index(ctx, changed))
			assert.EqualValues(t, 3, ce2.calls.Load())
			assert.Equal(t, IndexStats{Embedded: 2, Reused: 27, Removed: 2}, r2.Stats())
			require.Equal(t, 29, r2.Count())

			r3, err := NewChromemRetriever(ChromemOptions{Dir: dir, Compress: compress, Embed: ce2.embed, Model: "local-test"})
			require.NoError(t, err)
			require.Equal(t, 29, r3.Count())
			hits, err := r3.Retrieve(ctx, "How many people live in City_3?", 1)
			require.NoError(t, err)
			assert.Equal(t, changed[0], hits[0].Document)
			hits, err = r3.Retrieve(ctx, "What is the population of City_1?", 29)
			require.NoError(t, err)
			assert.Equal(t, -1, GoldRank(hits, "city-1"), "removed documents stay removed")

			// Another embedding model re-embeds everything.
			ce3 := newCountingEmbed()
			r4, err := NewChromemRetriever(ChromemOptions{Dir: dir, Compress: compress, Embed: ce3.embed, Model: "other"})
			require.NoError(t, err)
			require.NoError(t, r4.Index(ctx, changed))
			assert.EqualValues(t, 29, ce3.calls.Load())
		})
	}

	t.Run("default local model is recorded", func(t *testing.T) {
		r := newIndexed(t, ChromemOptions{Dir: dir}, docs)
		r2, err := NewChromemRetriever(ChromemOptions{Dir: dir})
		require.NoError(t, err)
		require.NoError(t, r2.Index(ctx, docs))
		assert.Equal(t, IndexStats{Reused: 30}, r2.Stats())
		// The same folder used with an unnamed custom embedding does not
		// reuse the local vectors.
		ce := newCountingEmbed()
		r3, err := NewChromemRetriever(ChromemOptions{Dir: dir, Embed: ce.embed})
		require.NoError(t, err)
		require.NoError(t, r3.Index(ctx, docs))
		assert.EqualValues(t, 30, ce.calls.Load())
		_ = r
	})

	t.Run("a failed re-index keeps the stored vectors", func(t *testing.T) {
		dir := t.TempDir()
		local := NewLocalEmbeddingFunc(0)
		newIndexed(t, ChromemOptions{Dir: dir, Embed: local, Model: "m"}, docs[:5])
		boom := errors.New("boom")
		failing := func(ctx context.Context, text string) ([]float32, error) {
			if text == "Atlantis" {
				return nil, boom
			}
			return local(ctx, text)
		}
		r, err := NewChromemRetriever(ChromemOptions{Dir: dir, Embed: failing, Model: "m"})
		require.NoError(t, err)
		// Dropping docs[0] forces a rebuild; the new document fails.
		err = r.Index(ctx, append(append([]Document(nil), docs[1:5]...), Document{ID: "x", Text: "Atlantis"}))
		require.ErrorIs(t, err, boom)

		ce := newCountingEmbed()
		r2, err := NewChromemRetriever(ChromemOptions{Dir: dir, Embed: ce.embed, Model: "m"})
		require.NoError(t, err)
		require.NoError(t, r2.Index(ctx, docs[1:5]))
		assert.Equal(t, IndexStats{Reused: 4}, r2.Stats())
		assert.Zero(t, ce.calls.Load())
	})

	t.Run("vectors of another length under the same name", func(t *testing.T) {
		dir := t.TempDir()
		newIndexed(t, ChromemOptions{Dir: dir, Embed: NewLocalEmbeddingFunc(64), Model: "m"}, docs[:5])
		r, err := NewChromemRetriever(ChromemOptions{Dir: dir, Embed: NewLocalEmbeddingFunc(128), Model: "m"})
		require.NoError(t, err)
		err = r.Index(ctx, docs[:6])
		require.ErrorContains(t, err, "another embedding model")
	})

	t.Run("folder is a file", func(t *testing.T) {
		f := t.TempDir() + "/file"
		require.NoError(t, writeFile(f))
		_, err := NewChromemRetriever(ChromemOptions{Dir: f})
		require.ErrorContains(t, err, "ragvsft: opening index folder")
	})
}

func TestChromemRetrieverConcurrentRetrieve(t *testing.T) {
	ctx := context.Background()
	docs := testCities(100)
	r := newIndexed(t, ChromemOptions{Concurrency: 4}, docs)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < 100; i += 8 {
				hits, err := r.Retrieve(ctx, fmt.Sprintf("How many people live in City_%d?", i+1), 5)
				if err != nil {
					errs <- err
					return
				}
				if GoldRank(hits, docs[i].ID) != 0 {
					errs <- fmt.Errorf("City_%d: gold at rank %d", i+1, GoldRank(hits, docs[i].ID))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestGoldRank(t *testing.T) {
	hits := []Hit{{Document: Document{ID: "a"}, Rank: 0}, {Document: Document{ID: "b"}, Rank: 1}}
	assert.Equal(t, 0, GoldRank(hits, "a"))
	assert.Equal(t, 1, GoldRank(hits, "b"))
	assert.Equal(t, -1, GoldRank(hits, "c"))
	assert.Equal(t, -1, GoldRank(hits, ""))
	assert.Equal(t, -1, GoldRank(nil, "a"))
}

// benchFixture is an index of n random unit vectors of 384 dimensions behind
// a lookup-table EmbeddingFunc, so the benchmark measures search, not
// embedding.
type benchFixture struct {
	r       *ChromemRetriever
	coll    *chromem.Collection
	queries []string
	vecs    map[string][]float32
}

// benchFixtures keeps each size's fixture across -count runs: building the
// 100k index takes seconds and is not what is measured.
var benchFixtures = map[int]*benchFixture{}

// benchVectors returns n random unit vectors of dims dimensions, the same
// for the same seed.
func benchVectors(seed uint64, n, dims int) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([][]float32, n)
	for j := range out {
		v := make([]float32, dims)
		var norm float64
		for i := range v {
			v[i] = float32(rng.NormFloat64())
			norm += float64(v[i]) * float64(v[i])
		}
		for i := range v {
			v[i] /= float32(math.Sqrt(norm))
		}
		out[j] = v
	}
	return out
}

// benchDocs returns n documents and a lookup-table EmbeddingFunc giving
// each document text and each of 64 queries a random unit vector.
func benchDocs(n int) ([]Document, []string, map[string][]float32, chromem.EmbeddingFunc) {
	const dims = 384
	vecs := benchVectors(1, n+64, dims)
	table := make(map[string][]float32, n+64)
	docs := make([]Document, n)
	for i := range docs {
		docs[i] = Document{ID: fmt.Sprint("doc-", i), Text: fmt.Sprint("text ", i)}
		table[docs[i].Text] = vecs[i]
	}
	queries := make([]string, 64)
	for i := range queries {
		queries[i] = fmt.Sprint("query ", i)
		table[queries[i]] = vecs[n+i]
	}
	lookup := func(_ context.Context, text string) ([]float32, error) {
		v, ok := table[text]
		if !ok {
			return nil, fmt.Errorf("no vector for %q", text)
		}
		return v, nil
	}
	return docs, queries, table, lookup
}

func newBenchFixture(b *testing.B, n int) *benchFixture {
	if f, ok := benchFixtures[n]; ok {
		return f
	}
	docs, queries, table, lookup := benchDocs(n)
	r, err := NewChromemRetriever(ChromemOptions{Embed: lookup, Model: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := r.Index(context.Background(), docs); err != nil {
		b.Fatal(err)
	}
	b.Logf("indexing %d documents (vectors looked up, not computed) took %v", n, time.Since(start).Round(time.Millisecond))
	f := &benchFixture{r: r, coll: r.coll, queries: queries, vecs: table}
	benchFixtures[n] = f
	// Indexing leaves much garbage (one goroutine stack per document in
	// chromem's AddDocuments); return it to the OS now, or the background
	// scavenger competes with whichever sub-benchmark runs first.
	debug.FreeOSMemory()
	return f
}

// BenchmarkRetrieve compares ChromemRetriever.Retrieve with chromem's own
// Collection.Query (same embedding lookup) and Collection.QueryEmbedding
// (no embedding call) on the same collection, top 5, at 1k, 10k and 100k
// documents of 384 dimensions.
func BenchmarkRetrieve(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1000, 10_000, 100_000} {
		f := newBenchFixture(b, n)
		b.Run(fmt.Sprintf("docs=%d/ragvsft.Retrieve", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := f.r.Retrieve(ctx, f.queries[i%len(f.queries)], 5); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("docs=%d/chromem.Query", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := f.coll.Query(ctx, f.queries[i%len(f.queries)], 5, nil, nil); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("docs=%d/chromem.QueryEmbedding", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := f.coll.QueryEmbedding(ctx, f.vecs[f.queries[i%len(f.queries)]], 5, nil, nil); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkRetrievePaired measures the same overhead as BenchmarkRetrieve
// in a way that holds on a busy machine: each iteration runs one
// ChromemRetriever.Retrieve and one chromem Collection.Query of the same
// query back to back (in alternating order), so both see the same load.
// It reports each side's mean wall time and CPU time of the process
// (getrusage, not inflated by other processes), and two ratios: wall, the
// median over iterations of Retrieve's time divided by Query's, and cpu,
// Retrieve's total CPU time divided by Query's. 1.10 is 10% overhead.
func BenchmarkRetrievePaired(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1000, 10_000, 100_000} {
		f := newBenchFixture(b, n)
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) {
			var ours, theirs, oursCPU, theirsCPU time.Duration
			var ratios []float64
			cpuOK := true
			timeIt := func(call func() error) (wall, cpu time.Duration) {
				cpu0, ok0 := processCPU()
				start := time.Now()
				if err := call(); err != nil {
					b.Fatal(err)
				}
				wall = time.Since(start)
				cpu1, ok1 := processCPU()
				cpuOK = cpuOK && ok0 && ok1
				return wall, cpu1 - cpu0
			}
			i := 0
			for b.Loop() {
				q := f.queries[i%len(f.queries)]
				retrieve := func() error { _, err := f.r.Retrieve(ctx, q, 5); return err }
				query := func() error { _, err := f.coll.Query(ctx, q, 5, nil, nil); return err }
				var a, c, aCPU, cCPU time.Duration
				if i%2 == 0 {
					a, aCPU = timeIt(retrieve)
					c, cCPU = timeIt(query)
				} else {
					c, cCPU = timeIt(query)
					a, aCPU = timeIt(retrieve)
				}
				ours, theirs = ours+a, theirs+c
				oursCPU, theirsCPU = oursCPU+aCPU, theirsCPU+cCPU
				ratios = append(ratios, float64(a)/float64(c))
				i++
			}
			slices.Sort(ratios)
			med := ratios[len(ratios)/2]
			if len(ratios)%2 == 0 {
				med = (ratios[len(ratios)/2-1] + med) / 2
			}
			b.ReportMetric(float64(ours.Nanoseconds())/float64(i), "ragvsft-ns/op")
			b.ReportMetric(float64(theirs.Nanoseconds())/float64(i), "chromem-ns/op")
			b.ReportMetric(med, "wall-ragvsft/chromem")
			if cpuOK && theirsCPU > 0 {
				b.ReportMetric(float64(oursCPU.Nanoseconds())/float64(i), "ragvsft-cpu-ns/op")
				b.ReportMetric(float64(theirsCPU.Nanoseconds())/float64(i), "chromem-cpu-ns/op")
				b.ReportMetric(float64(oursCPU)/float64(theirsCPU), "cpu-ragvsft/chromem")
			}
		})
	}
}

// BenchmarkIndex compares ChromemRetriever.Index of n new documents with
// chromem's own Collection.AddDocuments of the same documents, vectors
// looked up rather than computed, so what is measured is the bookkeeping.
// It is not part of the Retrieve run: go test -bench Index -benchtime 3x.
func BenchmarkIndex(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10_000, 100_000} {
		docs, _, _, lookup := benchDocs(n)
		b.Run(fmt.Sprintf("docs=%d/ragvsft.Index", n), func(b *testing.B) {
			for b.Loop() {
				r, err := NewChromemRetriever(ChromemOptions{Embed: lookup, Model: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Index(ctx, docs); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("docs=%d/chromem.AddDocuments", n), func(b *testing.B) {
			cdocs := make([]chromem.Document, len(docs))
			for i, d := range docs {
				cdocs[i] = chromem.Document{ID: d.ID, Content: d.Text, Metadata: map[string]string{modelKey: "bench"}}
			}
			for b.Loop() {
				coll, err := chromem.NewDB().CreateCollection("bench", nil, lookup)
				if err != nil {
					b.Fatal(err)
				}
				if err := coll.AddDocuments(ctx, cdocs, runtime.NumCPU()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func writeFile(path string) error {
	return os.WriteFile(path, []byte("not a folder"), 0o600)
}

// articleCities reads the article's file (CitiesJSONL) into the documents
// the article indexed, the assistant answers, and their questions.
func articleCities(t *testing.T) ([]Document, []Question) {
	t.Helper()
	var docs []Document
	var qs []Question
	for i, line := range bytes.Split(CitiesJSONL(CitiesCount, CitiesSeed), []byte("\n")) {
		var ex struct{ Messages []Message }
		require.NoError(t, json.Unmarshal(line, &ex))
		require.Len(t, ex.Messages, 3)
		id := fmt.Sprintf("city-%d", i+1)
		docs = append(docs, Document{ID: id, Text: ex.Messages[2].Content})
		qs = append(qs, Question{ID: id, Text: ex.Messages[1].Content, Gold: ex.Messages[2].Content, DocID: id})
	}
	return docs, qs
}

func TestChromemRetrieverArticleCities(t *testing.T) {
	ctx := context.Background()
	docs, qs := articleCities(t)
	require.Len(t, docs, 100)
	r := newIndexed(t, ChromemOptions{}, docs)
	for _, q := range qs {
		for _, text := range []string{q.Text, strings.Replace(q.Text, "What is the population of", "How many people live in", 1)} {
			hits, err := r.Retrieve(ctx, text, 5)
			require.NoError(t, err)
			assert.Equal(t, 0, GoldRank(hits, q.DocID), text)
			// An extractive reader of the top document would be scored right.
			v, err := NumericEvaluator{}.Evaluate(ctx, q, hits[0].Document.Text)
			require.NoError(t, err)
			assert.True(t, v.Correct, "%s: %s", text, v.Reason)
		}
	}
}

func ExampleNewChromemRetriever() {
	ctx := context.Background()
	r, err := NewChromemRetriever(ChromemOptions{}) // in memory, local embedding
	if err != nil {
		panic(err)
	}
	err = r.Index(ctx, []Document{
		{ID: "c1", Text: "City_1 has about 1967825 inhabitants."},
		{ID: "c2", Text: "City_2 has about 519610 inhabitants."},
		{ID: "c3", Text: "City_3 has about 4714226 inhabitants."},
	})
	if err != nil {
		panic(err)
	}
	hits, err := r.Retrieve(ctx, "What is the population of City_2?", 2)
	if err != nil {
		panic(err)
	}
	fmt.Println(hits[0].Rank, hits[0].Document.Text)
	fmt.Println("gold rank:", GoldRank(hits, "c2"))
	// Output:
	// 0 City_2 has about 519610 inhabitants.
	// gold rank: 0
}

// batchEmbed is a BatchEmbeddingFunc on the local embedding that counts its
// calls and texts; fail, if set, runs first on every call.
type batchEmbed struct {
	calls, texts atomic.Int64
	fail         func(call int64) error
}

func (b *batchEmbed) embed(ctx context.Context, texts []string) ([][]float32, error) {
	call := b.calls.Add(1)
	if b.fail != nil {
		if err := b.fail(call); err != nil {
			return nil, err
		}
	}
	b.texts.Add(int64(len(texts)))
	local := NewLocalEmbeddingFunc(0)
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, err := local(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// With the fitted local embedding RetrieveBatch embeds and searches a
// block of queries at a time: across blocks it still returns what Retrieve
// returns, in order.
func TestChromemRetrieverBatchAcrossBlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newIndexed(t, ChromemOptions{}, testCities(300))
	queries := make([]string, 2*fittedBlock+5)
	for i := range queries {
		queries[i] = fmt.Sprintf("What is the population of City_%d?", i%300+1)
	}
	batch, err := r.RetrieveBatch(ctx, queries, 5)
	require.NoError(t, err)
	require.Len(t, batch, len(queries))
	for i, q := range queries {
		one, err := r.Retrieve(ctx, q, 5)
		require.NoError(t, err)
		require.Equal(t, one, batch[i], "query %d", i)
	}
}

// RetrieveBatch returns, query for query, what Retrieve returns, which is
// chromem's own ranking of the stored vectors.
func TestChromemRetrieverBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	docs := testCities(300)
	r := newIndexed(t, ChromemOptions{}, docs)
	queries := make([]string, 0, 130)
	for i := range 100 {
		queries = append(queries, fmt.Sprintf("What is the population of City_%d?", i*3+1))
	}
	for i := range 30 {
		queries = append(queries, docs[i*7].Text) // ties with nobody, itself first
	}
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = d.Text
	}
	local := FitLocalEmbedding(texts, 0) // what the default fits
	for _, k := range []int{1, 5, 300, 400} {
		batch, err := r.RetrieveBatch(ctx, queries, k)
		require.NoError(t, err)
		require.Len(t, batch, len(queries))
		for i, q := range queries {
			one, err := r.Retrieve(ctx, q, k)
			require.NoError(t, err)
			require.Equal(t, one, batch[i], "query %d, k=%d", i, k)
			vec, err := local.Embed(ctx, q)
			require.NoError(t, err)
			want := chromemTop(t, r.coll, vec, k)
			require.Len(t, one, len(want))
			for j, h := range one {
				require.Equal(t, want[j].id, h.Document.ID)
				require.Equal(t, float64(want[j].score), h.Score)
			}
		}
	}
	_, err := r.RetrieveBatch(ctx, queries, 0)
	require.ErrorIs(t, err, ErrBadK)
	_, err = r.RetrieveBatch(ctx, []string{"a", ""}, 3)
	require.EqualError(t, err, "ragvsft: retrieving: query 1 is empty")
	none, err := r.RetrieveBatch(ctx, nil, 3)
	require.NoError(t, err)
	assert.Empty(t, none)
}

// With EmbedBatch, Index embeds in batches (and Embed only queries), tells
// Progress after each, and indexes what one-by-one embedding indexes;
// RetrieveBatch embeds its queries in batches too.
func TestChromemRetrieverEmbedBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	docs := testCities(1100)
	be := &batchEmbed{}
	ce := newCountingEmbed()
	var mu sync.Mutex
	var progress [][2]int
	r := newIndexed(t, ChromemOptions{Embed: ce.embed, EmbedBatch: be.embed, Concurrency: 2, Progress: func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, [2]int{done, total})
	}}, docs)
	assert.EqualValues(t, 3, be.calls.Load(), "512 + 512 + 76")
	assert.EqualValues(t, 1100, be.texts.Load())
	assert.Zero(t, ce.calls.Load())
	assert.Equal(t, IndexStats{Embedded: 1100}, r.Stats())
	mu.Lock()
	require.Len(t, progress, 3)
	assert.Equal(t, [2]int{1100, 1100}, progress[2])
	assert.Less(t, progress[0][0], progress[1][0])
	mu.Unlock()

	plain := newIndexed(t, ChromemOptions{Embed: NewLocalEmbeddingFunc(0)}, docs)
	assert.Equal(t, plain.ix, r.ix, "the same vectors as one by one")
	queries := []string{"What is the population of City_17?", "How many people live in City_1000?"}
	got, err := r.RetrieveBatch(ctx, queries, 5)
	require.NoError(t, err)
	want, err := plain.RetrieveBatch(ctx, queries, 5)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.EqualValues(t, 4, be.calls.Load(), "the queries in one batch")
	assert.Zero(t, ce.calls.Load())
}

// Cancelled in the middle of Index: the error says so, the batches done are
// kept, and the next Index embeds only the rest.
func TestChromemRetrieverCancelMidIndex(t *testing.T) {
	t.Parallel()
	docs := testCities(1100)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	be := &batchEmbed{fail: func(call int64) error {
		if call == 2 {
			cancel()
			return ctx.Err()
		}
		return nil
	}}
	r, err := NewChromemRetriever(ChromemOptions{Dir: dir, EmbedBatch: be.embed, Concurrency: 1, Model: "m"})
	require.NoError(t, err)
	err = r.Index(ctx, docs)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "ragvsft: indexing: ")
	assert.Equal(t, 512, r.Count(), "the first batch is stored")
	assert.Nil(t, r.ix)

	again := &batchEmbed{}
	r2, err := NewChromemRetriever(ChromemOptions{Dir: dir, EmbedBatch: again.embed, Model: "m"})
	require.NoError(t, err)
	require.NoError(t, r2.Index(context.Background(), docs))
	assert.Equal(t, IndexStats{Embedded: 588, Reused: 512}, r2.Stats())
	assert.EqualValues(t, 588, again.texts.Load())
	hits, err := r2.Retrieve(context.Background(), "What is the population of City_1100?", 1)
	require.NoError(t, err)
	assert.Equal(t, docs[1099], hits[0].Document)
}
