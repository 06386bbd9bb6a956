package ragvsft_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

var citiesPrompt = ragvsft.ChatRequest{
	Messages: []ragvsft.Message{
		{Role: ragvsft.RoleSystem, Content: "You are a helpful assistant."},
		{Role: ragvsft.RoleUser, Content: "Answer the following QUESTION based on the CONTEXT only.\n\nQUESTION: What is the population of City_7?\n\nCONTEXT: [0]: \nCity_7 has about 4242424 inhabitants.\n\n\n\nANSWER:"},
	},
	Seed:      42,
	MaxTokens: 400,
}

const chatRoute = "POST /v1/chat/completions"

func TestOpenAIModelChat(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{APIKey: wireKey})
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	assert.Equal(t, ragvsft.DefaultBaseModel, m.Name())

	res, err := m.Chat(context.Background(), citiesPrompt)
	require.NoError(t, err)
	assert.Contains(t, res.Content, "4242424", "the reader answers from the context")
	assert.Equal(t, ragvsft.DefaultBaseModel, res.Model)
	assert.NotEmpty(t, res.SystemFingerprint)
	assert.Positive(t, res.Usage.PromptTokens)
	assert.Positive(t, res.Usage.CompletionTokens)

	again, err := m.Chat(context.Background(), citiesPrompt)
	require.NoError(t, err)
	assert.Equal(t, res, again, "temperature 0 and a seed: the same answer")
	assert.Equal(t, 2, s.Stats().ChatCompletions)
}

func TestOpenAIModelBadRequests(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	for name, req := range map[string]ragvsft.ChatRequest{
		"no messages": {},
		"tool role":   {Messages: []ragvsft.Message{{Role: ragvsft.RoleTool, Content: "x"}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := m.Chat(context.Background(), req)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "ragvsft: chat: "), err.Error())
		})
	}
	assert.Empty(t, s.Stats().Requests)

	t.Run("unknown model is the server's 404", func(t *testing.T) {
		m, err := ragvsft.NewOpenAIModel(wireConfig(s), "ft:gpt-4.1-mini-2025-04-14:nobody::nothing")
		require.NoError(t, err)
		_, err = m.Chat(context.Background(), citiesPrompt)
		require.Error(t, err)
		var apiErr *openai.Error
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 404, apiErr.StatusCode)
		assert.Contains(t, err.Error(), "ragvsft: chat completion with ft:gpt-4.1-mini-2025-04-14:nobody::nothing: OpenAI API error 404")
	})
}

func TestOpenAIModelRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		faults     []ragvsfttest.Fault
		maxRetries int
		requests   int
		ok         bool
		minElapsed time.Duration
	}{
		{"429 honours Retry-After", []ragvsfttest.Fault{{Status: 429, RetryAfter: 300 * time.Millisecond}}, 0, 2, true, 300 * time.Millisecond},
		{"two 500s", []ragvsfttest.Fault{{Status: 500}, {Status: 500}}, 0, 3, true, 0},
		{"503 then dropped connection", []ragvsfttest.Fault{{Status: 503, RetryAfter: time.Millisecond}, {Drop: true}}, 0, 3, true, 0},
		{"more 500s than retries", []ragvsfttest.Fault{{Status: 500, RetryAfter: time.Millisecond}, {Status: 500, RetryAfter: time.Millisecond}, {Status: 500}}, 0, 3, false, 0},
		{"more retries", []ragvsfttest.Fault{{Status: 500, RetryAfter: time.Millisecond}, {Status: 502, RetryAfter: time.Millisecond}, {Status: 500, RetryAfter: time.Millisecond}}, 3, 4, true, 0},
		{"retries off", []ragvsfttest.Fault{{Status: 429, RetryAfter: time.Millisecond}}, -1, 1, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, ragvsfttest.ServerConfig{})
			for _, f := range tc.faults {
				s.InjectFault("chat/completions", 1, f)
			}
			cfg := wireConfig(s)
			cfg.MaxRetries = tc.maxRetries
			m, err := ragvsft.NewOpenAIModel(cfg, ragvsft.DefaultBaseModel)
			require.NoError(t, err)
			start := time.Now()
			_, err = m.Chat(context.Background(), citiesPrompt)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.True(t, strings.HasPrefix(err.Error(), "ragvsft: chat completion with "+ragvsft.DefaultBaseModel+": "), err.Error())
			}
			assert.Equal(t, tc.requests, s.Stats().Requests[chatRoute])
			assert.GreaterOrEqual(t, time.Since(start), tc.minElapsed)
		})
	}
}

func TestOpenAIModelRequestTimeout(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{Faults: ragvsfttest.Faults{Latency: time.Second}})
	cfg := wireConfig(s)
	cfg.RequestTimeout = 50 * time.Millisecond
	cfg.MaxRetries = -1
	m, err := ragvsft.NewOpenAIModel(cfg, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	start := time.Now()
	_, err = m.Chat(context.Background(), citiesPrompt)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	assert.Less(t, time.Since(start), 800*time.Millisecond)
}

func TestOpenAIModelBadKey(t *testing.T) {
	t.Parallel()
	const bad = "sk-live-do-not-print-0123456789"
	s := newServer(t, ragvsfttest.ServerConfig{APIKey: wireKey})
	m, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: bad, BaseURL: s.URL, Now: onWireDay}, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	_, err = m.Chat(context.Background(), citiesPrompt)
	require.ErrorIs(t, err, ragvsft.ErrOpenAIAuth)
	assert.NotContains(t, err.Error(), bad)
	assert.NotContains(t, err.Error(), "print")
	assert.NotContains(t, err.Error(), "6789")
	assert.Contains(t, err.Error(), "OPENAI_API_KEY")
	assert.Equal(t, 1, s.Stats().Requests[chatRoute], "a 401 is not retried")
}

func TestOpenAIModelConcurrent(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := m.Chat(context.Background(), citiesPrompt)
			errs <- err
		}()
	}
	for range 8 {
		assert.NoError(t, <-errs)
	}
	assert.Equal(t, 8, s.Stats().ChatCompletions)
}

// The environment is read by OpenAIConfigFromEnv only: an explicit
// configuration is not overridden by OPENAI_BASE_URL or OPENAI_API_KEY.
func TestOpenAIConfigIgnoresEnvironment(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{APIKey: wireKey})
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	_, err = m.Chat(context.Background(), citiesPrompt)
	require.NoError(t, err)

	cfg := ragvsft.OpenAIConfigFromEnv()
	cfg.BaseURL = s.URL // explicit settings override the environment
	cfg.Now = onWireDay
	m, err = ragvsft.NewOpenAIModel(cfg, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	_, err = m.Chat(context.Background(), citiesPrompt)
	require.ErrorIs(t, err, ragvsft.ErrOpenAIAuth, "the key from the environment is sent")
	assert.NotContains(t, err.Error(), "sk-from-env")
}

// reasoner is a reasoning model of the catalog with no shutdown date.
const reasoner = "gpt-6-luna"

// bodyRecorder serves ragvsfttest's handler and keeps the raw body of
// every chat completion request, to see what the library puts on the wire.
type bodyRecorder struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func newRecordingServer(t *testing.T, cfg ragvsfttest.ServerConfig) (*bodyRecorder, string, *ragvsfttest.OpenAIServer) {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = onWireDay
	}
	h := ragvsfttest.NewOpenAIHandler(cfg)
	t.Cleanup(h.Close)
	rec := &bodyRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/chat/completions") {
			var body map[string]any
			if json.Unmarshal(b, &body) == nil {
				rec.mu.Lock()
				rec.bodies = append(rec.bodies, body)
				rec.mu.Unlock()
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL + "/v1", h
}

func (r *bodyRecorder) last(t *testing.T) map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.bodies, "no chat completion request was recorded")
	return r.bodies[len(r.bodies)-1]
}

func TestOpenAIModelRequestBody(t *testing.T) {
	t.Parallel()
	rec, url, _ := newRecordingServer(t, ragvsfttest.ServerConfig{Models: []string{"my-thinker"}})
	tests := []struct {
		name    string
		model   string
		catalog ragvsft.Catalog
		req     ragvsft.ChatRequest
		want    map[string]any // keys that must be sent, with their values
		absent  []string       // keys that must not be sent
	}{
		{"chat model", ragvsft.DefaultBaseModel, nil, citiesPrompt,
			map[string]any{"max_completion_tokens": 400.0, "temperature": 0.0, "seed": 42.0}, []string{"max_tokens"}},
		{"chat model at temperature 0.7", "gpt-4o-mini", nil, ragvsft.ChatRequest{Messages: citiesPrompt.Messages, Temperature: 0.7, MaxTokens: 20},
			map[string]any{"max_completion_tokens": 20.0, "temperature": 0.7}, []string{"max_tokens", "seed"}},
		{"no limit", ragvsft.DefaultBaseModel, nil, ragvsft.ChatRequest{Messages: citiesPrompt.Messages},
			map[string]any{"temperature": 0.0}, []string{"max_tokens", "max_completion_tokens", "seed"}},
		{"reasoning model", reasoner, nil, citiesPrompt,
			map[string]any{"max_completion_tokens": 400.0, "seed": 42.0}, []string{"max_tokens", "temperature"}},
		{"reasoning model asked at 0.7", reasoner, nil, ragvsft.ChatRequest{Messages: citiesPrompt.Messages, Temperature: 0.7},
			map[string]any{}, []string{"max_tokens", "temperature"}},
		{"reasoning by the caller's catalog", "my-thinker", ragvsft.Catalog{"my-thinker": {Reasoning: true}}, citiesPrompt,
			map[string]any{"max_completion_tokens": 400.0}, []string{"max_tokens", "temperature"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: url, Now: onWireDay, Catalog: tt.catalog}, tt.model)
			require.NoError(t, err)
			_, err = m.Chat(context.Background(), tt.req)
			require.NoError(t, err)
			body := rec.last(t)
			assert.Equal(t, tt.model, body["model"])
			for k, v := range tt.want {
				assert.Equal(t, v, body[k], k)
			}
			for _, k := range tt.absent {
				assert.NotContains(t, body, k)
			}
		})
	}
}

func TestOpenAIModelReasoningUsage(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), reasoner)
	require.NoError(t, err)
	res, err := m.Chat(context.Background(), citiesPrompt)
	require.NoError(t, err)
	assert.Equal(t, "City_7 has about 4242424 inhabitants.", res.Content)
	assert.False(t, res.Truncated)
	assert.Positive(t, res.Usage.ReasoningTokens)
	assert.Zero(t, res.Usage.ReasoningTokens%64, "the server reasons in blocks of 64")
	assert.Greater(t, res.Usage.CompletionTokens, res.Usage.ReasoningTokens, "the answer's tokens come on top")
	assert.Zero(t, res.Usage.CachedPromptTokens)

	base, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	plain, err := base.Chat(context.Background(), citiesPrompt)
	require.NoError(t, err)
	assert.Zero(t, plain.Usage.ReasoningTokens)
	assert.Equal(t, plain.Content, res.Content)
	assert.Equal(t, plain.Usage.CompletionTokens+res.Usage.ReasoningTokens, res.Usage.CompletionTokens)
}

func TestOpenAIModelCutShort(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	ctx := context.Background()
	thinker, err := ragvsft.NewOpenAIModel(wireConfig(s), reasoner)
	require.NoError(t, err)
	full, err := thinker.Chat(ctx, citiesPrompt)
	require.NoError(t, err)
	reasons := full.Usage.ReasoningTokens
	require.Positive(t, reasons)

	t.Run("reasoning exhausts the budget", func(t *testing.T) {
		req := citiesPrompt
		req.MaxTokens = 16
		res, err := thinker.Chat(ctx, req)
		require.ErrorIs(t, err, ragvsft.ErrCutShort)
		assert.NotErrorIs(t, err, ragvsft.ErrNoAnswer, "the model was not silent: the budget was too small")
		var cut *ragvsft.CutShortError
		require.ErrorAs(t, err, &cut)
		assert.Equal(t, reasoner, cut.Model)
		assert.Equal(t, 16, cut.MaxTokens)
		assert.Equal(t, 16, cut.CompletionTokens)
		assert.Equal(t, 16, cut.ReasoningTokens)
		assert.True(t, strings.HasPrefix(err.Error(), "ragvsft: gpt-6-luna wrote no answer: it spent all 16 completion tokens on reasoning; raise MaxTokens"), err.Error())
		assert.Empty(t, res.Content)
		assert.True(t, res.Truncated)
		assert.Equal(t, ragvsft.Usage{PromptTokens: full.Usage.PromptTokens, CompletionTokens: 16, ReasoningTokens: 16}, res.Usage, "what was billed")
	})

	tests := []struct {
		name      string
		model     *ragvsft.OpenAIModel
		maxTokens int
		content   string
		truncated bool
	}{
		{"reasoning leaves room for part of the answer", thinker, reasons + 5, "City_7 has about", true},
		{"reasoning leaves room for the answer", thinker, reasons + 400, full.Content, false},
	}
	base, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	tests = append(tests,
		struct {
			name      string
			model     *ragvsft.OpenAIModel
			maxTokens int
			content   string
			truncated bool
		}{"a chat model cut short", base, 5, "City_7 has about", true},
		struct {
			name      string
			model     *ragvsft.OpenAIModel
			maxTokens int
			content   string
			truncated bool
		}{"a chat model with room", base, 400, full.Content, false})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := citiesPrompt
			req.MaxTokens = tt.maxTokens
			res, err := tt.model.Chat(ctx, req)
			require.NoError(t, err, "a truncated answer is still an answer")
			assert.Equal(t, tt.content, res.Content)
			assert.Equal(t, tt.truncated, res.Truncated)
		})
	}
}

// An Experiment records a reasoning model's cut-short answers per item, as
// errors that say what happened, with what they cost; not as wrong answers
// and not as "no answer". A truncated answer is scored and marked.
func TestExperimentRecordsCutShortAnswers(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	ctx := context.Background()
	const n = 5
	run := func(model string, maxTokens int) *ragvsft.Report {
		m, err := ragvsft.NewOpenAIModel(wireConfig(s), model)
		require.NoError(t, err)
		r, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{})
		require.NoError(t, err)
		rep, err := (&ragvsft.Experiment{
			Dataset: cities(t, n), Base: m, BaseModel: model, Retriever: r,
			Arms: []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmRAG}, MaxTokens: maxTokens, Concurrency: 2,
		}).Run(ctx)
		require.NoError(t, err)
		require.Len(t, rep.Results, 2*n)
		return rep
	}

	rep := run(reasoner, 16)
	for _, r := range rep.Results {
		assert.Contains(t, r.Error, "spent all 16 completion tokens on reasoning; raise MaxTokens", "%s %s", r.Arm, r.QuestionID)
		assert.NotContains(t, r.Error, ragvsft.ErrNoAnswer.Error())
		assert.Empty(t, r.Answer)
		assert.False(t, r.Verdict.Correct)
		assert.Equal(t, 16, r.Usage.CompletionTokens, "billed tokens are recorded")
		assert.Equal(t, 16, r.Usage.ReasoningTokens)
		assert.Positive(t, r.Usage.PromptTokens)
		assert.Equal(t, reasoner, r.Model)
	}
	for _, arm := range []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmRAG} {
		sum, ok := rep.Arm(arm)
		require.True(t, ok)
		assert.Equal(t, n, sum.Errors, "counted apart, not as wrong answers")
		assert.Zero(t, sum.Answered)
		assert.Equal(t, 16*n, sum.Usage.CompletionTokens)
	}

	rep = run(ragvsft.DefaultBaseModel, 3)
	for _, r := range rep.Results {
		if r.Arm != ragvsft.ArmRAG {
			continue
		}
		assert.Empty(t, r.Error)
		assert.True(t, r.Truncated, r.Answer)
		assert.False(t, r.Verdict.Correct, "the number was cut off: %q", r.Answer)
	}
	sum, _ := rep.Arm(ragvsft.ArmRAG)
	assert.Equal(t, n, sum.Answered)
}

func TestNewOpenAIModelRefusesShutDownModels(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	day := func(d string) func() time.Time {
		return func() time.Time {
			t, err := time.Parse(time.DateOnly, d)
			if err != nil {
				panic(err)
			}
			return t
		}
	}
	tests := []struct {
		name, model, day string
		catalog          ragvsft.Catalog
		shutdown         string // "" when accepted
	}{
		{"the article's model", "gpt-3.5-turbo", "2026-12-02", nil, "2026-10-23"},
		{"its snapshot", "gpt-3.5-turbo-0125", "2026-12-02", nil, "2026-10-23"},
		{"on its shutdown day", "o4-mini", "2026-10-23", nil, "2026-10-23"},
		{"the day before", "gpt-3.5-turbo", "2026-10-22", nil, ""},
		{"a fine-tune shuts down with its base", "ft:gpt-4o-mini-2024-07-18:acme:cities:abc123", "2027-01-14", nil, "2027-01-14"},
		{"a fine-tune before its base's shutdown", "ft:gpt-4o-mini-2024-07-18:acme:cities:abc123", "2026-12-02", nil, ""},
		{"the caller's catalog wins", "gpt-3.5-turbo", "2026-12-02", ragvsft.Catalog{"gpt-3.5-turbo": {}}, ""},
		{"a model no catalog knows", "llama3", "2030-01-01", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := wireConfig(s)
			cfg.Now, cfg.Catalog = day(tt.day), tt.catalog
			m, err := ragvsft.NewOpenAIModel(cfg, tt.model)
			if tt.shutdown == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.model, m.Name())
				return
			}
			require.ErrorIs(t, err, ragvsft.ErrModelShutDown)
			var sd *ragvsft.ModelShutDownError
			require.ErrorAs(t, err, &sd)
			assert.Equal(t, tt.model, sd.Model)
			assert.Equal(t, tt.shutdown, sd.Shutdown)
			info, ok := ragvsft.DefaultCatalog().Lookup(tt.model)
			require.True(t, ok)
			require.NotEmpty(t, info.Replacement)
			assert.Equal(t, info.Replacement, sd.Replacement)
			assert.Contains(t, err.Error(), info.Replacement)
			assert.Contains(t, err.Error(), tt.shutdown)
			assert.Contains(t, err.Error(), tt.model)
		})
	}
	assert.Empty(t, s.Stats().Requests, "refused before anything is sent")
}

// The server refuses what the library would refuse, if a caller's catalog
// lets it through: shut-down models are refused on both sides of the wire.
func TestShutDownModelRefusedByTheServerToo(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	cfg := wireConfig(s)
	cfg.Catalog = ragvsft.Catalog{"gpt-3.5-turbo": {}}
	m, err := ragvsft.NewOpenAIModel(cfg, "gpt-3.5-turbo")
	require.NoError(t, err)
	_, err = m.Chat(context.Background(), citiesPrompt)
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 404, apiErr.StatusCode)
	assert.Equal(t, "model_not_found", apiErr.Code)
	assert.Contains(t, err.Error(), "The model `gpt-3.5-turbo` has been deprecated")
}

// A long prompt sent twice is served partly from the provider's prompt
// cache the second time: Usage says how much, for pricing at CachedInput.
func TestOpenAIModelCachedPromptTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	var passages strings.Builder
	for i := range 300 {
		fmt.Fprintf(&passages, "[%d]: City_%d has about %d inhabitants.\n", i, i, 1000+i)
	}
	req := ragvsft.ChatRequest{Messages: []ragvsft.Message{
		{Role: ragvsft.RoleSystem, Content: "You are a helpful assistant."},
		{Role: ragvsft.RoleUser, Content: "CONTEXT:\n" + passages.String() + "\nQUESTION: What is the population of City_7?"},
	}, MaxTokens: 400}
	first, err := m.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.Zero(t, first.Usage.CachedPromptTokens)
	second, err := m.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, second.Usage.CachedPromptTokens, 1024, "OpenAI caches from 1024 tokens")
	assert.Zero(t, (second.Usage.CachedPromptTokens-1024)%128, "in steps of 128")
	assert.LessOrEqual(t, second.Usage.CachedPromptTokens, second.Usage.PromptTokens)
	assert.Equal(t, first.Usage.PromptTokens, second.Usage.PromptTokens)
}

// With no Now, the day is RAGVSFT_TODAY's: the default model answers the
// day before its shutdown and is refused on it, by the model and the
// fine-tuner alike; a malformed value is an error naming it, not today.
func TestOpenAIConfigTodayFromEnvironment(t *testing.T) {
	cfg := ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: "http://127.0.0.1:1/v1"}
	ft := &ragvsft.OpenAIFineTuner{Config: cfg}
	req := ragvsft.FineTuneRequest{BaseModel: ragvsft.DefaultBaseModel, Training: cities(t, 10)}
	for _, tt := range []struct {
		today, err string
	}{
		{today: "2027-01-13"},
		{today: "2027-01-14", err: "was shut down on 2027-01-14"},
		{today: "14 Jan 2027", err: `ragvsft: RAGVSFT_TODAY="14 Jan 2027" is not a day as YYYY-MM-DD`},
	} {
		t.Run(tt.today, func(t *testing.T) {
			t.Setenv("RAGVSFT_TODAY", tt.today)
			_, err := ragvsft.NewOpenAIModel(cfg, ragvsft.DefaultBaseModel)
			_, estErr := ft.Estimate(context.Background(), req)
			if tt.err == "" {
				require.NoError(t, err)
				require.NoError(t, estErr)
				return
			}
			require.ErrorContains(t, err, tt.err)
			require.ErrorContains(t, estErr, tt.err)
		})
	}
}
