package ragvsft

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/philippgille/chromem-go"
)

// cacheVersion is part of every key: a change of the entry format or of
// what a key covers bumps it, and old entries simply stop matching.
// Version 2: OpenAIModel sends max_completion_tokens instead of max_tokens
// and no temperature to reasoning models, and entries record Truncated and
// the cached-prompt and reasoning tokens; a version 1 answer was asked
// otherwise and would be reported without them.
const cacheVersion = 2

// Cache is an on-disk cache of model calls, chat and embeddings, so that
// rerunning a finished experiment makes no model call at all.
//
// Wrap each Model with Model, each embedding function with Embedding (and
// a batch one with EmbeddingBatch) and a FineTuner with FineTuner (which wraps the fine-tuned model it returns).
// A chat answer is keyed by the model's name and the whole request: the
// messages, temperature, seed, max tokens and response format; an embedding by the model's
// name and the text. The key is the SHA-256 of a canonical JSON of those,
// and each entry is one small JSON file under dir (chat/ab/abcd....json,
// embedding/ab/abcd....json), so a cache folder can be inspected, copied or
// deleted by hand.
//
// A name is taken at its word: an alias such as "gpt-4o", which the
// provider moves to newer snapshots, keeps the answers of the snapshot it
// had. Name a dated snapshot, or use another folder, to ask afresh.
//
// Only successful answers are stored. An answer sampled at a temperature
// above 0 is cached too: a rerun returns the same sample instead of drawing
// a new one, which is what makes a rerun reproducible; a caller who wants
// fresh samples does not use a Cache (examples/cities: -no-cache).
//
// Calls that miss the same key at once make one model call: the others
// wait for it and read its answer (hits), or make their own if it failed.
// Entries are written to a temporary file and renamed into place, so a
// reader never sees half an entry, and processes sharing a folder that
// store the same key at once both succeed (the last rename wins). An entry that cannot be read or decoded (cut short by a crash,
// edited by hand) counts as a miss and is overwritten by the next answer.
// A failure to write an entry does not fail the call, whose answer is good:
// it is counted and Err returns the first one.
//
// A Cache is safe for concurrent use, also by several processes sharing the
// folder.
type Cache struct {
	dir          string
	inUse        *os.File // holds the shared lock ClearCache waits out
	hits, misses atomic.Int64

	mu     sync.Mutex
	err    error                    // first write failure
	nWrite int64                    // write failures
	calls  map[string]chan struct{} // calls running, by key
}

// cacheInUseFile is the file a Cache holds a shared lock on while open.
const cacheInUseFile = "in-use"

// ErrCacheInUse is returned by ClearCache while a Cache is open on the
// folder, in this process or another.
var ErrCacheInUse = errors.New("ragvsft: cache in use")

// OpenCache opens the cache in dir, creating the folder (0700) if needed.
// It holds a shared lock on the folder until Close, so that ClearCache
// does not delete answers under a run that is using them; any number of
// Caches, in any number of processes, share it.
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("ragvsft: cache: no folder given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ragvsft: opening cache %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, cacheInUseFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: opening cache %s: %w", dir, err)
	}
	if err := lockFileShared(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%w: %s is being cleared", ErrCacheInUse, dir)
		}
		return nil, fmt.Errorf("ragvsft: opening cache %s: %w", dir, err)
	}
	return &Cache{dir: dir, inUse: f}, nil
}

// Close releases the cache's folder for ClearCache. The Cache must not be
// used after. A second Close does nothing.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inUse == nil {
		return nil
	}
	err := errors.Join(unlockFile(c.inUse), c.inUse.Close())
	c.inUse = nil
	return err
}

// ClearCache deletes every entry of the cache in dir, and refuses with
// ErrCacheInUse while a Cache is open on it (a run is using it), in this
// process or another: the run would pay again for what it just stored.
func ClearCache(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, cacheInUseFile), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		// A folder from before the lock, or not a cache: nothing can hold it.
		return removeAll(dir)
	}
	if err != nil {
		return fmt.Errorf("ragvsft: clearing cache %s: %w", dir, err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		if errors.Is(err, errLocked) {
			return fmt.Errorf("%w: a run is using %s; clear it once the run has ended", ErrCacheInUse, dir)
		}
		return fmt.Errorf("ragvsft: clearing cache %s: %w", dir, err)
	}
	defer unlockFile(f)
	return removeAll(dir)
}

// removeAll removes dir and everything in it.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("ragvsft: clearing cache %s: %w", dir, err)
	}
	return nil
}

// Dir returns the cache's folder.
func (c *Cache) Dir() string { return c.dir }

// Hits returns how many calls were answered from the cache.
func (c *Cache) Hits() int64 { return c.hits.Load() }

// Misses returns how many calls went to the wrapped model or embedding
// function, successful or not.
func (c *Cache) Misses() int64 { return c.misses.Load() }

// Err returns the first failure to store an entry, or nil. Such a failure
// never fails the call itself.
func (c *Cache) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return nil
	}
	return fmt.Errorf("ragvsft: cache %s: %d entries not stored, the first: %w", c.dir, c.nWrite, c.err)
}

// Model returns m with every chat call cached under the model name name,
// which must tell this model apart from every other model sharing the
// folder (use the provider's model id, e.g. "gpt-3.5-turbo" or a fine-tuned
// "ft:..." id). An empty name is taken from m's Name method if it has one,
// as OpenAIModel does.
func (c *Cache) Model(name string, m Model) Model {
	if n, ok := m.(interface{ Name() string }); ok && name == "" {
		name = n.Name()
	}
	return &cachedModel{c: c, name: name, m: m}
}

// Embedding returns f with every embedding cached under the embedding
// model's name name (e.g. "text-embedding-3-small"), which must tell f
// apart from every other embedding function sharing the folder.
func (c *Cache) Embedding(name string, f chromem.EmbeddingFunc) chromem.EmbeddingFunc {
	return func(ctx context.Context, text string) ([]float32, error) {
		key := cacheKey(embeddingKey{Version: cacheVersion, Kind: "embedding", Model: name, Text: text})
		path := c.path("embedding", key)
		var e embeddingEntry
		err := c.lookup(ctx, path, key, &e, func() bool { return len(e.Vector) > 0 }, func() error {
			v, err := f(ctx, text)
			if err == nil {
				e = embeddingEntry{Key: key, Model: name, Text: text, Vector: v}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return e.Vector, nil
	}
}

// EmbeddingBatch returns f with every text's embedding cached under the
// embedding model's name name, in the same entries as Embedding's: f is
// asked only for the texts not found, each distinct text once, in one call.
// Each text counts as a hit (found, or repeated within the call) or a miss
// (sent to f). Unlike Embedding, calls running at once that miss the same
// text each ask f for it.
func (c *Cache) EmbeddingBatch(name string, f BatchEmbeddingFunc) BatchEmbeddingFunc {
	return func(ctx context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		var miss []string
		var keys []string
		var at [][]int // at[j]: the positions of miss[j] in texts
		first := map[string]int{}
		for i, text := range texts {
			if j, ok := first[text]; ok {
				at[j] = append(at[j], i)
				c.hits.Add(1)
				continue
			}
			key := cacheKey(embeddingKey{Version: cacheVersion, Kind: "embedding", Model: name, Text: text})
			var e embeddingEntry
			if c.read(c.path("embedding", key), key, &e) && len(e.Vector) > 0 {
				out[i] = e.Vector
				c.hits.Add(1)
				continue
			}
			first[text] = len(miss)
			miss, keys, at = append(miss, text), append(keys, key), append(at, []int{i})
		}
		if len(miss) == 0 {
			return out, nil
		}
		c.misses.Add(int64(len(miss)))
		vs, err := f(ctx, miss)
		if err != nil {
			return nil, err
		}
		if len(vs) != len(miss) {
			return nil, fmt.Errorf("ragvsft: cache: the embedding function returned %d vectors for %d texts", len(vs), len(miss))
		}
		for j, v := range vs {
			c.write(c.path("embedding", keys[j]), embeddingEntry{Key: keys[j], Model: name, Text: miss[j], Vector: v})
			for _, i := range at[j] {
				out[i] = v
			}
		}
		return out, nil
	}
}

// FineTuner returns ft whose fine-tuned models answer through the cache,
// keyed by their FineTuned.ModelID. The fine-tuning itself is not cached:
// FineTuners keep their own records (see OpenAIFineTuner.RunDir).
func (c *Cache) FineTuner(ft FineTuner) FineTuner { return &cachedFineTuner{c: c, ft: ft} }

type cachedModel struct {
	c    *Cache
	name string
	m    Model
}

// Name returns the name the model is cached under.
func (m *cachedModel) Name() string { return m.name }

func (m *cachedModel) Chat(ctx context.Context, req ChatRequest) (ChatResponse, error) {
	key := cacheKey(chatKey{
		Version: cacheVersion, Kind: "chat", Model: m.name, Messages: req.Messages,
		Temperature: req.Temperature, Seed: req.Seed, MaxTokens: req.MaxTokens,
		ResponseFormat: req.ResponseFormat,
	})
	var e chatEntry
	var failed ChatResponse
	called := false
	err := m.c.lookup(ctx, m.c.path("chat", key), key, &e, func() bool { return e.Response.Content != "" }, func() error {
		called = true
		resp, err := m.m.Chat(ctx, req)
		if err != nil {
			failed = resp
			return err
		}
		e = chatEntry{Key: key, Model: m.name, Request: req, Response: resp}
		return nil
	})
	if err != nil {
		return failed, err
	}
	resp := e.Response
	resp.Cached = !called
	return resp, nil
}

// lookup fills e with the entry for key: from disk (a hit), else by call,
// which fills e, and stores it (a miss). A call for the same key already
// running in this process is waited for rather than made twice; if it
// fails, the next waiter makes its own.
func (c *Cache) lookup(ctx context.Context, path, key string, e interface{ entryKey() string }, ok func() bool, call func() error) error {
	for {
		if c.read(path, key, e) && ok() {
			c.hits.Add(1)
			return nil
		}
		running, release := c.claim(key)
		if running != nil {
			select {
			case <-running:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		defer release()
		c.misses.Add(1)
		if err := call(); err != nil {
			return err
		}
		c.write(path, e)
		return nil
	}
}

// claim registers a call for key and returns the function that ends it;
// if one is already running, it returns a channel closed when it ends.
func (c *Cache) claim(key string) (running <-chan struct{}, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.calls[key]; ok {
		return ch, nil
	}
	if c.calls == nil {
		c.calls = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	c.calls[key] = ch
	return nil, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.calls, key)
		close(ch)
	}
}

type cachedFineTuner struct {
	c  *Cache
	ft FineTuner
}

func (f *cachedFineTuner) FineTune(ctx context.Context, req FineTuneRequest) (*FineTuned, error) {
	res, err := f.ft.FineTune(ctx, req)
	if err != nil || res == nil || res.Model == nil {
		return res, err
	}
	out := *res
	out.Model = f.c.Model(res.ModelID, res.Model)
	return &out, nil
}

// The canonical requests that are hashed into keys. Field order is fixed by
// the struct, so encoding/json writes the same bytes for the same request.
type chatKey struct {
	Version     int       `json:"v"`
	Kind        string    `json:"kind"`
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	Temperature float64   `json:"temperature"`
	Seed        int64     `json:"seed"`
	MaxTokens   int       `json:"max_tokens"`
	// ResponseFormat is omitted when nil, so the keys of requests without
	// one are those of earlier versions.
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
}

type embeddingKey struct {
	Version int    `json:"v"`
	Kind    string `json:"kind"`
	Model   string `json:"model"`
	Text    string `json:"text"`
}

// The stored entries carry their key, checked on read, and the request, for
// whoever opens the file.
type chatEntry struct {
	Key      string       `json:"key"`
	Model    string       `json:"model"`
	Request  ChatRequest  `json:"request"`
	Response ChatResponse `json:"response"`
}

type embeddingEntry struct {
	Key    string    `json:"key"`
	Model  string    `json:"model"`
	Text   string    `json:"text"`
	Vector []float32 `json:"vector"`
}

func (e *chatEntry) entryKey() string      { return e.Key }
func (e *embeddingEntry) entryKey() string { return e.Key }

func cacheKey(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only NaN or ±Inf temperatures get here; they still need a key.
		b = fmt.Appendf(nil, "%#v", v)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (c *Cache) path(kind, key string) string {
	return filepath.Join(c.dir, kind, key[:2], key+".json")
}

// read decodes the entry at path into e and reports whether it is a good
// entry for key.
func (c *Cache) read(path, key string, e interface{ entryKey() string }) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, e) == nil && e.entryKey() == key
}

// write stores v at path atomically: a temporary file in the same folder,
// renamed into place. Unlike internal/atomicfile it does not fsync: a cache
// writes an entry per call, and an entry lost or torn by a crash is a miss
// (read checks its key), paid again, never a wrong answer.
func (c *Cache) write(path string, v any) {
	if err := writeAtomic(path, v); err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.nWrite++
		if c.err == nil {
			c.err = err
		}
	}
}

func writeAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}
