package ragvsft

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/philippgille/chromem-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCities returns the article's kind of documents, "City_i has about N
// inhabitants.", for i = 1..n with populations from a fixed seed.
func testCities(n int) []Document {
	rng := rand.New(rand.NewPCG(42, 42))
	docs := make([]Document, n)
	for i := range docs {
		docs[i] = Document{
			ID:   fmt.Sprintf("city-%d", i+1),
			Text: fmt.Sprintf("City_%d has about %d inhabitants.", i+1, 100000+rng.IntN(9900001)),
		}
	}
	return docs
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// rankOf returns the 0-based rank of docs[want] by cosine with query,
// given the docs' vectors.
func rankOf(t *testing.T, embed chromem.EmbeddingFunc, query string, vecs [][]float32, want int) int {
	t.Helper()
	q, err := embed(context.Background(), query)
	require.NoError(t, err)
	gold := dot(q, vecs[want])
	rank := 0
	for i, v := range vecs {
		if s := dot(q, v); s > gold || s == gold && i < want {
			rank++
		}
	}
	return rank
}

func TestLocalEmbeddingCitiesTop1(t *testing.T) {
	docs := testCities(100)
	for _, dims := range []int{0, 512} {
		embed := NewLocalEmbeddingFunc(dims)
		vecs := make([][]float32, len(docs))
		for i, d := range docs {
			v, err := embed(context.Background(), d.Text)
			require.NoError(t, err)
			vecs[i] = v
		}
		for _, tmpl := range []string{
			"What is the population of City_%d?",
			"How many people live in City_%d?",
		} {
			t.Run(fmt.Sprintf("dims=%d/%s", dims, tmpl), func(t *testing.T) {
				for i := 1; i <= len(docs); i++ {
					rank := rankOf(t, embed, fmt.Sprintf(tmpl, i), vecs, i-1)
					assert.Equal(t, 0, rank, "question about City_%d", i)
				}
			})
		}
	}
}

func TestLocalEmbeddingProperties(t *testing.T) {
	ctx := context.Background()
	embed := NewLocalEmbeddingFunc(0)

	t.Run("default dims and unit length", func(t *testing.T) {
		for _, text := range []string{"City_17 has about 1,967,825 inhabitants.", "a", "?!", "Ünïcödé ΣΊΣΥΦΟΣ"} {
			v, err := embed(ctx, text)
			require.NoError(t, err, text)
			require.Len(t, v, DefaultLocalEmbeddingDims)
			assert.InDelta(t, 1.0, math.Sqrt(dot(v, v)), 1e-5, text)
		}
	})
	t.Run("explicit dims", func(t *testing.T) {
		v, err := NewLocalEmbeddingFunc(64)(ctx, "hello world")
		require.NoError(t, err)
		assert.Len(t, v, 64)
	})
	t.Run("deterministic across functions", func(t *testing.T) {
		a, err := NewLocalEmbeddingFunc(0)(ctx, "The quick brown fox")
		require.NoError(t, err)
		b, err := NewLocalEmbeddingFunc(0)(ctx, "The quick brown fox")
		require.NoError(t, err)
		assert.Equal(t, a, b)
	})
	t.Run("case-insensitive", func(t *testing.T) {
		a, err := embed(ctx, "City_17 HAS about")
		require.NoError(t, err)
		b, err := embed(ctx, "city_17 has About")
		require.NoError(t, err)
		assert.InDelta(t, 1.0, dot(a, b), 1e-6)
	})
	t.Run("word overlap orders similarity", func(t *testing.T) {
		q, _ := embed(ctx, "capital of France")
		near, _ := embed(ctx, "Paris is the capital of France.")
		far, _ := embed(ctx, "Bananas are rich in potassium.")
		assert.Greater(t, dot(q, near), dot(q, far)+0.2)
	})
	t.Run("empty text is an error", func(t *testing.T) {
		for _, text := range []string{"", "  \n\t"} {
			_, err := embed(ctx, text)
			require.ErrorIs(t, err, errEmptyText)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := embed(cctx, "hello")
		require.ErrorIs(t, err, context.Canceled)
	})
}

func BenchmarkLocalEmbedding(b *testing.B) {
	embed := NewLocalEmbeddingFunc(0)
	ctx := context.Background()
	for b.Loop() {
		if _, err := embed(ctx, "City_17 has about 1967825 inhabitants."); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLocalEmbeddingStable pins the vectors: persisted indexes reuse them,
// so a change of recipe must come with a new localEmbeddingVersion (and then
// new sums here).
func TestLocalEmbeddingStable(t *testing.T) {
	want := map[string]string{
		"City_17 has about 1967825 inhabitants.": "da356573e9197ba2",
		"What is the population of City_17?":     "cbd25a530f7d4bf6",
	}
	if runtime.GOARCH != "amd64" {
		// Other architectures may fuse or round float operations
		// differently in the last bit.
		t.Skip("sums pinned on amd64")
	}
	embed := NewLocalEmbeddingFunc(0)
	for text, sum := range want {
		v, err := embed(context.Background(), text)
		require.NoError(t, err)
		h := sha256.New()
		require.NoError(t, binary.Write(h, binary.LittleEndian, v))
		got := hex.EncodeToString(h.Sum(nil))[:16]
		assert.Equal(t, sum, got, "%q: the local embedding changed; bump localEmbeddingVersion (%s)", text, localEmbeddingVersion)
	}
}

// TestLocalEmbeddingCompanies guards retrieval quality on the second
// knowledge base, where questions paraphrase the passages' relations. The
// default retriever fits the local embedding to the corpus: measured hit@5
// 180/180 (177 before IDF) and hit@1 84/180 (99 before: of a company's
// three facts the IDF-weighted cosine favours the one with the fewest rare
// words, since "Who founded X?" shares only X with "X was founded by Y").
func TestLocalEmbeddingCompanies(t *testing.T) {
	ctx := context.Background()
	f, err := os.Open("testdata/companies.jsonl")
	require.NoError(t, err)
	defer f.Close()
	ds, err := ReadJSONL(f, "testdata/companies.jsonl")
	require.NoError(t, err)
	docs, err := Documents(ds)
	require.NoError(t, err)
	qs, err := Questions(ds)
	require.NoError(t, err)
	require.Len(t, qs, 180)
	r := newIndexed(t, ChromemOptions{}, docs)
	top1, top5 := 0, 0
	for _, q := range qs {
		hits, err := r.Retrieve(ctx, q.Text, 5)
		require.NoError(t, err)
		switch rank := GoldRank(hits, q.DocID); {
		case rank == 0:
			top1++
			top5++
		case rank > 0:
			top5++
		}
	}
	t.Logf("companies: hit@1 %d/180, hit@5 %d/180", top1, top5)
	assert.GreaterOrEqual(t, top5, 178)
	assert.GreaterOrEqual(t, top1, 80)
}
