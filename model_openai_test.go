package ragvsft_test

import (
	"context"
	"errors"
	"strings"
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
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), "gpt-3.5-turbo")
	require.NoError(t, err)
	assert.Equal(t, "gpt-3.5-turbo", m.Name())

	res, err := m.Chat(context.Background(), citiesPrompt)
	require.NoError(t, err)
	assert.Contains(t, res.Content, "4242424", "the reader answers from the context")
	assert.Equal(t, "gpt-3.5-turbo", res.Model)
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
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), "gpt-3.5-turbo")
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
		m, err := ragvsft.NewOpenAIModel(wireConfig(s), "ft:gpt-3.5-turbo:nobody::nothing")
		require.NoError(t, err)
		_, err = m.Chat(context.Background(), citiesPrompt)
		require.Error(t, err)
		var apiErr *openai.Error
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 404, apiErr.StatusCode)
		assert.Contains(t, err.Error(), "ragvsft: chat completion with ft:gpt-3.5-turbo:nobody::nothing: OpenAI API error 404")
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
			m, err := ragvsft.NewOpenAIModel(cfg, "gpt-3.5-turbo")
			require.NoError(t, err)
			start := time.Now()
			_, err = m.Chat(context.Background(), citiesPrompt)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.True(t, strings.HasPrefix(err.Error(), "ragvsft: chat completion with gpt-3.5-turbo: "), err.Error())
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
	m, err := ragvsft.NewOpenAIModel(cfg, "gpt-3.5-turbo")
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
	m, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: bad, BaseURL: s.URL}, "gpt-3.5-turbo")
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
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), "gpt-3.5-turbo")
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
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), "gpt-3.5-turbo")
	require.NoError(t, err)
	_, err = m.Chat(context.Background(), citiesPrompt)
	require.NoError(t, err)

	cfg := ragvsft.OpenAIConfigFromEnv()
	cfg.BaseURL = s.URL // explicit settings override the environment
	m, err = ragvsft.NewOpenAIModel(cfg, "gpt-3.5-turbo")
	require.NoError(t, err)
	_, err = m.Chat(context.Background(), citiesPrompt)
	require.ErrorIs(t, err, ragvsft.ErrOpenAIAuth, "the key from the environment is sent")
	assert.NotContains(t, err.Error(), "sk-from-env")
}
