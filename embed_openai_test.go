package ragvsft_test

import (
	"context"
	"fmt"
	"math"
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
