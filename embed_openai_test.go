package ragvsft_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/philippgille/chromem-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestOpenAIEmbedderBatches(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	e, err := ragvsft.NewOpenAIEmbedder(wireConfig(s), "")
	require.NoError(t, err)
	assert.Equal(t, ragvsft.DefaultOpenAIEmbeddingModel, e.Model())
	e.BatchSize = 4

	texts := make([]string, 10)
	for i := range texts {
		texts[i] = fmt.Sprintf("City_%d has about %d inhabitants.", i+1, 1000*(i+1))
	}
	vs, err := e.EmbedBatch(context.Background(), texts)
	require.NoError(t, err)
	require.Len(t, vs, 10)
	assert.Equal(t, 3, s.Stats().Embeddings, "10 texts in batches of 4")
	for i, v := range vs {
		assert.InDelta(t, 1, norm(v), 1e-5, "vector %d is normalized", i)
	}

	// Order is kept: each batch vector is the text's own embedding.
	for _, i := range []int{0, 5, 9} {
		one, err := e.Embed(context.Background(), texts[i])
		require.NoError(t, err)
		assert.InDeltaSlice(t, vs[i], one, 1e-6)
	}
	assert.NotEqual(t, vs[0], vs[1])

	none, err := e.EmbedBatch(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, none)

	_, err = e.EmbedBatch(context.Background(), []string{"a", " "})
	assert.EqualError(t, err, "ragvsft: embedding text 1: empty text")
}

func TestOpenAIEmbeddingFuncWithChromem(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	s.InjectFault("embeddings", 1, ragvsfttest.Fault{Status: 429, RetryAfter: 1})
	embed := ragvsft.NewOpenAIEmbeddingFunc(wireConfig(s), "text-embedding-3-small")
	db := chromem.NewDB()
	col, err := db.CreateCollection("cities", nil, embed)
	require.NoError(t, err)
	docs := []chromem.Document{
		{ID: "1", Content: "City_1 has about 1967825 inhabitants."},
		{ID: "2", Content: "City_2 has about 519610 inhabitants."},
		{ID: "3", Content: "The weather in Paris is mild in spring."},
	}
	require.NoError(t, col.AddDocuments(context.Background(), docs, 1))
	res, err := col.Query(context.Background(), "How many inhabitants does City_2 have?", 1, nil, nil)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, "2", res[0].ID)
	assert.Equal(t, 1, s.Stats().Faults, "the 429 was retried")
}

func TestOpenAIEmbedderBadKey(t *testing.T) {
	t.Parallel()
	const bad = "sk-embed-secret-9876543210"
	s := newServer(t, ragvsfttest.ServerConfig{APIKey: wireKey})
	embed := ragvsft.NewOpenAIEmbeddingFunc(ragvsft.OpenAIConfig{APIKey: bad, BaseURL: s.URL}, "")
	_, err := embed(context.Background(), "hello")
	require.ErrorIs(t, err, ragvsft.ErrOpenAIAuth)
	assert.NotContains(t, err.Error(), bad)
	assert.NotContains(t, err.Error(), "secret")
}

// The embedder records the usage the server reports for every request, from
// any number of goroutines; embeddings a Cache serves are not spent again,
// and a failed request spends nothing.
func TestOpenAIEmbedderUsage(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	e, err := ragvsft.NewOpenAIEmbedder(wireConfig(s), "text-embedding-3-large")
	require.NoError(t, err)
	assert.Equal(t, ragvsft.EmbeddingUsage{}, e.Usage())

	texts := make([]string, 16)
	want := 0
	for i := range texts {
		texts[i] = fmt.Sprintf("City_%d has about %d inhabitants.", i+1, 7919*(i+1))
		// ragvsfttest reports about one token per four characters.
		want += max(1, (utf8.RuneCountInString(texts[i])+3)/4)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(texts))
	for i, text := range texts {
		wg.Go(func() { _, errs[i] = e.Embed(context.Background(), text) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, ragvsft.EmbeddingUsage{Requests: 16, Texts: 16, PromptTokens: want}, e.Usage())

	_, err = e.EmbedBatch(context.Background(), texts[:4])
	require.NoError(t, err)
	u := e.Usage()
	assert.Equal(t, 17, u.Requests, "four texts in one request")
	assert.Equal(t, 20, u.Texts)

	c, err := ragvsft.OpenCache(t.TempDir())
	require.NoError(t, err)
	cached := c.Embedding(e.Model(), e.Embed)
	for range 2 {
		for _, text := range texts[:3] {
			_, err := cached(context.Background(), text)
			require.NoError(t, err)
		}
	}
	assert.Equal(t, 20, e.Usage().Requests, "the second round came from the cache")
	assert.Equal(t, int64(3), c.Hits())

	s.InjectFault("embeddings", 1, ragvsfttest.Fault{Status: 400})
	before := e.Usage()
	_, err = e.Embed(context.Background(), "a text the server refuses")
	require.Error(t, err)
	assert.Equal(t, before, e.Usage(), "a failed request is not billed")
}

// EmbedBatch splits at OpenAI's limits, which ragvsfttest enforces as
// OpenAI does: 2048 inputs whatever BatchSize says, and about 250,000
// tokens a request; usage counts every request.
func TestOpenAIEmbedderBatchLimits(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	e, err := ragvsft.NewOpenAIEmbedder(wireConfig(s), "")
	require.NoError(t, err)
	e.BatchSize = 5000
	ctx := context.Background()

	short := make([]string, 2049)
	for i := range short {
		short[i] = fmt.Sprintf("City_%d", i)
	}
	vs, err := e.EmbedBatch(ctx, short)
	require.NoError(t, err)
	require.Len(t, vs, 2049)
	assert.Equal(t, 2, s.Stats().Embeddings, "2048 texts, then 1")

	// 60 texts of about 5,000 tokens: 300,000 in all, over the 250,000
	// budget, so as many as fit in 250,000, then the rest.
	var b strings.Builder
	for i := 0; b.Len() < 20000; i++ {
		fmt.Fprintf(&b, "City_%d has about %d inhabitants. ", i, 7919*i)
	}
	n, err := ragvsft.CountTokens(ragvsft.DefaultOpenAIEmbeddingModel, b.String())
	require.NoError(t, err)
	require.InDelta(t, 5000, n, 1000)
	long := make([]string, 60)
	for i := range long {
		long[i] = b.String()
	}
	perRequest := 250_000 / n
	require.Less(t, perRequest, 60)
	before := e.Usage()
	vs, err = e.EmbedBatch(ctx, long)
	require.NoError(t, err, "no request over the server's 300,000 tokens")
	require.Len(t, vs, 60)
	assert.Equal(t, 4, s.Stats().Embeddings, "%d texts (%d tokens), then %d", perRequest, perRequest*n, 60-perRequest)
	u := e.Usage()
	assert.Equal(t, 2, u.Requests-before.Requests)
	assert.Equal(t, 60, u.Texts-before.Texts)
	assert.Equal(t, 60*((utf8.RuneCountInString(long[0])+3)/4), u.PromptTokens-before.PromptTokens, "what the server reported")

	_, err = e.EmbedBatch(ctx, []string{"a", strings.Repeat(long[0], 2)})
	require.ErrorContains(t, err, "ragvsft: embedding text 1: ")
	require.ErrorContains(t, err, "tokens, more than the 8192 an embedding model takes")
	assert.Equal(t, 4, s.Stats().Embeddings, "refused before sending")
}

// Cache.EmbeddingBatch asks the embedder only for the texts it has not
// seen, once each, and shares its entries with Cache.Embedding.
func TestCacheEmbeddingBatch(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	e, err := ragvsft.NewOpenAIEmbedder(wireConfig(s), "")
	require.NoError(t, err)
	c, err := ragvsft.OpenCache(t.TempDir())
	require.NoError(t, err)
	batch := c.EmbeddingBatch(e.Model(), e.EmbedBatch)
	ctx := context.Background()
	texts := []string{"City_1", "City_2", "City_1", "City_3"}

	first, err := batch(ctx, texts)
	require.NoError(t, err)
	require.Len(t, first, 4)
	assert.Equal(t, first[0], first[2])
	assert.Equal(t, ragvsft.EmbeddingUsage{Requests: 1, Texts: 3, PromptTokens: 6}, e.Usage(), "3 distinct texts in 1 request")
	assert.Equal(t, int64(3), c.Misses())
	assert.Equal(t, int64(1), c.Hits(), "the repeated text")

	again, err := batch(ctx, append(slices.Clone(texts), "City_4"))
	require.NoError(t, err)
	assert.Equal(t, first, again[:4])
	assert.Equal(t, 2, e.Usage().Requests)
	assert.Equal(t, 4, e.Usage().Texts, "only City_4 was asked")

	_, err = batch(ctx, texts)
	require.NoError(t, err)
	assert.Equal(t, 2, e.Usage().Requests, "all cached: no request")

	one, err := c.Embedding(e.Model(), e.Embed)(ctx, "City_4")
	require.NoError(t, err)
	assert.Equal(t, again[4], one, "the single-text wrapper reads the batch's entry")
	assert.Equal(t, 2, e.Usage().Requests)
	require.NoError(t, c.Err())
}
