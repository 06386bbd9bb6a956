// Package stats holds the few statistics an Experiment report needs:
// Wilson score intervals for accuracies, the exact McNemar test for two arms
// answering the same questions, and retrieval hit rate and mean reciprocal
// rank, and Cohen's kappa for the agreement of two raters. Everything is a
// pure function, safe for concurrent use.
package stats

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Z95 is the standard normal quantile for a two-sided 95% interval.
const Z95 = 1.959963984540054

// Wilson returns the Wilson score interval for successes out of n trials at
// the normal quantile z (Z95 for 95%). Unlike the textbook p ± z·se, it
// stays inside [0, 1] and is not empty at 0% or 100%: 0 of 100 gives
// [0, 0.037].
//
// n == 0 gives [0, 1]: with no trials every proportion is possible, and
// the bounds stay finite so a report encodes them as JSON. Impossible input
// (n < 0, successes outside [0, n], z not positive and finite) gives NaN,
// NaN.
func Wilson(successes, n int, z float64) (lo, hi float64) {
	if n < 0 || successes < 0 || successes > n || !(z > 0) || math.IsInf(z, 0) {
		return math.NaN(), math.NaN()
	}
	if n == 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(successes) / nf
	z2 := z * z
	denom := 1 + z2/nf
	center := (p + z2/(2*nf)) / denom
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / denom
	lo, hi = max(0, center-half), min(1, center+half)
	// Rounding must not move the interval off the observed extremes.
	if successes == 0 {
		lo = 0
	}
	if successes == n {
		hi = 1
	}
	return lo, hi
}

// McNemarExact returns the two-sided p-value of the exact McNemar test on
// the discordant pairs of two paired classifiers: b items only the first
// got right, c items only the second got right. Under the null hypothesis
// (both arms equally accurate) each discordant item is a fair coin, so the
// p-value is 2·P(X <= min(b, c)) for X ~ Binomial(b+c, 1/2), capped at 1.
// b+c == 0 gives 1 (no evidence either way); a negative count gives NaN.
//
// The binomial tail is gonum's distuv.Binomial CDF (a regularized
// incomplete beta function), accurate for b+c in the millions.
func McNemarExact(b, c int) float64 {
	if b < 0 || c < 0 {
		return math.NaN()
	}
	n := b + c
	if n == 0 {
		return 1
	}
	tail := distuv.Binomial{N: float64(n), P: 0.5}.CDF(float64(min(b, c)))
	return min(1, 2*tail)
}

// Discordant counts the items where exactly one of two paired arms was
// correct: onlyA where a[i] && !b[i], onlyB where b[i] && !a[i]. These are
// the b and c of McNemarExact. The slices must have the same length.
func Discordant(a, b []bool) (onlyA, onlyB int, err error) {
	if len(a) != len(b) {
		return 0, 0, errors.New("ragvsft: stats: paired results of different lengths")
	}
	for i := range a {
		switch {
		case a[i] && !b[i]:
			onlyA++
		case b[i] && !a[i]:
			onlyB++
		}
	}
	return onlyA, onlyB, nil
}

// HitAtK returns the fraction of ranks that are in [0, k): how often the gold
// document was among the first k retrieved. ranks are 0-based, -1 (or any
// negative rank) meaning "not retrieved", as ragvsft.GoldRank returns them.
// No ranks give 0.
func HitAtK(ranks []int, k int) float64 {
	if len(ranks) == 0 {
		return 0
	}
	hits := 0
	for _, r := range ranks {
		if r >= 0 && r < k {
			hits++
		}
	}
	return float64(hits) / float64(len(ranks))
}

// MRR returns the mean reciprocal rank: the mean of 1/(rank+1) over 0-based
// ranks, a negative rank ("not retrieved") counting 0. A gold document
// always first gives 1; always second, 0.5. No ranks give 0.
func MRR(ranks []int) float64 {
	if len(ranks) == 0 {
		return 0
	}
	var sum float64
	for _, r := range ranks {
		if r >= 0 {
			sum += 1 / float64(r+1)
		}
	}
	return sum / float64(len(ranks))
}

// CohenKappa returns Cohen's kappa for two raters who each judged the same
// n items correct or not, from their 2x2 table: bothYes items both called
// correct, onlyA items only the first did, onlyB only the second, bothNo
// neither. observed is the fraction of items they agree on, (bothYes +
// bothNo) / n; expected is the agreement chance alone would give raters
// with the same rates of "correct", pA·pB + (1-pA)(1-pB); and
//
//	kappa = (observed - expected) / (1 - expected)
//
// is 1 for perfect agreement, 0 for agreement no better than chance and
// negative for worse. It discounts agreement on the common class: two
// raters who both call 90% of the items correct agree 82% of the time by
// chance alone.
//
// kappa is NaN, undefined, when expected is 1: both raters gave every item
// the same single verdict (all correct, or all wrong). They agree perfectly
// (observed is 1), but on items that never tell the two classes apart, so
// there is no evidence of how far one rater follows the other. n == 0
// gives NaN for all three, and so does a negative count.
func CohenKappa(bothYes, onlyA, onlyB, bothNo int) (kappa, observed, expected float64) {
	n := bothYes + onlyA + onlyB + bothNo
	if bothYes < 0 || onlyA < 0 || onlyB < 0 || bothNo < 0 || n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	nf := float64(n)
	observed = float64(bothYes+bothNo) / nf
	pA := float64(bothYes+onlyA) / nf
	pB := float64(bothYes+onlyB) / nf
	expected = pA*pB + (1-pA)*(1-pB)
	if expected >= 1 {
		return math.NaN(), observed, 1
	}
	return (observed - expected) / (1 - expected), observed, expected
}

// Spread returns the mean, the sample standard deviation (with n−1 in the
// denominator: the repeats are a sample of the runs one could make), the
// minimum and the maximum of xs. One value has standard deviation 0; no
// value gives NaN for all four.
func Spread(xs []float64) (mean, sd, lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	lo, hi = xs[0], xs[0]
	var sum float64
	for _, x := range xs {
		sum += x
		lo, hi = min(lo, x), max(hi, x)
	}
	mean = sum / float64(len(xs))
	if len(xs) == 1 {
		return mean, 0, lo, hi
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1)), lo, hi
}
