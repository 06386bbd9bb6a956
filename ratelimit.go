package ragvsft

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are a model's rate limits, as providers state them. A zero field
// means no limit of that kind.
type Limits struct {
	// RequestsPerMinute caps the requests sent, retries included.
	RequestsPerMinute int
	// TokensPerMinute caps the tokens requested: each request is charged
	// an estimate made before it is sent, the prompt's tokens counted
	// offline plus its max tokens, which is how OpenAI charges a request
	// against its limit.
	TokensPerMinute int
}

// RateLimiter paces the requests to one model so that all the workers of an
// Experiment, together, stay within the model's Limits, and makes all of
// them wait when the provider says to (a 429 with Retry-After).
//
// Most callers never touch a RateLimiter: they set
// OpenAIConfig.RateLimits, or wrap a Model with LimitModel. Share one
// RateLimiter among everything that counts against the same limit.
//
// Limits are metered by the second, as OpenAI enforces its per-minute
// limits over shorter periods too: the pace is steady, one request every
// 60/RequestsPerMinute seconds, and a request estimated at more tokens than
// a second's worth (TokensPerMinute/60) waits as many seconds as it needs.
// Time lost while every worker was waiting (a pause) or idle is made up
// afterwards by up to a second's worth at once, never more: in any span of
// T seconds at most T+1 seconds' worth are booked (requests held back by a
// pause go together when it ends). A request estimated at more than a
// minute's worth of tokens is charged a minute's worth.
//
// Wait is what callers use, and PauseUntil what a 429's Retry-After asks
// for. The zero value has no limits but honours pauses; a nil *RateLimiter
// never waits. A RateLimiter is safe for concurrent use.
type RateLimiter struct {
	limits   Limits
	requests *rate.Limiter // nil: no limit
	tokens   *rate.Limiter // nil: no limit

	mu          sync.Mutex
	pausedUntil time.Time
	started     bool // the buckets were emptied by the first reservation
}

// NewRateLimiter returns a RateLimiter for l. Negative limits are treated
// as zero (no limit).
func NewRateLimiter(l Limits) *RateLimiter {
	l.RequestsPerMinute = max(l.RequestsPerMinute, 0)
	l.TokensPerMinute = max(l.TokensPerMinute, 0)
	r := &RateLimiter{limits: l}
	if n := l.RequestsPerMinute; n > 0 {
		r.requests = rate.NewLimiter(rate.Limit(float64(n)/60), perSecond(n))
	}
	if n := l.TokensPerMinute; n > 0 {
		r.tokens = rate.NewLimiter(rate.Limit(float64(n)/60), perSecond(n))
	}
	return r
}

// perSecond is a second's worth of a per-minute limit, rounded up.
func perSecond(perMinute int) int { return max(1, int(math.Ceil(float64(perMinute)/60))) }

// Limits returns the limits r enforces.
func (r *RateLimiter) Limits() Limits {
	if r == nil {
		return Limits{}
	}
	return r.limits
}

// reservation is a request booked with a RateLimiter: it may be sent once
// its delay has passed.
type reservation struct {
	r     *RateLimiter
	parts []*rate.Reservation
}

// reserveAt books a request of tokens estimated tokens at time t (tokens is
// ignored when there is no token limit). The caller must wait
// delayFrom(t) before sending it, or cancelAt to give the booking back.
// Taking the time as an argument lets the tests use a fake clock.
func (r *RateLimiter) reserveAt(t time.Time, tokens int) *reservation {
	res := &reservation{r: r}
	if r == nil {
		return res
	}
	if r.requests != nil {
		res.parts = append(res.parts, r.requests.ReserveN(t, 1))
	}
	if r.tokens != nil {
		// A request bigger than the burst is booked in burst-sized parts,
		// one after the other: it goes when the last part is due.
		tokens = min(tokens, r.limits.TokensPerMinute)
		for b := r.tokens.Burst(); tokens > 0; tokens -= b {
			res.parts = append(res.parts, r.tokens.ReserveN(t, min(tokens, b)))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		// The buckets start full; the first request may go at once, but
		// the rest of the first second's worth may not follow it.
		r.started = true
		for _, l := range []*rate.Limiter{r.requests, r.tokens} {
			if l != nil {
				if n := int(l.TokensAt(t)); n > 0 {
					l.ReserveN(t, n)
				}
			}
		}
	}
	return res
}

// delayFrom returns how long after t the request may be sent: when its
// booking is due and any pause is over. A pause set after the reservation
// was made counts too, so a waiter checks again when its delay is up.
func (res *reservation) delayFrom(t time.Time) time.Duration {
	var d time.Duration
	for _, p := range res.parts {
		d = max(d, p.DelayFrom(t))
	}
	if res.r != nil {
		d = max(d, res.r.pauseFrom(t))
	}
	return d
}

// cancelAt gives the booking back, as far as the time already passed
// allows, so that other requests may use it.
func (res *reservation) cancelAt(t time.Time) {
	for _, p := range res.parts {
		p.CancelAt(t)
	}
}

// PauseUntil makes every request wait until t, as a 429's Retry-After asks.
// An earlier t than a pause already set changes nothing.
func (r *RateLimiter) PauseUntil(t time.Time) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.After(r.pausedUntil) {
		r.pausedUntil = t
	}
}

// PausedUntil returns the end of the current or last pause, or the zero
// time if there was none.
func (r *RateLimiter) PausedUntil() time.Time {
	if r == nil {
		return time.Time{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pausedUntil
}

func (r *RateLimiter) pauseFrom(t time.Time) time.Duration {
	return max(r.PausedUntil().Sub(t), 0)
}

// Wait blocks until a request of tokens estimated tokens may be sent, or ctx
// is done; then it returns ctx's error and gives the booking back.
func (r *RateLimiter) Wait(ctx context.Context, tokens int) error {
	if r == nil {
		return ctx.Err()
	}
	res := r.reserveAt(time.Now(), tokens)
	for {
		now := time.Now()
		d := res.delayFrom(now)
		if d <= 0 {
			return ctx.Err()
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			res.cancelAt(time.Now())
			return ctx.Err()
		case <-t.C:
		}
	}
}

// LimitModel returns m with every Chat first waiting its turn at r: one
// limiter per limit, shared by every model that counts against it
// (NewRateLimiter(l).LimitModel(m) for a model of its own). The
// tokens of a request are estimated as its messages' tokens in
// cl100k_base (see CountMessageTokens) plus its MaxTokens.
//
// A failed Chat returns m's error unchanged; if the error says how long to
// wait (OpenAI's Retry-After, or any error in its chain with a method
// RetryAfter() time.Duration), all calls through r wait that long. The
// wrapper does not retry: m's own retries, if any, do not pass r, which is
// why OpenAIModel is limited with OpenAIConfig.RateLimits instead.
func (r *RateLimiter) LimitModel(m Model) Model { return &limitedModel{r: r, m: m} }

type limitedModel struct {
	r *RateLimiter
	m Model
}

// Name returns the wrapped model's name, if it has one.
func (m *limitedModel) Name() string {
	if n, ok := m.m.(interface{ Name() string }); ok {
		return n.Name()
	}
	return ""
}

func (m *limitedModel) Chat(ctx context.Context, req ChatRequest) (ChatResponse, error) {
	tokens := 0
	if m.r.Limits().TokensPerMinute > 0 {
		tokens = estimateChatTokens("", req.Messages, req.MaxTokens)
	}
	if err := m.r.Wait(ctx, tokens); err != nil {
		return ChatResponse{}, fmt.Errorf("ragvsft: waiting for the rate limit: %w", err)
	}
	resp, err := m.m.Chat(ctx, req)
	if err != nil {
		if d, ok := errRetryAfter(err); ok {
			m.r.PauseUntil(time.Now().Add(min(d, maxPause)))
		}
		return resp, err
	}
	return resp, nil
}

// errRetryAfter finds how long err asks to wait.
func errRetryAfter(err error) (time.Duration, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter(), true
	}
	return retryAfter(err)
}

// estimateChatTokens is what a chat request is charged against a token
// limit: its prompt's tokens plus the completion it may produce. Where the
// tokenizer fails, four bytes count as a token.
func estimateChatTokens(model string, msgs []Message, maxTokens int) int {
	n, err := CountMessageTokens(model, msgs)
	if err != nil {
		n = 0
		for _, m := range msgs {
			n += (len(m.Role)+len(m.Content)+len(m.Name))/4 + tokensPerMessage
		}
	}
	return n + max(maxTokens, 0)
}
