package stats

import (
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWilson(t *testing.T) {
	tests := []struct {
		s, n           int
		z              float64
		wantLo, wantHi float64
	}{
		{95, 100, Z95, 0.8882, 0.9785},
		{50, 100, Z95, 0.4038, 0.5962},
		{0, 100, Z95, 0, 0.0370},
		{100, 100, Z95, 0.9630, 1},
		{0, 10, Z95, 0, 0.2775},
		{1, 1, Z95, 0.2065, 1},
		{8, 10, 2.5758293035489004, 0.4008, 0.9599}, // 99%, computed by hand
		{0, 0, Z95, 0, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d z=%.2f", tt.s, tt.n, tt.z), func(t *testing.T) {
			lo, hi := Wilson(tt.s, tt.n, tt.z)
			assert.InDelta(t, tt.wantLo, lo, 5e-5)
			assert.InDelta(t, tt.wantHi, hi, 5e-5)
		})
	}
	t.Run("bounds hold and contain the estimate", func(t *testing.T) {
		for n := 1; n <= 200; n++ {
			for s := 0; s <= n; s++ {
				lo, hi := Wilson(s, n, Z95)
				p := float64(s) / float64(n)
				require.True(t, 0 <= lo && lo <= p && p <= hi && hi <= 1, "%d/%d: [%v, %v]", s, n, lo, hi)
			}
		}
	})
	t.Run("invalid input", func(t *testing.T) {
		for _, c := range []struct {
			s, n int
			z    float64
		}{{-1, 10, Z95}, {11, 10, Z95}, {0, -1, Z95}, {5, 10, 0}, {5, 10, -1}, {5, 10, math.NaN()}, {5, 10, math.Inf(1)}} {
			lo, hi := Wilson(c.s, c.n, c.z)
			assert.True(t, math.IsNaN(lo) && math.IsNaN(hi), "%+v", c)
		}
	})
}

// exactMcNemar is the test oracle: 2·sum_{i<=min} C(n,i) / 2^n in exact
// rational arithmetic, capped at 1.
func exactMcNemar(b, c int) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	sum := new(big.Int)
	term := big.NewInt(1) // C(n, 0)
	for i := 0; i <= min(b, c); i++ {
		sum.Add(sum, term)
		term.Mul(term, big.NewInt(int64(n-i)))
		term.Quo(term, big.NewInt(int64(i+1)))
	}
	p := new(big.Rat).SetFrac(new(big.Int).Lsh(sum, 1), new(big.Int).Lsh(big.NewInt(1), uint(n)))
	if p.Cmp(big.NewRat(1, 1)) > 0 {
		return 1
	}
	f, _ := p.Float64()
	return f
}

func TestMcNemarExact(t *testing.T) {
	tests := []struct {
		b, c int
		want float64
	}{
		{0, 10, 0.001953125},
		{10, 0, 0.001953125},
		{1, 5, 0.21875},
		{5, 5, 1},
		{0, 0, 1},
		{0, 1, 1},
		{0, 95, 2 * math.Pow(0.5, 95)}, // the article: fine-tuned 0, rag 95 discordant
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("b=%d c=%d", tt.b, tt.c), func(t *testing.T) {
			assert.InEpsilon(t, tt.want, McNemarExact(tt.b, tt.c), 1e-12)
		})
	}
	t.Run("matches exact arithmetic", func(t *testing.T) {
		for _, bc := range [][2]int{{3, 17}, {20, 35}, {48, 52}, {100, 160}, {400, 480}, {2400, 2600}, {1000, 1180}} {
			want := exactMcNemar(bc[0], bc[1])
			assert.InEpsilon(t, want, McNemarExact(bc[0], bc[1]), 1e-9, "b=%d c=%d", bc[0], bc[1])
		}
		for n := 1; n <= 60; n++ {
			for b := 0; b <= n; b++ {
				want := exactMcNemar(b, n-b)
				require.InEpsilon(t, want, McNemarExact(b, n-b), 1e-10, "b=%d c=%d", b, n-b)
			}
		}
	})
	t.Run("negative count", func(t *testing.T) {
		assert.True(t, math.IsNaN(McNemarExact(-1, 3)))
	})
}

func TestDiscordant(t *testing.T) {
	a := []bool{true, true, false, false, true}
	b := []bool{true, false, true, false, false}
	onlyA, onlyB, err := Discordant(a, b)
	require.NoError(t, err)
	assert.Equal(t, 2, onlyA)
	assert.Equal(t, 1, onlyB)
	_, _, err = Discordant(a, b[:2])
	require.Error(t, err)
}

func TestHitAtKAndMRR(t *testing.T) {
	ranks := []int{0, 1, 4, 5, -1}
	assert.InDelta(t, 0.2, HitAtK(ranks, 1), 1e-12)
	assert.InDelta(t, 0.6, HitAtK(ranks, 5), 1e-12)
	assert.InDelta(t, 0.8, HitAtK(ranks, 6), 1e-12)
	assert.Zero(t, HitAtK(ranks, 0))
	assert.Zero(t, HitAtK(nil, 5))
	assert.InDelta(t, (1+0.5+0.2+1.0/6)/5, MRR(ranks), 1e-12)
	assert.Equal(t, 1.0, MRR([]int{0, 0}))
	assert.Zero(t, MRR(nil))
	assert.Zero(t, MRR([]int{-1}))
}

func TestCohenKappa(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name                      string
		bothYes, onlyA, onlyB, no int
		kappa, observed, expected float64
	}{
		// po = 35/50, pA = 25/50, pB = 30/50, pe = .5·.6 + .5·.4 = .5.
		{"moderate", 20, 5, 10, 15, 0.4, 0.7, 0.5},
		// po = .6, pA = .6, pB = .7, pe = .42 + .12 = .54, (.06)/(.46).
		{"slight", 45, 15, 25, 15, 0.06 / 0.46, 0.6, 0.54},
		{"perfect on both classes", 10, 0, 0, 10, 1, 1, 0.5},
		{"opposite on every item", 0, 10, 10, 0, -1, 0, 0.5},
		{"chance", 25, 25, 25, 25, 0, 0.5, 0.5},
		// The paradox: 90% agreement, but A calls everything correct, so
		// pe = 1·.9 = .9 and kappa is 0.
		{"one rater says yes to all", 9, 1, 0, 0, 0, 0.9, 0.9},
		{"all correct by both: undefined", 10, 0, 0, 0, nan, 1, 1},
		{"all wrong by both: undefined", 0, 0, 0, 7, nan, 1, 1},
		{"no items", 0, 0, 0, 0, nan, nan, nan},
		{"negative count", 3, -1, 0, 2, nan, nan, nan},
	}
	same := func(t *testing.T, want, got float64, what string) {
		t.Helper()
		if math.IsNaN(want) {
			assert.True(t, math.IsNaN(got), "%s: got %v, want NaN", what, got)
			return
		}
		assert.InDelta(t, want, got, 1e-12, what)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, po, pe := CohenKappa(tt.bothYes, tt.onlyA, tt.onlyB, tt.no)
			same(t, tt.kappa, k, "kappa")
			same(t, tt.observed, po, "observed")
			same(t, tt.expected, pe, "expected")
		})
	}
	t.Run("symmetric in the raters", func(t *testing.T) {
		a, _, _ := CohenKappa(20, 5, 10, 15)
		b, _, _ := CohenKappa(20, 10, 5, 15)
		assert.InDelta(t, a, b, 1e-12)
	})
}

func TestSpread(t *testing.T) {
	for _, tc := range []struct {
		name               string
		xs                 []float64
		mean, sd, min, max float64
	}{
		{"one", []float64{0.4}, 0.4, 0, 0.4, 0.4},
		{"two", []float64{0.2, 0.6}, 0.4, math.Sqrt(0.08), 0.2, 0.6},
		// 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squares sum to 32, 32/7.
		{"textbook", []float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7), 2, 9},
		{"equal", []float64{0.5, 0.5, 0.5}, 0.5, 0, 0.5, 0.5},
		{"order free", []float64{9, 7, 5, 5, 4, 4, 4, 2}, 5, math.Sqrt(32.0 / 7), 2, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mean, sd, lo, hi := Spread(tc.xs)
			assert.InDelta(t, tc.mean, mean, 1e-12)
			assert.InDelta(t, tc.sd, sd, 1e-12)
			assert.Equal(t, tc.min, lo)
			assert.Equal(t, tc.max, hi)
		})
	}
	t.Run("none", func(t *testing.T) {
		mean, sd, lo, hi := Spread(nil)
		for _, v := range []float64{mean, sd, lo, hi} {
			assert.True(t, math.IsNaN(v))
		}
	})
}
