package ragvsft

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rate limiter's clock is an argument of reserveAt and delayFrom, so
// these tests drive it with a fake one.

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestRateLimiterRequestsWithAFakeClock(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		n      int // requests reserved at t0
		delays []time.Duration
	}{
		{"60 rpm: one a second", Limits{RequestsPerMinute: 60}, 3, []time.Duration{0, time.Second, 2 * time.Second}},
		{"120 rpm: every half second", Limits{RequestsPerMinute: 120}, 4,
			[]time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}},
		{"30 rpm: every two seconds", Limits{RequestsPerMinute: 30}, 2, []time.Duration{0, 2 * time.Second}},
		{"no limit", Limits{}, 3, []time.Duration{0, 0, 0}},
		{"negative is no limit", Limits{RequestsPerMinute: -5}, 2, []time.Duration{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRateLimiter(tc.limits)
			var got []time.Duration
			for range tc.n {
				got = append(got, r.reserveAt(t0, 1).delayFrom(t0))
			}
			assert.Equal(t, tc.delays, got)
		})
	}
}

func TestRateLimiterHoldsAMinuteToTheLimit(t *testing.T) {
	const rpm = 600
	r := NewRateLimiter(Limits{RequestsPerMinute: rpm})
	inFirstMinute := 0
	for range 2 * rpm {
		if r.reserveAt(t0, 1).delayFrom(t0) < time.Minute {
			inFirstMinute++
		}
	}
	// One every 100 ms, the last within the minute at 59.9 s.
	assert.Equal(t, rpm, inFirstMinute)
}

func TestRateLimiterTokens(t *testing.T) {
	r := NewRateLimiter(Limits{TokensPerMinute: 600}) // 10 a second
	assert.Equal(t, time.Duration(0), r.reserveAt(t0, 10).delayFrom(t0), "a second's worth at once")
	assert.Equal(t, time.Second, r.reserveAt(t0, 10).delayFrom(t0))
	big := r.reserveAt(t0, 25)
	assert.Equal(t, 3500*time.Millisecond, big.delayFrom(t0), "bigger than the burst: booked in parts, 10 at 2s, 10 at 3s, 5 at 3.5s")
	assert.Equal(t, 500*time.Millisecond, big.delayFrom(t0.Add(3*time.Second)))

	// Giving a booking back frees its tokens for the next request.
	r = NewRateLimiter(Limits{TokensPerMinute: 600})
	r.reserveAt(t0, 10)
	second := r.reserveAt(t0, 10)
	second.cancelAt(t0)
	assert.Equal(t, time.Second, r.reserveAt(t0, 10).delayFrom(t0))

	both := NewRateLimiter(Limits{RequestsPerMinute: 6000, TokensPerMinute: 600})
	assert.Equal(t, time.Duration(0), both.reserveAt(t0, 5).delayFrom(t0), "the first request goes at once")
	assert.Equal(t, 500*time.Millisecond, both.reserveAt(t0, 5).delayFrom(t0), "the token limit binds: 10 a second from the start")
	assert.Equal(t, 20*time.Millisecond, both.reserveAt(t0, 0).delayFrom(t0), "a request without tokens: the request limit alone")
	assert.Equal(t, 1500*time.Millisecond, both.reserveAt(t0, 10).delayFrom(t0))

	// Time lost waiting is made up, a second's worth at most.
	idle := NewRateLimiter(Limits{RequestsPerMinute: 600})
	idle.reserveAt(t0, 0)
	later := t0.Add(time.Minute)
	var delays []time.Duration
	for range 12 {
		delays = append(delays, idle.reserveAt(later, 0).delayFrom(later))
	}
	assert.Equal(t, []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond}, delays)
}

func TestRateLimiterPause(t *testing.T) {
	r := NewRateLimiter(Limits{RequestsPerMinute: 60})
	first := r.reserveAt(t0, 1)
	r.PauseUntil(t0.Add(2 * time.Second))
	assert.Equal(t, 2*time.Second, first.delayFrom(t0), "a pause set after the booking holds it back too")
	assert.Equal(t, 2*time.Second, r.reserveAt(t0, 1).delayFrom(t0), "the next booking is due at 1s, the pause ends at 2s")
	assert.Equal(t, time.Second, r.reserveAt(t0, 1).delayFrom(t0.Add(time.Second)))

	r.PauseUntil(t0.Add(time.Second))
	assert.Equal(t, t0.Add(2*time.Second), r.PausedUntil(), "an earlier end does not shorten a pause")
	assert.Equal(t, time.Duration(0), first.delayFrom(t0.Add(3*time.Second)))

	var zero RateLimiter
	zero.PauseUntil(t0.Add(time.Second))
	assert.Equal(t, time.Second, zero.reserveAt(t0, 1000).delayFrom(t0), "the zero value has no limits but pauses")
	var none *RateLimiter
	assert.Equal(t, time.Duration(0), none.reserveAt(t0, 1000).delayFrom(t0))
	require.NoError(t, none.Wait(context.Background(), 1000))
}

func TestRateLimiterHugeRequestIsChargedAMinute(t *testing.T) {
	r := NewRateLimiter(Limits{TokensPerMinute: 600})
	r.reserveAt(t0, 10)
	assert.Equal(t, time.Minute, r.reserveAt(t0, 1<<40).delayFrom(t0))
}
