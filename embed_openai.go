package ragvsft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/openai/openai-go/v3"
	"github.com/philippgille/chromem-go"
	"golang.org/x/sync/errgroup"
)

// DefaultOpenAIEmbeddingModel is the embedding model used when none is named.
const DefaultOpenAIEmbeddingModel = "text-embedding-3-small"

// Limits of one embeddings request. OpenAI takes up to 2048 inputs of up
// to 8192 tokens each and 300,000 tokens in all; batches stop at 250,000
// tokens, as counted here, to leave room for a provider that counts a few
// more.
const (
	defaultEmbedBatch   = 512
	maxEmbedInputs      = 2048
	maxEmbedInputTokens = 8192
	maxEmbedBatchTokens = 250_000
)

// OpenAIEmbedder embeds texts with OpenAI's embeddings API, or any server that
// speaks it, and returns unit-length vectors as chromem expects.
//
// Embed is a chromem.EmbeddingFunc for one text; EmbedBatch, a
// BatchEmbeddingFunc, embeds many texts in as few requests as OpenAI's
// limits allow, for indexing (ChromemOptions.EmbedBatch). Each request
// waits its turn at the model's RateLimiter (OpenAIConfig.RateLimits),
// charged the tokens of all its texts.
//
// It records the usage the server reports for every request (see Usage),
// which is what the run spent on embeddings: a Cache wrapped around Embed
// answers what it has seen without reaching the embedder, so its embeddings
// are not counted, as they were paid for by an earlier run.
//
// An OpenAIEmbedder is safe for concurrent use; do not change BatchSize while
// it is in use.
type OpenAIEmbedder struct {
	// BatchSize is the most texts sent in one request; 0 means 512, and
	// more than OpenAI's 2048 means 2048.
	BatchSize int
	// Batch, if set, sends the embedding requests through OpenAI's Batch
	// API with these options, at half price and within 24 hours: EmbedBatch
	// hands all its requests over at once, so that they go in one batch.
	// Give it a Record of its own (not a BatchModel's), so that a restarted
	// process resumes its batch instead of paying again. Set it before the
	// first call.
	Batch  *BatchOptions
	model  string
	client *openAIClient

	batchOnce sync.Once
	batcher   *batcher
	batchErr  error

	mu    sync.Mutex
	usage EmbeddingUsage
}

// EmbeddingUsage counts what an embedding model was asked and billed for.
// The zero value is no use at all.
type EmbeddingUsage struct {
	// Requests counts the successful requests; Texts the texts they
	// embedded.
	Requests int `json:"requests"`
	Texts    int `json:"texts"`
	// PromptTokens is the sum of the prompt tokens the server reported:
	// what the provider bills, at the model's Price.Input.
	PromptTokens int `json:"prompt_tokens"`
	// BatchPromptTokens are the PromptTokens that came through the Batch
	// API (OpenAIEmbedder.Batch), billed at Price.BatchInput.
	BatchPromptTokens int `json:"batch_prompt_tokens,omitempty"`
}

// NewOpenAIEmbedder returns an embedder for model ("" means
// text-embedding-3-small) reached through cfg. It fails only on a bad
// configuration.
func NewOpenAIEmbedder(cfg OpenAIConfig, model string) (*OpenAIEmbedder, error) {
	if model == "" {
		model = DefaultOpenAIEmbeddingModel
	}
	c, err := cfg.client()
	if err != nil {
		return nil, err
	}
	return &OpenAIEmbedder{model: model, client: c}, nil
}

// NewOpenAIEmbeddingFunc returns a chromem.EmbeddingFunc on OpenAI's
// embeddings for model ("" means text-embedding-3-small). A bad
// configuration (no API key) makes every call return the error.
func NewOpenAIEmbeddingFunc(cfg OpenAIConfig, model string) chromem.EmbeddingFunc {
	e, err := NewOpenAIEmbedder(cfg, model)
	if err != nil {
		return func(context.Context, string) ([]float32, error) { return nil, err }
	}
	return e.Embed
}

// Model returns the embedding model's name.
func (e *OpenAIEmbedder) Model() string { return e.model }

// Usage returns what e has been asked so far, as the server reported it:
// successful requests, their texts and prompt tokens. A failed request
// counts nothing (OpenAI bills none).
func (e *OpenAIEmbedder) Usage() EmbeddingUsage {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.usage
}

// Embed returns the normalized embedding of one text.
func (e *OpenAIEmbedder) Embed(ctx context.Context, text string) ([]float32, error) {
	vs, err := e.EmbedBatch(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// EmbedBatch returns the normalized embeddings of texts, in order. Texts are
// sent one request after another, each of at most BatchSize texts and
// 250,000 tokens, or the model's TokensPerMinute if its RateLimiter has a
// lower one. A text over OpenAI's 8192 tokens is refused before anything is
// sent.
func (e *OpenAIEmbedder) EmbedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	counts := make([]int, len(texts))
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("ragvsft: embedding text %d: empty text", i)
		}
		n, err := CountTokens(e.model, t)
		if err != nil {
			return nil, fmt.Errorf("ragvsft: embedding text %d: %w", i, err)
		}
		if n > maxEmbedInputTokens {
			return nil, fmt.Errorf("ragvsft: embedding text %d: %d tokens, more than the %d an embedding model takes", i, n, maxEmbedInputTokens)
		}
		counts[i] = n
	}
	size := e.BatchSize
	if size <= 0 {
		size = defaultEmbedBatch
	}
	size = min(size, maxEmbedInputs)
	budget := maxEmbedBatchTokens
	if tpm := e.client.cfg.limiterFor(e.model).Limits().TokensPerMinute; tpm > 0 {
		budget = min(budget, tpm)
	}
	var chunks [][2]int // [start, end) of each request
	for start := 0; start < len(texts); {
		end, tokens := start, 0
		for end < len(texts) && end-start < size {
			if end > start && tokens+counts[end] > budget {
				break
			}
			tokens += counts[end]
			end++
		}
		chunks = append(chunks, [2]int{start, end})
		start = end
	}
	out := make([][]float32, len(texts))
	if e.Batch != nil {
		// Every request at once: they wait in one batch, not one each.
		g, gctx := errgroup.WithContext(ctx)
		for _, c := range chunks {
			g.Go(func() error {
				vs, err := e.embed(gctx, texts[c[0]:c[1]], c[0])
				copy(out[c[0]:c[1]], vs)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		return out, nil
	}
	for _, c := range chunks {
		vs, err := e.embed(ctx, texts[c[0]:c[1]], c[0])
		if err != nil {
			return nil, err
		}
		copy(out[c[0]:c[1]], vs)
	}
	return out, nil
}

// embed sends one request; offset is the batch's position in the caller's
// texts, for error messages.
func (e *OpenAIEmbedder) embed(ctx context.Context, batch []string, offset int) ([][]float32, error) {
	doing := fmt.Sprintf("embedding texts %d-%d with %s", offset, offset+len(batch)-1, e.model)
	params := openai.EmbeddingNewParams{
		Model: openai.EmbeddingModel(e.model),
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: batch},
	}
	var res *openai.CreateEmbeddingResponse
	var err error
	if e.Batch != nil {
		res, err = e.embedInBatch(ctx, params, doing)
	} else if res, err = e.client.embeddings.New(ctx, params); err != nil {
		err = e.client.wrap(doing, err)
	}
	if err != nil {
		return nil, err
	}
	if len(res.Data) != len(batch) {
		return nil, fmt.Errorf("ragvsft: %s: server returned %d embeddings for %d texts", doing, len(res.Data), len(batch))
	}
	out := make([][]float32, len(batch))
	for _, d := range res.Data {
		i := int(d.Index)
		if i < 0 || i >= len(batch) || out[i] != nil {
			return nil, fmt.Errorf("ragvsft: %s: server returned embedding index %d twice or out of range", doing, d.Index)
		}
		v, err := normalized(d.Embedding)
		if err != nil {
			return nil, fmt.Errorf("ragvsft: %s: text %d: %w", doing, offset+i, err)
		}
		out[i] = v
	}
	e.mu.Lock()
	e.usage.Requests++
	e.usage.Texts += len(batch)
	e.usage.PromptTokens += int(res.Usage.PromptTokens)
	if e.Batch != nil {
		e.usage.BatchPromptTokens += int(res.Usage.PromptTokens)
	}
	e.mu.Unlock()
	return out, nil
}

// embedInBatch sends one embeddings request through the Batch API and
// reads its line of the output file as a synchronous response is read.
func (e *OpenAIEmbedder) embedInBatch(ctx context.Context, params openai.EmbeddingNewParams, doing string) (*openai.CreateEmbeddingResponse, error) {
	e.batchOnce.Do(func() {
		e.batcher, e.batchErr = newBatcher(e.client, e.model, openai.BatchNewParamsEndpointV1Embeddings, "embedding", *e.Batch)
	})
	if e.batchErr != nil {
		return nil, e.batchErr
	}
	body, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: %s: encoding the batch request: %w", doing, err)
	}
	ans, err := e.batcher.request(ctx, body)
	if err == nil {
		err = ans.err
	}
	if err != nil {
		return nil, fmt.Errorf("ragvsft: %s: %w", doing, err)
	}
	var res openai.CreateEmbeddingResponse
	if err := json.Unmarshal(ans.body, &res); err != nil {
		return nil, fmt.Errorf("ragvsft: %s: batch %s, request %s: reading the embeddings: %w", doing, ans.batchID, ans.customID, err)
	}
	return &res, nil
}

// errZeroVector is an embedding that cannot be normalized.
var errZeroVector = errors.New("embedding is empty or all zeros")

// normalized returns v scaled to unit length, as float32.
func normalized(v []float64) ([]float32, error) {
	var sum float64
	for _, x := range v {
		sum += x * x
	}
	norm := math.Sqrt(sum)
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return nil, errZeroVector
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out, nil
}
