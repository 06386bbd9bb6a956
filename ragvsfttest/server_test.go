package ragvsfttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testKey = "sk-test-0123456789abcdef"

// newClient returns the real OpenAI client pointed at s, without retries
// unless opts add them.
func newClient(s *OpenAIServer, opts ...option.RequestOption) *openai.Client {
	base := []option.RequestOption{
		option.WithBaseURL(s.URL),
		option.WithAPIKey(testKey),
		option.WithMaxRetries(0),
		option.WithRequestTimeout(10 * time.Second),
	}
	c := openai.NewClient(append(base, opts...)...)
	return &c
}

func newServer(t *testing.T, cfg ServerConfig) *OpenAIServer {
	t.Helper()
	if cfg.JobStepDelay == 0 {
		cfg.JobStepDelay = 5 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = onToday // the catalog's shutdown dates must not change what a test tests
	}
	s := NewOpenAIServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// asAPIError asserts err is an OpenAI API error and returns it.
func asAPIError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var e *openai.Error
	require.ErrorAs(t, err, &e)
	return e
}

// trainingJSONL returns n chat examples, one per line.
func trainingJSONL(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"messages":[{"role":"user","content":"What is the population of Town%d?"},{"role":"assistant","content":"The population of Town%d is %d."}]}`+"\n", i, i, 1000+i)
	}
	return b.String()
}

// upload uploads a fine-tune file and waits until it is processed, as a
// client must before it creates a job on it.
func upload(t *testing.T, c *openai.Client, name, content string) *openai.FileObject {
	t.Helper()
	f, err := c.Files.New(context.Background(), openai.FileNewParams{
		File:    openai.File(strings.NewReader(content), name, "application/jsonl"),
		Purpose: openai.FilePurposeFineTune,
	})
	require.NoError(t, err)
	return waitFile(t, c, f.ID)
}

// waitFile polls a file until it is no longer "uploaded".
func waitFile(t *testing.T, c *openai.Client, id string) *openai.FileObject {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		f, err := c.Files.Get(context.Background(), id)
		require.NoError(t, err)
		if f.Status != openai.FileObjectStatusUploaded {
			return f
		}
		require.True(t, time.Now().Before(deadline), "file %s still uploaded", id)
		time.Sleep(2 * time.Millisecond)
	}
}

// waitJob polls a job until it reaches a terminal status.
func waitJob(t *testing.T, c *openai.Client, id string) *openai.FineTuningJob {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		j, err := c.FineTuning.Jobs.Get(context.Background(), id)
		require.NoError(t, err)
		switch j.Status {
		case openai.FineTuningJobStatusSucceeded, openai.FineTuningJobStatusFailed, openai.FineTuningJobStatusCancelled:
			return j
		}
		require.True(t, time.Now().Before(deadline), "job %s still %s", id, j.Status)
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFiles(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()

	f := upload(t, c, "train.jsonl", trainingJSONL(10))
	assert.True(t, strings.HasPrefix(f.ID, "file-"))
	assert.Equal(t, "train.jsonl", f.Filename)
	assert.Equal(t, int64(len(trainingJSONL(10))), f.Bytes)
	assert.Equal(t, openai.FileObjectPurposeFineTune, f.Purpose)
	assert.Equal(t, openai.FileObjectStatusProcessed, f.Status)

	got, err := c.Files.Get(ctx, f.ID)
	require.NoError(t, err)
	assert.Equal(t, f.ID, got.ID)

	resp, err := c.Files.Content(ctx, f.ID)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	assert.Equal(t, trainingJSONL(10), string(body))

	second := upload(t, c, "more.jsonl", trainingJSONL(11))
	page, err := c.Files.List(ctx, openai.FileListParams{})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	assert.Equal(t, second.ID, page.Data[0].ID, "newest first")
	assert.Equal(t, 2, s.Stats().FilesUploaded)

	_, err = c.Files.Get(ctx, "file-nope")
	assert.Equal(t, http.StatusNotFound, asAPIError(t, err).StatusCode)

	t.Run("not jsonl", func(t *testing.T) {
		_, err := c.Files.New(ctx, openai.FileNewParams{
			File:    openai.File(strings.NewReader("x"), "train.txt", "text/plain"),
			Purpose: openai.FilePurposeFineTune,
		})
		e := asAPIError(t, err)
		assert.Equal(t, http.StatusBadRequest, e.StatusCode)
		assert.Contains(t, e.Message, ".jsonl")
		assert.Equal(t, 2, s.Stats().FilesUploaded)
	})
}

func TestAuth(t *testing.T) {
	s := newServer(t, ServerConfig{APIKey: testKey})
	ctx := context.Background()

	_, err := newClient(s).Models.List(ctx)
	require.NoError(t, err, "the right key")

	const wrong = "sk-wrong-secret-key-987"
	_, err = newClient(s, option.WithAPIKey(wrong)).Models.List(ctx)
	e := asAPIError(t, err)
	assert.Equal(t, http.StatusUnauthorized, e.StatusCode)
	assert.Equal(t, "invalid_api_key", e.Code)
	assert.Contains(t, e.Message, "Incorrect API key")
	assert.NotContains(t, e.Message, wrong)
	assert.NotContains(t, e.RawJSON(), wrong)
	assert.NotContains(t, err.Error(), "987", "no part of the key")

	res, err := http.Get(s.URL + "/models")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Contains(t, string(body), `"type":"invalid_request_error"`)
	assert.Contains(t, string(body), "didn't provide an API key")
}

func TestUnknownRoute(t *testing.T) {
	s := newServer(t, ServerConfig{})
	req, err := http.NewRequest(http.MethodPost, s.URL+"/assistants", strings.NewReader("{}"))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.JSONEq(t, `{"error":{"message":"Unknown request URL: POST /v1/assistants.","type":"invalid_request_error","param":null,"code":"unknown_url"}}`, string(body))
}

func TestFaultsRetried(t *testing.T) {
	tests := []struct {
		name     string
		fault    Fault
		n        int
		minDelay time.Duration
	}{
		{"429 with retry-after", Fault{Status: http.StatusTooManyRequests, RetryAfter: 60 * time.Millisecond}, 2, 120 * time.Millisecond},
		{"500", Fault{}, 1, 0},
		{"503 with retry-after", Fault{Status: http.StatusServiceUnavailable, RetryAfter: 30 * time.Millisecond}, 1, 30 * time.Millisecond},
		{"dropped connection", Fault{Drop: true, RetryAfter: time.Hour}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, ServerConfig{})
			// Backoff without retry-after starts at 0.5s; keep the test fast.
			c := newClient(s, option.WithMaxRetries(tt.n), option.WithMaxRetryDelay(20*time.Millisecond))
			if tt.minDelay > 0 {
				c = newClient(s, option.WithMaxRetries(tt.n))
			}
			s.InjectFault("/v1/files", tt.n, tt.fault)
			start := time.Now()
			f := upload(t, c, "train.jsonl", trainingJSONL(10))
			elapsed := time.Since(start)
			assert.NotEmpty(t, f.ID)
			st := s.Stats()
			assert.Equal(t, tt.n+1, st.Requests["POST /v1/files"], "each retry reached the server")
			assert.Equal(t, 1, st.FilesUploaded, "one file stored")
			assert.Equal(t, tt.n, st.Faults)
			assert.GreaterOrEqual(t, elapsed, tt.minDelay, "retry-after honoured")
		})
	}
}

func TestFaultsSurface(t *testing.T) {
	tests := []struct {
		name   string
		fault  Fault
		status int
		code   string
		header string
	}{
		{"429 rate limit", Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, 429, "rate_limit_exceeded", "2"},
		{"429 quota", Fault{Status: 429, Code: "insufficient_quota"}, 429, "insufficient_quota", ""},
		{"500", Fault{}, 500, "server_error", ""},
		{"503", Fault{Status: 503}, 503, "server_error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, ServerConfig{})
			s.InjectFault("models", 1, tt.fault)
			_, err := newClient(s).Models.List(context.Background())
			e := asAPIError(t, err)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.header, e.Response.Header.Get("Retry-After"))
			_, err = newClient(s).Models.List(context.Background())
			assert.NoError(t, err, "the fault was used up")
		})
	}
	t.Run("dropped", func(t *testing.T) {
		s := newServer(t, ServerConfig{})
		s.InjectFault("", 1, Fault{Drop: true})
		_, err := newClient(s).Models.List(context.Background())
		require.Error(t, err)
		var e *openai.Error
		assert.False(t, errors.As(err, &e), "a transport error, not an API error: %v", err)
	})
	t.Run("other path untouched", func(t *testing.T) {
		s := newServer(t, ServerConfig{})
		s.InjectFault("files", 1, Fault{})
		_, err := newClient(s).Models.List(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 0, s.Stats().Faults)
	})
}

func TestFaultRateAndLatency(t *testing.T) {
	count := func(seed uint64) int {
		s := newServer(t, ServerConfig{Faults: Faults{Rate: 0.3, Seed: seed, RateFault: Fault{Status: 429}}})
		c := newClient(s)
		failed := 0
		for range 200 {
			if _, err := c.Models.List(context.Background()); err != nil {
				assert.Equal(t, 429, asAPIError(t, err).StatusCode)
				failed++
			}
		}
		assert.Equal(t, failed, s.Stats().Faults)
		return failed
	}
	a, b := count(7), count(7)
	assert.Equal(t, a, b, "same seed, same failures")
	assert.InDelta(t, 60, a, 25, "about 30%% of 200")

	s := newServer(t, ServerConfig{})
	s.SetFaults(Faults{Latency: 50 * time.Millisecond})
	start := time.Now()
	_, err := newClient(s).Models.List(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
}

func TestFaultAfterHandling(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s, option.WithMaxRetries(1), option.WithMaxRetryDelay(10*time.Millisecond))
	s.InjectFault("files", 1, Fault{Drop: true, AfterHandling: true})
	f := upload(t, c, "train.jsonl", trainingJSONL(10))
	st := s.Stats()
	assert.Equal(t, 2, st.FilesUploaded, "the lost response's upload was stored too")
	page, err := c.Files.List(context.Background(), openai.FileListParams{})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	assert.Equal(t, f.ID, page.Data[0].ID, "the client got the second")
}

func TestInjectFaultPaths(t *testing.T) {
	tests := []struct {
		pattern, path string
		match         bool
	}{
		{"", "/v1/models", true},
		{"models", "/v1/models", true},
		{"/v1/models", "/v1/models", true},
		{"/models/", "/v1/models", true},
		{"models", "/v1/models/gpt-4o", false},
		{"fine_tuning/jobs/*", "/v1/fine_tuning/jobs/ftjob-1", true},
		{"fine_tuning/jobs/*", "/v1/fine_tuning/jobs/ftjob-1/events", true},
		{"fine_tuning/jobs/*", "/v1/fine_tuning/jobs", false},
		{"files", "/v1/fine_tuning/jobs", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			assert.Equal(t, tt.match, matchPath(normalizePath(tt.pattern), normalizePath(tt.path)))
		})
	}
}
