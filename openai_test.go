package ragvsft

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testKey = "sk-test-0123456789abcdefSECRET"

func TestOpenAIConfigFromEnv(t *testing.T) {
	t.Setenv("AZURE_OPENAI_ENDPOINT", "") // Azure's would win
	t.Setenv("OPENAI_API_KEY", " "+testKey+"\n")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:8089/v1")
	t.Setenv("OPENAI_ORG_ID", "org-1")
	t.Setenv("OPENAI_PROJECT_ID", "proj-1")
	cfg := OpenAIConfigFromEnv()
	assert.Equal(t, OpenAIConfig{APIKey: testKey, BaseURL: "http://127.0.0.1:8089/v1", Organization: "org-1", Project: "proj-1"}, cfg)

	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	assert.Equal(t, OpenAIConfig{Organization: "org-1", Project: "proj-1"}, OpenAIConfigFromEnv())
}

func TestOpenAIConfigClient(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  OpenAIConfig
		want string
	}{
		{"no key", OpenAIConfig{}, ErrNoAPIKey.Error()},
		{"blank key", OpenAIConfig{APIKey: "  "}, ErrNoAPIKey.Error()},
		{"not http", OpenAIConfig{APIKey: testKey, BaseURL: "ftp://example.com/v1"}, `ragvsft: OpenAI base URL "ftp://example.com/v1" is not an http(s) URL`},
		{"no host", OpenAIConfig{APIKey: testKey, BaseURL: "localhost:8089"}, "is not an http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.client()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), testKey)
		})
	}
	t.Run("constructors report the configuration error", func(t *testing.T) {
		_, err := NewOpenAIModel(OpenAIConfig{}, "gpt-3.5-turbo")
		assert.ErrorIs(t, err, ErrNoAPIKey)
		_, err = NewOpenAIModel(OpenAIConfig{APIKey: testKey}, "")
		assert.Error(t, err)
		_, err = NewOpenAIEmbedder(OpenAIConfig{}, "")
		assert.ErrorIs(t, err, ErrNoAPIKey)
		_, err = NewOpenAIEmbeddingFunc(OpenAIConfig{}, "")(context.Background(), "x")
		assert.ErrorIs(t, err, ErrNoAPIKey)
		day := func() time.Time { return time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) }
		_, err = (&OpenAIFineTuner{Config: OpenAIConfig{Now: day}}).FineTune(context.Background(), FineTuneRequest{BaseModel: DefaultBaseModel, Training: cityExamples(10)})
		assert.ErrorIs(t, err, ErrNoAPIKey)
	})
	t.Run("retries", func(t *testing.T) {
		assert.Equal(t, 2, OpenAIConfig{}.retries())
		assert.Equal(t, 0, OpenAIConfig{MaxRetries: -1}.retries())
		assert.Equal(t, 5, OpenAIConfig{MaxRetries: 5}.retries())
	})
}

// apiError builds the error openai-go returns for an HTTP error status.
func apiError(status int, code, message string, header http.Header) error {
	if header == nil {
		header = http.Header{}
	}
	return &openai.Error{StatusCode: status, Code: code, Message: message, Response: &http.Response{StatusCode: status, Header: header}}
}

func TestWrapOpenAIErrors(t *testing.T) {
	c := &openAIClient{cfg: OpenAIConfig{APIKey: testKey}}
	for _, tc := range []struct {
		name     string
		err      error
		wants    []string
		sentinel error
	}{
		{"401 never shows the key", apiError(401, "invalid_api_key", "Incorrect API key provided: "+testKey+". You can find your API key at ...", nil),
			[]string{"ragvsft: OpenAI rejected the API key (401): check OPENAI_API_KEY or OpenAIConfig.APIKey (invalid_api_key, while listing jobs)"}, ErrOpenAIAuth},
		{"401 masked key", apiError(401, "", "Incorrect API key provided: sk-test***CRET.", nil),
			[]string{"ragvsft: OpenAI rejected the API key"}, ErrOpenAIAuth},
		{"500 keeps message", apiError(500, "server_error", "The server had an error", nil),
			[]string{"ragvsft: listing jobs: OpenAI API error 500 Internal Server Error (server_error): The server had an error"}, nil},
		{"400 with param", &openai.Error{StatusCode: 400, Code: "invalid_value", Message: "bad model", Param: "model"},
			[]string{"OpenAI API error 400 Bad Request (invalid_value): bad model [param model]"}, nil},
		{"key echoed in message", apiError(400, "", "key "+testKey+" and sk-otherkey123 are bad", nil),
			[]string{"key [redacted] and [redacted] are bad"}, nil},
		{"transport", fmt.Errorf("dial tcp: connection refused"), []string{"ragvsft: listing jobs: dial tcp: connection refused"}, nil},
		{"context", context.Canceled, []string{"listing jobs"}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.wrap("listing jobs", tc.err)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), testKey)
			assert.NotContains(t, err.Error(), "CRET")
			assert.True(t, strings.HasPrefix(err.Error(), "ragvsft: "), err.Error())
			for _, w := range tc.wants {
				assert.Contains(t, err.Error(), w)
			}
			if tc.sentinel != nil {
				assert.ErrorIs(t, err, tc.sentinel)
			}
			if statusOf(tc.err) != 0 {
				var apiErr *openai.Error
				assert.ErrorAs(t, err, &apiErr, "openai-go's error stays reachable")
			}
		})
	}
	assert.NoError(t, c.wrap("x", nil))
}

func TestTransientAndRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{apiError(429, "", "", nil), true},
		{apiError(500, "", "", nil), true},
		{apiError(503, "", "", nil), true},
		{apiError(408, "", "", nil), true},
		{apiError(400, "", "", nil), false},
		{apiError(401, "", "", nil), false},
		{apiError(404, "", "", nil), false},
		{errors.New("connection reset"), true},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{nil, false},
	} {
		assert.Equal(t, tc.want, transient(tc.err), "%v", tc.err)
	}

	for _, tc := range []struct {
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{http.Header{"Retry-After": {"2"}}, 2 * time.Second, true},
		{http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond, true},
		{http.Header{"Retry-After-Ms": {"150"}, "Retry-After": {"9"}}, 150 * time.Millisecond, true},
		{http.Header{"Retry-After": {"soon"}}, 0, false},
		{http.Header{}, 0, false},
	} {
		d, ok := retryAfter(apiError(429, "", "", tc.header))
		assert.Equal(t, tc.ok, ok, "%v", tc.header)
		assert.Equal(t, tc.want, d, "%v", tc.header)
	}
	date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	d, ok := retryAfter(apiError(429, "", "", http.Header{"Retry-After": {date}}))
	assert.True(t, ok)
	assert.InDelta(t, float64(time.Hour), float64(d), float64(2*time.Second))
	_, ok = retryAfter(errors.New("plain"))
	assert.False(t, ok)
}

func TestSleepStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	assert.ErrorIs(t, sleep(ctx, time.Hour), context.Canceled)
	assert.Less(t, time.Since(start), time.Second)
	assert.NoError(t, sleep(context.Background(), time.Millisecond))
}

func TestNormalized(t *testing.T) {
	v, err := normalized([]float64{3, 4})
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float32{0.6, 0.8}, v, 1e-7)
	for _, bad := range [][]float64{nil, {0, 0}} {
		_, err := normalized(bad)
		assert.ErrorIs(t, err, errZeroVector)
	}
}
