package ragvsft_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// The cache is tested in front of the real OpenAI client and the wire-format
// server, whose counters say how many calls really reached a model.

const embeddingRoute = "POST /v1/embeddings"

func cachedWireModel(t *testing.T, s *ragvsfttest.OpenAIServer, c *ragvsft.Cache, name string) ragvsft.Model {
	t.Helper()
	cfg := wireConfig(s)
	cfg.MaxRetries = -1
	m, err := ragvsft.NewOpenAIModel(cfg, name)
	require.NoError(t, err)
	return c.Model("", m)
}

func cacheEntries(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != filepath.Join(dir, "in-use") { // the lock open Caches share
			files = append(files, p)
		}
		return err
	}))
	return files
}

func TestCacheChatHitAndMiss(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	dir := t.TempDir()
	c, err := ragvsft.OpenCache(dir)
	require.NoError(t, err)
	m := cachedWireModel(t, s, c, "gpt-4.1-mini-2025-04-14")
	ctx := context.Background()

	first, err := m.Chat(ctx, citiesPrompt)
	require.NoError(t, err)
	assert.Contains(t, first.Content, "4242424")
	assert.False(t, first.Cached, "a miss was paid for")
	again, err := m.Chat(ctx, citiesPrompt)
	require.NoError(t, err)
	assert.True(t, again.Cached, "a hit says so, so the report does not count it as spent")
	again.Cached = false
	assert.Equal(t, first, again, "the stored answer, usage and fingerprint included")
	assert.Equal(t, 1, s.Stats().Requests[chatRoute], "the second call is a hit")
	assert.Equal(t, int64(1), c.Hits())
	assert.Equal(t, int64(1), c.Misses())
	require.NoError(t, c.Err())

	// Another process opening the folder finds the entry.
	c2, err := ragvsft.OpenCache(dir)
	require.NoError(t, err)
	third, err := cachedWireModel(t, s, c2, "gpt-4.1-mini-2025-04-14").Chat(ctx, citiesPrompt)
	require.NoError(t, err)
	assert.True(t, third.Cached)
	third.Cached = false
	assert.Equal(t, first, third)
	assert.Equal(t, 1, s.Stats().Requests[chatRoute])
	assert.Len(t, cacheEntries(t, dir), 1, "one entry, no temporary file left")
}

func TestCacheKeyCoversTheWholeRequest(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	c, err := ragvsft.OpenCache(t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	_, err = cachedWireModel(t, s, c, "gpt-4.1-mini-2025-04-14").Chat(ctx, citiesPrompt)
	require.NoError(t, err)

	change := func(f func(r *ragvsft.ChatRequest)) ragvsft.ChatRequest {
		r := citiesPrompt
		r.Messages = append([]ragvsft.Message(nil), citiesPrompt.Messages...)
		f(&r)
		return r
	}
	tests := []struct {
		name  string
		model string
		req   ragvsft.ChatRequest
	}{
		{"other model", "gpt-4o-mini", citiesPrompt},
		{"temperature", "gpt-4.1-mini-2025-04-14", change(func(r *ragvsft.ChatRequest) { r.Temperature = 0.7 })},
		{"seed", "gpt-4.1-mini-2025-04-14", change(func(r *ragvsft.ChatRequest) { r.Seed = 43 })},
		{"max tokens", "gpt-4.1-mini-2025-04-14", change(func(r *ragvsft.ChatRequest) { r.MaxTokens = 100 })},
		{"system message", "gpt-4.1-mini-2025-04-14", change(func(r *ragvsft.ChatRequest) { r.Messages[0].Content = "You are terse." })},
		{"role", "gpt-4.1-mini-2025-04-14", change(func(r *ragvsft.ChatRequest) { r.Messages[0].Role = ragvsft.RoleDeveloper })},
		{"one message less", "gpt-4.1-mini-2025-04-14", change(func(r *ragvsft.ChatRequest) { r.Messages = r.Messages[1:] })},
		{"response format", "gpt-4.1-mini-2025-04-14", change(func(r *ragvsft.ChatRequest) {
			r.ResponseFormat = &ragvsft.ResponseFormat{Name: "v", Schema: []byte(`{"type": "object"}`)}
		})},
		{"another schema", "gpt-4.1-mini-2025-04-14", change(func(r *ragvsft.ChatRequest) {
			r.ResponseFormat = &ragvsft.ResponseFormat{Name: "v", Schema: []byte(`{"type": "string"}`)}
		})},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cachedWireModel(t, s, c, tc.model).Chat(ctx, tc.req)
			require.NoError(t, err)
			assert.Equal(t, int64(0), c.Hits(), "a different request is a miss")
			assert.Equal(t, int64(i+2), c.Misses())
			assert.Equal(t, i+2, s.Stats().Requests[chatRoute])
		})
	}
}

func TestCacheStoresOnlySuccess(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	dir := t.TempDir()
	c, err := ragvsft.OpenCache(dir)
	require.NoError(t, err)
	m := cachedWireModel(t, s, c, "gpt-4.1-mini-2025-04-14")
	ctx := context.Background()

	s.InjectFault("chat/completions", 1, ragvsfttest.Fault{Status: 500})
	res, err := m.Chat(ctx, citiesPrompt)
	require.Error(t, err, "the error reaches the caller")
	assert.Empty(t, res.Content)
	assert.Empty(t, cacheEntries(t, dir), "a failure is not stored")

	res, err = m.Chat(ctx, citiesPrompt)
	require.NoError(t, err)
	assert.Contains(t, res.Content, "4242424")
	assert.Equal(t, 2, s.Stats().Requests[chatRoute], "the failure was not served from the cache")
	assert.Equal(t, int64(2), c.Misses())
	assert.Len(t, cacheEntries(t, dir), 1)
}

func TestCacheCorruptEntryIsAMiss(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
	}{
		{"cut short", `{"key":"`},
		{"empty", ``},
		{"not json", "\x00\x01garbage"},
		{"another key", `{"key":"0000","response":{"Content":"City_7 has 1 inhabitant."}}`},
		{"no answer", `{"key":"KEY","response":{"Content":""}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, ragvsfttest.ServerConfig{})
			dir := t.TempDir()
			c, err := ragvsft.OpenCache(dir)
			require.NoError(t, err)
			m := cachedWireModel(t, s, c, "gpt-4.1-mini-2025-04-14")
			want, err := m.Chat(context.Background(), citiesPrompt)
			require.NoError(t, err)
			files := cacheEntries(t, dir)
			require.Len(t, files, 1)
			key := filepath.Base(files[0][:len(files[0])-len(".json")])
			require.NoError(t, os.WriteFile(files[0], []byte(strings.ReplaceAll(tc.content, "KEY", key)), 0o644))

			got, err := m.Chat(context.Background(), citiesPrompt)
			require.NoError(t, err, "a corrupt entry is not an error")
			assert.Equal(t, want, got)
			assert.Equal(t, 2, s.Stats().Requests[chatRoute], "the model was asked again")
			assert.Equal(t, int64(0), c.Hits())

			got, err = m.Chat(context.Background(), citiesPrompt)
			require.NoError(t, err)
			assert.True(t, got.Cached)
			got.Cached = false
			assert.Equal(t, want, got)
			assert.Equal(t, int64(1), c.Hits(), "the entry was repaired")
		})
	}
}

func TestCacheConcurrentMissesOfOneKey(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{Faults: ragvsfttest.Faults{Latency: 20 * time.Millisecond}})
	dir := t.TempDir()
	c, err := ragvsft.OpenCache(dir)
	require.NoError(t, err)
	m := cachedWireModel(t, s, c, "gpt-4.1-mini-2025-04-14")

	const workers = 16
	answers := make([]ragvsft.ChatResponse, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			res, err := m.Chat(context.Background(), citiesPrompt)
			assert.NoError(t, err)
			answers[i] = res
		})
	}
	wg.Wait()
	cached := 0
	for _, a := range answers {
		if a.Cached {
			cached++
		}
		a.Cached = answers[0].Cached
		assert.Equal(t, answers[0], a)
	}
	assert.Equal(t, workers-1, cached, "all but the one that asked were served from the cache")
	require.NoError(t, c.Err())
	assert.Equal(t, 1, s.Stats().Requests[chatRoute], "one call; the others waited for it")
	assert.Equal(t, int64(1), c.Misses())
	assert.Equal(t, int64(workers-1), c.Hits())
	assert.Len(t, cacheEntries(t, dir), 1, "one entry, no temporary file left")

	// Two caches on one folder, as two processes: both store, the entry
	// stays whole.
	other, err := ragvsft.OpenCache(dir)
	require.NoError(t, err)
	req := citiesPrompt
	req.Seed = 7
	for _, cache := range []*ragvsft.Cache{c, other} {
		wg.Go(func() {
			_, err := cachedWireModel(t, s, cache, "gpt-4.1-mini-2025-04-14").Chat(context.Background(), req)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.NoError(t, c.Err())
	require.NoError(t, other.Err())
	res, err := m.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.Contains(t, res.Content, "4242424")
	assert.Len(t, cacheEntries(t, dir), 2)
}

func TestCacheWaitersRetryAFailedCall(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{Faults: ragvsfttest.Faults{Latency: 50 * time.Millisecond}})
	s.InjectFault("chat/completions", 1, ragvsfttest.Fault{Status: 500})
	c, err := ragvsft.OpenCache(t.TempDir())
	require.NoError(t, err)
	m := cachedWireModel(t, s, c, "gpt-4.1-mini-2025-04-14")

	const workers = 8
	var failed atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			res, err := m.Chat(context.Background(), citiesPrompt)
			if err != nil {
				failed.Add(1)
				assert.Empty(t, res.Content)
				return
			}
			assert.Contains(t, res.Content, "4242424")
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), failed.Load(), "only the call that failed reports it")
	assert.Equal(t, 2, s.Stats().Requests[chatRoute], "the failed call, then one more")
	assert.Equal(t, int64(2), c.Misses())
	assert.Equal(t, int64(workers-2), c.Hits())
}

func TestCacheWaiterHonoursItsContext(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{Faults: ragvsfttest.Faults{Latency: 300 * time.Millisecond}})
	c, err := ragvsft.OpenCache(t.TempDir())
	require.NoError(t, err)
	m := cachedWireModel(t, s, c, "gpt-4.1-mini-2025-04-14")
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := m.Chat(context.Background(), citiesPrompt)
		assert.NoError(t, err)
	}()
	require.Eventually(t, func() bool { return s.Stats().Requests[chatRoute] == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = m.Chat(ctx, citiesPrompt)
	require.ErrorIs(t, err, context.Canceled, "a waiter whose ctx ends stops waiting")
	<-done
}

func TestCacheEmbedding(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	dir := t.TempDir()
	c, err := ragvsft.OpenCache(dir)
	require.NoError(t, err)
	f := c.Embedding("text-embedding-3-small", ragvsft.NewOpenAIEmbeddingFunc(wireConfig(s), "text-embedding-3-small"))
	ctx := context.Background()

	v1, err := f(ctx, "City_1 has about 1967825 inhabitants.")
	require.NoError(t, err)
	require.Len(t, v1, 1536)
	v2, err := f(ctx, "City_1 has about 1967825 inhabitants.")
	require.NoError(t, err)
	assert.Equal(t, v1, v2, "float32 round-trips exactly")
	assert.Equal(t, 1, s.Stats().Requests[embeddingRoute])

	_, err = f(ctx, "City_2 has about 519610 inhabitants.")
	require.NoError(t, err)
	assert.Equal(t, 2, s.Stats().Requests[embeddingRoute], "another text is a miss")
	other := c.Embedding("text-embedding-3-large", ragvsft.NewOpenAIEmbeddingFunc(wireConfig(s), "text-embedding-3-large"))
	v3, err := other(ctx, "City_1 has about 1967825 inhabitants.")
	require.NoError(t, err)
	assert.Len(t, v3, 3072, "another model is a miss")
	assert.Equal(t, 3, s.Stats().Requests[embeddingRoute])

	s.InjectFault("embeddings", 3, ragvsfttest.Fault{Status: 400})
	_, err = f(ctx, "a text the server refuses")
	require.Error(t, err)
	assert.Equal(t, int64(1), c.Hits())
	assert.Equal(t, int64(4), c.Misses())
	assert.Len(t, cacheEntries(t, dir), 3, "the failure is not stored")
}

func TestCacheFineTunerWrapsTheFineTunedModel(t *testing.T) {
	dir := t.TempDir()
	c, err := ragvsft.OpenCache(dir)
	require.NoError(t, err)
	ft, err := c.FineTuner(ragvsft.LocalFineTuner{}).FineTune(context.Background(), ragvsft.FineTuneRequest{
		BaseModel: "local", Training: citiesData(t, 10), Hyperparameters: ragvsft.Hyperparameters{Epochs: 1},
	})
	require.NoError(t, err)
	require.NotEmpty(t, ft.ModelID)
	named, ok := ft.Model.(interface{ Name() string })
	require.True(t, ok)
	assert.Equal(t, ft.ModelID, named.Name(), "keyed by the fine-tuned model's id")

	a, err := ft.Model.Chat(context.Background(), citiesPrompt)
	require.NoError(t, err)
	b, err := ft.Model.Chat(context.Background(), citiesPrompt)
	require.NoError(t, err)
	assert.True(t, b.Cached)
	b.Cached = false
	assert.Equal(t, a, b)
	assert.Equal(t, int64(1), c.Hits())
	assert.Equal(t, int64(1), c.Misses())
}

func TestOpenCacheNeedsAFolder(t *testing.T) {
	_, err := ragvsft.OpenCache("")
	require.ErrorContains(t, err, "ragvsft: cache")
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = ragvsft.OpenCache(filepath.Join(file, "sub"))
	require.ErrorContains(t, err, file)
}

// ClearCache waits out no one: it refuses while any Cache is open on the
// folder, and clears it once they are all closed.
func TestClearCacheRefusesWhileInUse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	a, err := ragvsft.OpenCache(dir)
	require.NoError(t, err)
	b, err := ragvsft.OpenCache(dir) // shared: two runs at once
	require.NoError(t, err)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	m := a.Model("local", ragvsft.NewLocalModel())
	_, err = m.Chat(context.Background(), ragvsft.ChatRequest{Messages: []ragvsft.Message{{Role: "user", Content: "What is the population of City_1?"}}})
	require.NoError(t, err)

	require.ErrorIs(t, ragvsft.ClearCache(dir), ragvsft.ErrCacheInUse)
	require.NoError(t, a.Close())
	require.ErrorIs(t, ragvsft.ClearCache(dir), ragvsft.ErrCacheInUse, "b still holds it")
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "a second Close does nothing")
	require.NoError(t, ragvsft.ClearCache(dir))
	assert.NoDirExists(t, dir)
}
