package localmodel

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
)

// End is the token that ends a reply. It is vocabulary entry 0 of every
// trained model.
const End = "<|end|>"

// maxPosition is the last position with its own position feature; later
// positions share it.
const maxPosition = 63

// Feature kinds, mixed into each feature's hash so that features of
// different kinds never share a row on purpose.
const (
	kindBias uint64 = iota + 1
	kindPrev1
	kindPrev2
	kindPos
	kindWordPos
	kindWordPrev2
)

// bos stands for "no token" before the start of a reply.
const bos = -1

// Model is the parametric memory: a hashed log-linear (single-layer softmax)
// language model of an assistant reply conditioned on the user message.
// logits(next) is the sum of the weight rows of the active features: bias,
// previous token, previous two tokens, position in the reply, and for each
// distinct word w of the user message (w, position) and (w, previous two
// tokens). Rows exist only for features seen in training; the output
// vocabulary is the tokens of the training replies plus End.
//
// The zero value is the empty memory, which knows no token. A Model is
// never changed after Train returns it, so it is safe for concurrent use.
type Model struct {
	vocab []string       // id -> token; vocab[0] == End
	ids   map[string]int // token -> id
	rows  map[uint64][]float32
}

// Empty reports whether the model has learned nothing.
func (m *Model) Empty() bool {
	return m == nil || len(m.rows) == 0
}

// Features returns the number of weight rows (distinct features) learned.
func (m *Model) Features() int {
	if m == nil {
		return 0
	}
	return len(m.rows)
}

// Sequence is one training target: the reply an assistant gave to a user
// message.
type Sequence struct {
	Prompt string
	Reply  string
}

// TrainOptions drive Train. Every field must be set (Train does not
// resolve defaults).
type TrainOptions struct {
	Epochs       int
	BatchSize    int
	LearningRate float64
	// Seed drives the shuffle of the examples at each epoch.
	Seed uint64
	// OnEpoch, if not nil, is called after each epoch with its mean
	// per-token training cross-entropy (nats).
	OnEpoch func(epoch int, loss float64)
}

// MaxWeights caps the size of a model's weight matrix (feature rows times
// vocabulary), 256 MiB of float32: the model is meant for small knowledge
// bases.
const MaxWeights = 1 << 26

// ErrTooLarge reports a training set too large for the model.
var ErrTooLarge = errors.New("localmodel: training set too large for the embedded model")

// ErrBadOptions reports invalid training options.
var ErrBadOptions = errors.New("localmodel: invalid training options")

// example is a Sequence prepared for training.
type example struct {
	words []uint64 // hashes of the distinct words of the prompt
	toks  []int    // reply token ids, ending with End
}

// Train fits a new Model to seqs by minibatch SGD on the softmax
// cross-entropy of the reply tokens, starting from zero weights. The
// examples are reshuffled at each epoch with a generator seeded by
// opt.Seed and the epoch number, so training is deterministic. It returns
// ctx.Err() promptly if ctx is cancelled.
func Train(ctx context.Context, seqs []Sequence, opt TrainOptions) (*Model, error) {
	ms, err := TrainSnapshots(ctx, seqs, opt, []int{opt.Epochs})
	if err != nil {
		return nil, err
	}
	return ms[0], nil
}

// TrainSnapshots trains like Train for the largest of epochs (opt.Epochs
// is ignored) and returns the model as it was after each of epochs, in
// their order. Since each epoch's shuffle depends only on the seed and the
// epoch number and the learning rate is constant, each snapshot is the
// model Train returns for that many epochs.
func TrainSnapshots(ctx context.Context, seqs []Sequence, opt TrainOptions, epochs []int) ([]*Model, error) {
	if len(epochs) == 0 {
		return nil, fmt.Errorf("%w: no epochs", ErrBadOptions)
	}
	opt.Epochs = 0
	for _, e := range epochs {
		if e < 1 {
			opt.Epochs = 0
			break
		}
		opt.Epochs = max(opt.Epochs, e)
	}
	if opt.Epochs < 1 || opt.BatchSize < 1 || !(opt.LearningRate > 0) || math.IsInf(opt.LearningRate, 0) {
		return nil, fmt.Errorf("%w: epochs %d, batch size %d, learning rate %g", ErrBadOptions, opt.Epochs, opt.BatchSize, opt.LearningRate)
	}
	m := &Model{vocab: []string{End}, ids: map[string]int{End: 0}, rows: map[uint64][]float32{}}
	exs := make([]example, len(seqs))
	for i, s := range seqs {
		toks := Tokenize(s.Reply)
		ids := make([]int, 0, len(toks)+1)
		for _, t := range toks {
			id, ok := m.ids[t]
			if !ok {
				id = len(m.vocab)
				m.vocab = append(m.vocab, t)
				m.ids[t] = id
			}
			ids = append(ids, id)
		}
		exs[i] = example{words: wordHashes(s.Prompt), toks: append(ids, 0)}
	}
	snaps := make([]*Model, len(epochs))
	if len(exs) == 0 {
		for i := range snaps {
			snaps[i] = m
		}
		return snaps, nil
	}
	// Teacher forcing fixes every position's features in advance. Features
	// active at exactly the same training positions get the same gradient
	// from the same zero start, so their weights stay equal forever: such a
	// group shares one row of the weight matrix, added once per member.
	// This is an exact speed-up, not an approximation.
	type occ struct {
		sig   [2]uint64 // hash of the positions where the feature is active
		count int
	}
	occs := map[uint64]*occ{}
	var order0 []uint64 // features in order of first appearance
	var feats []uint64
	type posRef struct{ ex, pos int }
	forEach := func(visit func(r posRef, f []uint64)) {
		for i, ex := range exs {
			p1, p2 := bos, bos
			for pos, target := range ex.toks {
				feats = features(feats[:0], ex.words, pos, p2, p1)
				visit(posRef{i, pos}, feats)
				p2, p1 = p1, target
			}
		}
	}
	forEach(func(r posRef, fs []uint64) {
		ex, pos := uint64(r.ex), uint64(r.pos)
		for _, f := range fs {
			o, ok := occs[f]
			if !ok {
				o = &occ{}
				occs[f] = o
				order0 = append(order0, f)
			}
			o.sig[0] = mix(o.sig[0], ex, pos, 1)
			o.sig[1] = mix(o.sig[1], ex, pos, 2)
			o.count++
		}
	})
	type groupKey struct {
		sig   [2]uint64
		count int
	}
	groupOf := map[groupKey]int32{}
	featGroup := make(map[uint64]int32, len(occs))
	for _, f := range order0 {
		k := groupKey(*occs[f])
		g, ok := groupOf[k]
		if !ok {
			g = int32(len(groupOf))
			groupOf[k] = g
		}
		featGroup[f] = g
	}
	// Per example, per position: (group, members) pairs.
	type member struct{ group, n int32 }
	posFeats := make([][][]member, len(exs))
	forEach(func(r posRef, fs []uint64) {
		var ms []member
	next:
		for _, f := range fs {
			g := featGroup[f]
			for j := range ms {
				if ms[j].group == g {
					ms[j].n++
					continue next
				}
			}
			ms = append(ms, member{g, 1})
		}
		posFeats[r.ex] = append(posFeats[r.ex], ms)
	})
	V := len(m.vocab)
	if len(groupOf) > MaxWeights/V {
		return nil, fmt.Errorf("%w: %d feature rows of %d tokens", ErrTooLarge, len(groupOf), V)
	}
	W := make([]float32, len(groupOf)*V)
	batch := min(opt.BatchSize, len(exs))
	order := make([]int, len(exs))
	for i := range order {
		order[i] = i
	}
	type pending struct {
		feats []member
		delta []float32
	}
	var (
		queue  []pending
		deltas [][]float32
		logits = make([]float64, V)
		probs  = make([]float64, V)
	)
	for epoch := 1; epoch <= opt.Epochs; epoch++ {
		rng := rand.New(rand.NewPCG(opt.Seed, uint64(epoch)))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var lossSum float64
		var lossN int
		for b := 0; b < len(order); b += batch {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			queue = queue[:0]
			for _, ei := range order[b:min(b+batch, len(order))] {
				for pos, target := range exs[ei].toks {
					fs := posFeats[ei][pos]
					clear(logits)
					for _, mb := range fs {
						addScaled(logits, W[int(mb.group)*V:int(mb.group+1)*V], float64(mb.n))
					}
					softmax(logits, probs, 1)
					lossSum -= math.Log(max(probs[target], 1e-300))
					lossN++
					probs[target]--
					if len(queue) == len(deltas) {
						deltas = append(deltas, make([]float32, V))
					}
					d := deltas[len(queue)]
					toFloat32(d, probs)
					queue = append(queue, pending{fs, d})
				}
			}
			step := float32(opt.LearningRate / float64(len(queue)))
			for _, q := range queue {
				for _, mb := range q.feats {
					subScaled(W[int(mb.group)*V:int(mb.group+1)*V], q.delta, step)
				}
			}
		}
		if opt.OnEpoch != nil {
			opt.OnEpoch(epoch, lossSum/float64(max(lossN, 1)))
		}
		var frozen *Model
		for i, e := range epochs {
			if e != epoch {
				continue
			}
			if frozen == nil {
				w := slices.Clone(W)
				frozen = &Model{vocab: m.vocab, ids: m.ids, rows: make(map[uint64][]float32, len(featGroup))}
				for f, g := range featGroup {
					frozen.rows[f] = w[int(g)*V : int(g+1)*V : int(g+1)*V]
				}
			}
			snaps[i] = frozen
		}
	}
	return snaps, nil
}

// GenerateOptions drive Generate.
type GenerateOptions struct {
	// MaxTokens caps the reply, End excluded; it must be positive.
	MaxTokens int
	// Temperature 0 decodes greedily; above 0 it samples from the softmax
	// of logits/Temperature with a generator seeded by Seed.
	Temperature float64
	Seed        uint64
}

// Generation is a decoded reply.
type Generation struct {
	Tokens []string
	// MeanLogProb is the mean log-probability of the generated tokens,
	// End included when it was generated; exp(MeanLogProb) is their
	// geometric mean probability, the model's confidence.
	MeanLogProb float64
	// MinProb is the smallest probability of a generated token.
	MinProb float64
	// Truncated reports that MaxTokens was reached before End.
	Truncated bool
}

// Generate decodes a reply to prompt, one token at a time. An empty Model
// generates nothing. It returns ctx.Err() if ctx is cancelled.
func (m *Model) Generate(ctx context.Context, prompt string, opt GenerateOptions) (Generation, error) {
	var gen Generation
	if m.Empty() || opt.MaxTokens < 1 {
		return gen, ctx.Err()
	}
	var rng *rand.Rand
	if opt.Temperature > 0 {
		rng = rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	}
	words := wordHashes(prompt)
	V := len(m.vocab)
	logits, probs := make([]float64, V), make([]float64, V)
	var feats []uint64
	var logSum float64
	gen.MinProb = 1
	p1, p2 := bos, bos
	for pos := 0; ; pos++ {
		if err := ctx.Err(); err != nil {
			return Generation{}, err
		}
		feats = features(feats[:0], words, pos, p2, p1)
		m.scores(feats, logits)
		var next int
		if rng == nil {
			next = argmax(logits)
			softmax(logits, probs, 1)
		} else {
			softmax(logits, probs, opt.Temperature)
			next = sample(rng, probs)
			softmax(logits, probs, 1)
		}
		logSum += math.Log(max(probs[next], 1e-300))
		gen.MinProb = min(gen.MinProb, probs[next])
		n := len(gen.Tokens) + 1
		if next == 0 {
			gen.MeanLogProb = logSum / float64(n)
			return gen, nil
		}
		gen.Tokens = append(gen.Tokens, m.vocab[next])
		if len(gen.Tokens) >= opt.MaxTokens {
			gen.MeanLogProb = logSum / float64(n)
			gen.Truncated = true
			return gen, nil
		}
		p2, p1 = p1, next
	}
}

// scores writes the logits of the active features into out.
func (m *Model) scores(feats []uint64, out []float64) {
	clear(out)
	for _, f := range feats {
		if row, ok := m.rows[f]; ok {
			addScaled(out, row, 1)
		}
	}
}

// features appends the active features at position pos, after tokens
// prev2 and prev1, for a prompt whose word hashes are words.
func features(dst []uint64, words []uint64, pos, prev2, prev1 int) []uint64 {
	pos = min(pos, maxPosition)
	a, b, p := uint64(int64(prev2)), uint64(int64(prev1)), uint64(pos)
	dst = append(dst,
		mix(kindBias, 0, 0, 0),
		mix(kindPrev1, b, 0, 0),
		mix(kindPrev2, a, b, 0),
		mix(kindPos, p, 0, 0),
	)
	for _, w := range words {
		dst = append(dst, mix(kindWordPos, w, p, 0), mix(kindWordPrev2, w, a, b))
	}
	return dst
}

// wordHashes returns the hashes of the distinct words of s, in order of
// first appearance.
func wordHashes(s string) []uint64 {
	var hs []uint64
	for _, w := range Words(s) {
		h := fnv.New64a()
		h.Write([]byte(w))
		v := h.Sum64()
		if !slices.Contains(hs, v) {
			hs = append(hs, v)
		}
	}
	return hs
}

// mix hashes a feature kind and up to three values (splitmix64 steps).
func mix(kind, a, b, c uint64) uint64 {
	h := kind * 0x9e3779b97f4a7c15
	for _, v := range [3]uint64{a, b, c} {
		h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// The numeric kernels below touch only memory their caller owns (training
// is single-goroutine; decoding reads frozen rows), so they are exempt from
// the race detector's instrumentation, which would slow tests tenfold.

// addScaled adds n*row to dst.
//
//go:norace
func addScaled(dst []float64, row []float32, n float64) {
	dst = dst[:len(row)]
	for k, w := range row {
		dst[k] += n * float64(w)
	}
}

// subScaled subtracts step*d from row.
//
//go:norace
func subScaled(row, d []float32, step float32) {
	row = row[:len(d)]
	for k, v := range d {
		row[k] -= step * v
	}
}

//go:norace
func toFloat32(dst []float32, src []float64) {
	dst = dst[:len(src)]
	for k, v := range src {
		dst[k] = float32(v)
	}
}

// softmax writes softmax(logits/temp) into probs.
//
//go:norace
func softmax(logits, probs []float64, temp float64) {
	hi := math.Inf(-1)
	for _, l := range logits {
		hi = max(hi, l)
	}
	var sum float64
	for k, l := range logits {
		x := (l - hi) / temp
		if x < -30 { // below 1e-13 relative: not worth an exp
			probs[k] = 0
			continue
		}
		probs[k] = expNeg(x)
		sum += probs[k]
	}
	for k := range probs {
		probs[k] /= sum
	}
}

// expNeg returns e**x for x in [-30, 0] to about 1e-7 relative error,
// several times faster than math.Exp: 2**(x/ln 2) split into an integer
// power, set in the exponent bits, and a fraction by a degree-8 polynomial.
//
//go:norace
func expNeg(x float64) float64 {
	y := x * math.Log2E
	k := math.Floor(y)
	f := (y - k) * math.Ln2 // in [0, ln 2)
	p := 1 + f*(1+f*(1.0/2+f*(1.0/6+f*(1.0/24+f*(1.0/120+f*(1.0/720+f*(1.0/5040+f*(1.0/40320))))))))
	return p * math.Float64frombits(uint64(int64(k)+1023)<<52)
}

// argmax returns the index of the largest value, the first on ties.
func argmax(xs []float64) int {
	best := 0
	for k, x := range xs {
		if x > xs[best] {
			best = k
		}
	}
	return best
}

func sample(rng *rand.Rand, probs []float64) int {
	u := rng.Float64()
	for k, p := range probs {
		u -= p
		if u < 0 {
			return k
		}
	}
	return len(probs) - 1
}
