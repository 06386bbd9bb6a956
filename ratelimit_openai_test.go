package ragvsft

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimiterFor(t *testing.T) {
	base, ft, any := NewRateLimiter(Limits{RequestsPerMinute: 1}), NewRateLimiter(Limits{RequestsPerMinute: 2}), NewRateLimiter(Limits{})
	cfg := OpenAIConfig{RateLimits: map[string]*RateLimiter{
		"gpt-4o-mini":                       base,
		"ft:gpt-4o-mini:org:special:abc123": ft,
	}}
	tests := []struct {
		model string
		want  *RateLimiter
	}{
		{"gpt-4o-mini", base},
		{"ft:gpt-4o-mini:org:special:abc123", ft},
		{"ft:gpt-4o-mini:org:other:def456", base},
		{"gpt-3.5-turbo", nil},
		{"", nil},
	}
	for _, tc := range tests {
		assert.Same(t, tc.want, cfg.limiterFor(tc.model), tc.model)
	}
	cfg.RateLimits[""] = any
	assert.Same(t, any, cfg.limiterFor("gpt-3.5-turbo"), "the \"\" entry covers the rest")
	assert.Same(t, base, cfg.limiterFor("gpt-4o-mini"))
	assert.Nil(t, OpenAIConfig{}.limiterFor("gpt-4o-mini"))
}

func TestRequestBodyTokens(t *testing.T) {
	chat := func(body string) int {
		req, err := http.NewRequest(http.MethodPost, "http://x/v1/chat/completions", bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		return peekBody(req).tokens()
	}
	msgs := []Message{{Role: RoleSystem, Content: "You are a helpful assistant."}, {Role: RoleUser, Content: "What is the population of City_7?"}}
	prompt, err := CountMessageTokens("gpt-3.5-turbo", msgs)
	require.NoError(t, err)

	tests := []struct {
		name string
		body string
		want int
	}{
		{"messages and max_tokens", `{"model":"gpt-3.5-turbo","max_tokens":400,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the population of City_7?"}]}`, prompt + 400},
		{"content parts, max_completion_tokens", `{"model":"gpt-3.5-turbo","max_completion_tokens":10,"messages":[{"role":"system","content":[{"type":"text","text":"You are a helpful assistant."}]},{"role":"user","content":"What is the population of City_7?"}]}`, prompt + 10},
		{"one input", `{"model":"text-embedding-3-small","input":"hello world"}`, 2},
		{"inputs", `{"model":"text-embedding-3-small","input":["hello world","hello"]}`, 3},
		{"token arrays", `{"model":"text-embedding-3-small","input":[[1,2,3]]}`, 3},
		{"not json", `{"model":`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, chat(tc.body))
		})
	}

	// A body that cannot be read again is not consumed.
	req, err := http.NewRequest(http.MethodPost, "http://x/v1/embeddings", io.NopCloser(bytes.NewReader([]byte(`{"input":"x"}`))))
	require.NoError(t, err)
	assert.Equal(t, requestBody{}, peekBody(req))
	b, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	assert.Equal(t, `{"input":"x"}`, string(b))
}

func TestHeaderRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{"milliseconds first", http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"1"}}, 250 * time.Millisecond, true},
		{"seconds", http.Header{"Retry-After": {"2"}}, 2 * time.Second, true},
		{"fractional seconds", http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond, true},
		{"huge is capped", http.Header{"Retry-After": {"1e300"}}, maxPause, true},
		{"past date", http.Header{"Retry-After": {"Mon, 02 Jan 2006 15:04:05 GMT"}}, 0, true},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0, false},
		{"negative", http.Header{"Retry-After-Ms": {"-5"}}, 0, false},
		{"none", http.Header{}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := headerRetryAfter(tc.header)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, d)
		})
	}
}
