package ragvsft_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

func TestRateLimiterWaitCancelled(t *testing.T) {
	r := ragvsft.NewRateLimiter(ragvsft.Limits{RequestsPerMinute: 1})
	require.NoError(t, r.Wait(context.Background(), 0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, r.Wait(ctx, 0), context.Canceled, "the next slot is a minute away")
}

// arrival is a request as the server saw it.
type arrival struct {
	at     time.Time
	done   time.Time
	status int
}

// timedServer is the wire-format server behind a handler that records when
// each chat completion arrived and how it was answered.
type timedServer struct {
	*ragvsfttest.OpenAIServer
	mu       sync.Mutex
	arrivals []arrival
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets the server's fault injection hijack the connection.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newTimedServer(t *testing.T, cfg ragvsfttest.ServerConfig) *timedServer {
	t.Helper()
	s, stop := startTimedServer(cfg)
	t.Cleanup(stop)
	return s
}

// startTimedServer starts a timedServer; stop shuts it down.
func startTimedServer(cfg ragvsfttest.ServerConfig) (s *timedServer, stop func()) {
	if cfg.Now == nil {
		cfg.Now = onWireDay
	}
	s = &timedServer{OpenAIServer: ragvsfttest.NewOpenAIHandler(cfg)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			s.OpenAIServer.ServeHTTP(w, r)
			return
		}
		a := arrival{at: time.Now()}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.OpenAIServer.ServeHTTP(rec, r)
		a.done, a.status = time.Now(), rec.status
		s.mu.Lock()
		defer s.mu.Unlock()
		s.arrivals = append(s.arrivals, a)
	}))
	s.URL = hs.URL + "/v1"
	return s, func() {
		hs.Close()
		s.Close()
	}
}

// reset forgets the arrivals so far.
func (s *timedServer) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.arrivals = nil
}

func (s *timedServer) log() []arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]arrival(nil), s.arrivals...)
}

// TestRateLimitsPauseTheWholePool: one 429 with Retry-After 2s, and no
// worker sends anything until the 2 s are over.
func TestRateLimitsPauseTheWholePool(t *testing.T) {
	s := newTimedServer(t, ragvsfttest.ServerConfig{Faults: ragvsfttest.Faults{Latency: 20 * time.Millisecond}})
	s.InjectFault("chat/completions", 1, ragvsfttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
	cfg := ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: s.URL, Now: onWireDay, RateLimits: map[string]*ragvsft.RateLimiter{
		"gpt-4.1-mini-2025-04-14": ragvsft.NewRateLimiter(ragvsft.Limits{RequestsPerMinute: 60000}),
	}}
	m, err := ragvsft.NewOpenAIModel(cfg, "gpt-4.1-mini-2025-04-14")
	require.NoError(t, err)

	const workers, each = 4, 4
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				_, err := m.Chat(context.Background(), citiesPrompt)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()

	log := s.log()
	require.Len(t, log, workers*each+1, "every question answered, the 429 retried once")
	var limited arrival
	for _, a := range log {
		if a.status == http.StatusTooManyRequests {
			limited = a
		}
	}
	require.False(t, limited.done.IsZero(), "the 429 was served")
	// Requests already on their way when the 429 left the server are fine;
	// anything sent after the client saw it must wait out the 2 s. "On
	// their way" allows for a loaded 2-core machine's scheduling (15 ms
	// was seen to be exceeded by 22 ms at load 16); it stays a twentieth of
	// the pause, so a pool that ignored the 429 still fails.
	const onTheirWay = 100 * time.Millisecond
	late := 0
	for _, a := range log {
		if a.at.After(limited.done.Add(onTheirWay)) {
			late++
			assert.False(t, a.at.Before(limited.done.Add(2*time.Second)),
				"a request arrived %v after the 429, before its Retry-After", a.at.Sub(limited.done))
		}
	}
	assert.GreaterOrEqual(t, late, workers*each/2, "most requests came after the pause")
}

// TestRateLimitsPaceEveryAttempt: the requests-per-minute limit holds at
// the server, for all workers together.
func TestRateLimitsPaceEveryAttempt(t *testing.T) {
	s := newTimedServer(t, ragvsfttest.ServerConfig{})
	s.InjectFault("chat/completions", 2, ragvsfttest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Millisecond})
	cfg := ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: s.URL, Now: onWireDay, RateLimits: map[string]*ragvsft.RateLimiter{
		"": ragvsft.NewRateLimiter(ragvsft.Limits{RequestsPerMinute: 1200}), // 20 a second
	}}
	m, err := ragvsft.NewOpenAIModel(cfg, "gpt-4o-mini")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 3 {
				_, err := m.Chat(context.Background(), citiesPrompt)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	log := s.log()
	require.Len(t, log, 26, "24 questions and 2 retries")
	first, last := log[0].at, log[0].at
	for _, a := range log {
		if a.at.Before(first) {
			first = a.at
		}
		if a.at.After(last) {
			last = a.at
		}
	}
	// One every 50 ms: the 26th 1.25 s after the first (less the first
	// connection's setup, which can delay the first arrival).
	assert.GreaterOrEqual(t, last.Sub(first), 1150*time.Millisecond)
}

func TestLimitedModelPropagatesErrors(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	cfg := wireConfig(s)
	cfg.MaxRetries = -1
	wire, err := ragvsft.NewOpenAIModel(cfg, "gpt-4.1-mini-2025-04-14")
	require.NoError(t, err)
	r := ragvsft.NewRateLimiter(ragvsft.Limits{RequestsPerMinute: 600, TokensPerMinute: 1_000_000})
	m := r.LimitModel(wire)
	ctx := context.Background()

	s.InjectFault("chat/completions", 1, ragvsfttest.Fault{Status: http.StatusInternalServerError})
	res, err := m.Chat(ctx, citiesPrompt)
	require.ErrorContains(t, err, "ragvsft: chat completion with gpt-4.1-mini-2025-04-14: OpenAI API error 500")
	assert.Empty(t, res.Content, "an error, not an empty answer")

	before := time.Now()
	s.InjectFault("chat/completions", 1, ragvsfttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	_, err = m.Chat(ctx, citiesPrompt)
	require.ErrorContains(t, err, "429")
	assert.False(t, r.PausedUntil().Before(before.Add(1500*time.Millisecond)), "the 429's Retry-After pauses the limiter")

	// A call that cannot get its turn before ctx ends fails, sends nothing.
	requests := s.Stats().Requests[chatRoute]
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = m.Chat(short, citiesPrompt)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "ragvsft: waiting for the rate limit")
	assert.Equal(t, requests, s.Stats().Requests[chatRoute])

	// Through an Experiment, every failing item is recorded as an error.
	exp := &ragvsft.Experiment{
		Dataset: citiesData(t, 10),
		Base:    ragvsft.NewRateLimiter(ragvsft.Limits{RequestsPerMinute: 60000}).LimitModel(wire),
		Arms:    []ragvsft.Arm{ragvsft.ArmBase},
	}
	s.SetFaults(ragvsfttest.Faults{Rate: 1, RateFault: ragvsfttest.Fault{Status: http.StatusBadGateway}})
	rep, err := exp.Run(ctx)
	require.NoError(t, err)
	require.Len(t, rep.Results, 10)
	for _, res := range rep.Results {
		assert.Contains(t, res.Error, "502", "question %s", res.QuestionID)
		assert.Empty(t, res.Answer)
	}
	arm, _ := rep.Arm(ragvsft.ArmBase)
	assert.Equal(t, 10, arm.Errors)
}
