package localmodel

import "slices"

// weights are the generator's weight rows, each the logits one group of
// features adds over the vocabulary. The rows of the groups active at the
// most training positions are dense (a logit for every token); beyond
// MaxWeights dense weights, the rest are sparse: a logit only for the
// tokens the group was trained to predict (the targets of the positions
// where it is active), every other token's logit left at 0.
//
// A knowledge base of N facts has about a dozen groups per fact (a fact's
// entity name active at each position of its reply), so dense rows alone
// would grow as N times the vocabulary. The groups shared by many facts
// (the bias, positions, previous tokens, the template's words) are few and
// dense; a fact's own groups are active at a handful of positions, and as
// sparse rows they cost a few entries each, so memory grows with N, not N
// squared. While every row fits the dense cap (a knowledge base of up to a
// few thousand facts) no row is sparse and training is the exact softmax
// regression; beyond it, a sparse row's gradient on the tokens it does not
// hold is dropped: it can raise its own targets, not lower the others.
type weights struct {
	V     int
	dense []float32 // rows [0, len(dense)/V), V logits each
	// Sparse row s (row index len(dense)/V + s) holds the logits w[k] of
	// tokens tok[k] for k in [start[s], start[s+1]), tokens increasing.
	start []int32
	tok   []int32
	w     []float32
}

// denseRows is the number of dense rows; a row index at or above it is
// sparse.
func (w *weights) denseRows() int32 {
	if w.V == 0 {
		return 0
	}
	return int32(len(w.dense) / w.V)
}

// rows is the number of rows, dense and sparse.
func (w *weights) rows() int {
	n := int(w.denseRows())
	if len(w.start) > 0 {
		n += len(w.start) - 1
	}
	return n
}

// add adds n times row r to logits (V of them).
//
//go:norace
func (w *weights) add(logits []float64, r int32, n float64) {
	d := w.denseRows()
	if r < d {
		addScaled(logits, w.dense[int(r)*w.V:int(r+1)*w.V], n)
		return
	}
	r -= d
	for k := w.start[r]; k < w.start[r+1]; k++ {
		logits[w.tok[k]] += n * float64(w.w[k])
	}
}

// sub subtracts step times delta (V of them) from row r, from the tokens
// it holds.
//
//go:norace
func (w *weights) sub(r int32, delta []float32, step float32) {
	d := w.denseRows()
	if r < d {
		subScaled(w.dense[int(r)*w.V:int(r+1)*w.V], delta, step)
		return
	}
	r -= d
	for k := w.start[r]; k < w.start[r+1]; k++ {
		w.w[k] -= step * delta[w.tok[k]]
	}
}

// clone copies the values; the sparse layout, never changed, is shared.
func (w *weights) clone() weights {
	c := *w
	c.dense = slices.Clone(w.dense)
	c.w = slices.Clone(w.w)
	return c
}

// sparseLayout builds the sparse rows' layout from (row, token) pairs
// (row in the high 32 bits), in any order and with repeats: rows sparse
// rows, their tokens sorted and distinct, zero weights. pairs is sorted in
// place.
func sparseLayout(pairs []uint64, rows int) (start, tok []int32) {
	slices.Sort(pairs)
	pairs = slices.Compact(pairs)
	start = make([]int32, rows+1)
	tok = make([]int32, len(pairs))
	for k, p := range pairs {
		start[p>>32+1]++
		tok[k] = int32(uint32(p))
	}
	for s := range rows {
		start[s+1] += start[s]
	}
	return start, tok
}
