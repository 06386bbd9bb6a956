package localmodel

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
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
	// Generator features, each a row of logits over the vocabulary.
	kindBias uint64 = iota + 1
	kindPrev1
	kindPrev2
	kindPos
	kindCtxPos   // (context feature of the prompt, position)
	kindCtxPrev2 // (prompt word, previous two tokens)

	// Context features of the prompt.
	ctxWord   // a lower-cased word
	ctxBigram // two consecutive words
	ctxGram   // a character trigram of a word, "^" and "$" marking its ends

	// Copy features, each one scalar weight of a prompt token's copy score.
	copyPosShape  // (reply position, shape of the token)
	copyPrevShape // (previous reply token, shape)
	copyContShape // (the prompt token before it is the previous reply token, shape)
	copyPrevWord  // (the prompt token before it, continuation)
	copyWordPos   // (the token itself, reply position)
	copySeenShape // (the token is already in the reply, shape)
)

// copyFeatures is the number of copy features of a prompt token.
const copyFeatures = 6

// bos stands for "no token" before the start of a reply.
const bos uint64 = 0

// Model is the parametric memory: a hashed log-linear (single-layer
// softmax) language model of an assistant reply conditioned on the user
// message, with a copy mechanism (a pointer over the user message's
// tokens, as in See et al.'s pointer-generator networks).
//
// At each reply position the next token is chosen from one softmax over
// two kinds of outcome:
//
//   - generate token v of the vocabulary (the tokens of the training
//     replies plus End), with logit the sum of the weight rows of the
//     active features at v: bias, previous token, previous two tokens,
//     position, and for each context feature c of the user message (its
//     distinct lower-cased words, pairs of consecutive words and the
//     words' character trigrams) (c, position), and for each word
//     (word, previous two tokens);
//   - copy the user message's token j (any token with a letter or digit),
//     with logit the sum of six scalar weights: (position, shape of j),
//     (previous token, shape), (is the token before j the previous reply
//     token, shape), (the token before j, that continuation), (j itself,
//     position) and (is j already in the reply, shape). A shape is what
//     the token looks like: capitalized, all capitals, digits, underscore.
//
// A token's probability is its generate probability plus the probability
// of every copy that emits it. The copy weights are shared by every
// example, so they are learnt within an epoch: a reply names the entity of
// the question, even one never trained on, long before the entity's own
// features have memorized its facts. The words and trigrams let a new
// wording of a question recall a fact in part: the bigrams of the trained
// wording are missing, its trigrams and words partly present.
//
// Rows exist only for features seen in training, dense or sparse (see
// weights). The zero value is the empty memory, which knows no token. A
// Model is never changed after Train returns it, so it is safe for
// concurrent use.
type Model struct {
	vocab []string         // id -> token; vocab[0] == End
	ids   map[string]int   // token -> id
	rows  map[uint64]int32 // feature -> its row of w
	w     weights
	copy  map[uint64]float32
}

// Empty reports whether the model has learned nothing.
func (m *Model) Empty() bool {
	return m == nil || len(m.rows) == 0
}

// Features returns the number of distinct generator features learned.
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
	Epochs    int
	BatchSize int
	// LearningRate is the step of the logits: one step on a token moves
	// the logits of its position by LearningRate times the gradient of
	// the token's cross-entropy, divided by the tokens in the batch,
	// however many features are active (the step of each weight is
	// divided by their number, as in normalized least mean squares).
	LearningRate float64
	// Seed drives the shuffle of the examples at each epoch.
	Seed uint64
	// OnEpoch, if not nil, is called after each epoch with its mean
	// per-token training cross-entropy (nats).
	OnEpoch func(epoch int, loss float64)
}

// MaxWeights caps the dense weight rows (rows times vocabulary), 256 MiB
// of float32; the rows beyond it are sparse (see weights).
const MaxWeights = 1 << 26

// The size limits of a training set. MaxVocabulary caps the distinct
// tokens of the replies: the cost of every position is the vocabulary
// times its dense rows, and with more tokens than this fewer than 1,024
// rows could be dense. MaxPositions caps the reply tokens of the whole set
// (End included), about 1 KB of training state each: 4 GiB.
const (
	MaxVocabulary = 1 << 16
	MaxPositions  = 1 << 22
)

// ErrTooLarge reports a training set too large for the model.
var ErrTooLarge = errors.New("localmodel: training set too large for the embedded model")

// CheckSize returns an error wrapping ErrTooLarge, with the counts, if
// TrainSnapshots would refuse seqs as too large. It only tokenizes the
// replies, so it is cheap beside training.
func CheckSize(seqs []Sequence) error {
	return sizeError(size(seqs, MaxVocabulary))
}

// sizeError is the ErrTooLarge of a vocabulary and reply tokens over the
// limits, or nil.
func sizeError(vocab, positions int) error {
	if vocab > MaxVocabulary {
		return fmt.Errorf("%w: the replies have more than %d distinct tokens", ErrTooLarge, MaxVocabulary)
	}
	if positions > MaxPositions {
		return fmt.Errorf("%w: %d reply tokens, at most %d", ErrTooLarge, positions, MaxPositions)
	}
	return nil
}

// Vocabulary returns the size of the vocabulary a model trained on seqs
// has: the distinct tokens of the replies, and End.
func Vocabulary(seqs []Sequence) int {
	v, _ := size(seqs, math.MaxInt)
	return v
}

// size counts the vocabulary of seqs, stopping above limit, and their
// reply tokens with End.
func size(seqs []Sequence, limit int) (vocab, positions int) {
	seen := map[string]bool{End: true}
	for _, s := range seqs {
		toks := Tokenize(s.Reply)
		positions += len(toks) + 1
		for _, t := range toks {
			seen[t] = true
		}
		if len(seen) > limit {
			break
		}
	}
	return len(seen), positions
}

// ErrBadOptions reports invalid training options.
var ErrBadOptions = errors.New("localmodel: invalid training options")

// prompt is a user message as the model sees it.
type prompt struct {
	ctx    []uint64 // distinct context features; ctx[:nWords] are words
	nWords int
	cands  []cand // tokens that can be copied
}

// cand is a prompt token that can be copied.
type cand struct {
	tok      string // as in the prompt, with its leading space if any
	key      string // tok without its leading space
	lower    uint64 // hash of the lower-cased key
	shape    uint64
	prevKey  string // key of the prompt token before it
	prevWord uint64 // hash of the lower-cased prevKey
	prevName bool   // prevKey is a name (could be copied itself)
	glued    bool   // no space before it: a piece of a longer name ("17" of "City_17")
}

// emit returns the text a copy of c emits at reply position pos: the
// token without its space first in a reply or when it is glued to the
// token before it, with a space before a word later on.
func (c *cand) emit(pos int) string {
	switch {
	case pos == 0 || c.glued:
		return c.key
	case c.tok != c.key:
		return c.tok
	}
	if r, _ := utf8.DecodeRuneInString(c.key); unicode.IsLetter(r) {
		return " " + c.key
	}
	return c.key
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64() | 1 // never bos
}

// analyze prepares a user message.
func analyze(s string) prompt {
	var p prompt
	seen := map[uint64]bool{}
	add := func(f uint64) {
		if !seen[f] {
			seen[f] = true
			p.ctx = append(p.ctx, f)
		}
	}
	words := Words(s)
	for _, w := range words {
		add(mix(ctxWord, hashString(w), 0, 0))
	}
	p.nWords = len(p.ctx)
	for i := 1; i < len(words); i++ {
		add(mix(ctxBigram, hashString(words[i-1]), hashString(words[i]), 0))
	}
	for _, w := range words {
		rs := []rune("^" + w + "$")
		for i := 3; i <= len(rs); i++ {
			add(mix(ctxGram, hashString(string(rs[i-3:i])), 0, 0))
		}
	}
	// A name cut into pieces ("City", "_", "17") is told from a word by
	// its pieces being glued together: the shape of a piece says whether
	// a piece of a name is glued before and after it, so a capitalized
	// word of an instruction ("If") does not look like the first piece of
	// an entity's name.
	toks := Tokenize(s)
	base := make([]uint64, len(toks))
	for i, tok := range toks {
		base[i] = shapeOf(strings.TrimLeft(tok, " "))
	}
	joined := func(i int) bool { // toks[i] follows toks[i-1] with no space between
		return i > 0 && toks[i][0] != ' ' && strings.TrimSpace(toks[i]) != "" && strings.TrimSpace(toks[i-1]) != ""
	}
	prevKey := ""
	for i, tok := range toks {
		key := strings.TrimLeft(tok, " ")
		shape := base[i]
		prevPiece := joined(i) && base[i-1] != 0
		nextPiece := i+1 < len(toks) && joined(i+1) && base[i+1] != 0
		if shape == 0 && (prevPiece || nextPiece) && strings.IndexFunc(key, unicode.IsLetter) >= 0 {
			shape = 16 // a lower-case piece of a name ("ab" of "City_ab")
		}
		if shape != 0 {
			if prevPiece {
				shape |= 32
			}
			if nextPiece {
				shape |= 64
			}
			p.cands = append(p.cands, cand{
				tok: tok, key: key, lower: hashString(strings.ToLower(key)), shape: shape,
				prevKey: prevKey, prevWord: hashString(strings.ToLower(prevKey)), prevName: shapeOf(prevKey) != 0 || prevPiece,
				glued: joined(i),
			})
		}
		if strings.TrimSpace(tok) != "" {
			prevKey = key
		}
	}
	return p
}

// shapeOf describes what a token looks like; 0 for a token that is not a
// name (no capital, digit or underscore), which is never copied: a pointer
// over every word would copy the words of an instruction it never saw in
// training ("of your ability") as readily as the entity of the question.
func shapeOf(key string) uint64 {
	var shape uint64
	letters, upper := 0, 0
	for i, r := range key {
		switch {
		case unicode.IsLetter(r):
			letters++
			if unicode.IsUpper(r) {
				upper++
				if i == 0 {
					shape |= 1
				}
			}
		case unicode.IsDigit(r):
			shape |= 4
		case r == '_':
			shape |= 8
		}
	}
	if letters > 1 && upper == letters {
		shape |= 2
	}
	if shape == 0 {
		return 0 // a lower-case word or punctuation: generated, never copied
	}
	if letters > 0 {
		shape |= 16
	}
	return shape
}

// state is what the features of a reply position depend on, besides the
// prompt: the position and the tokens before it.
type state struct {
	pos    int
	p2, p1 uint64   // hashes of the previous two tokens
	last   string   // key of the previous token
	keys   []string // keys of the tokens so far
}

func (s *state) push(tok string) {
	s.pos++
	s.p2, s.p1 = s.p1, hashString(tok)
	s.last = strings.TrimLeft(tok, " ")
	s.keys = append(s.keys, s.last)
}

// genFeatures appends the active generator features.
func genFeatures(dst []uint64, p *prompt, s *state) []uint64 {
	pos := uint64(min(s.pos, maxPosition))
	dst = append(dst,
		mix(kindBias, 0, 0, 0),
		mix(kindPrev1, s.p1, 0, 0),
		mix(kindPrev2, s.p2, s.p1, 0),
		mix(kindPos, pos, 0, 0),
	)
	for i, c := range p.ctx {
		dst = append(dst, mix(kindCtxPos, c, pos, 0))
		if i < p.nWords {
			dst = append(dst, mix(kindCtxPrev2, c, s.p2, s.p1))
		}
	}
	return dst
}

// copyFeats writes the copy features of c.
func copyFeats(dst *[copyFeatures]uint64, c *cand, s *state) {
	pos := uint64(min(s.pos, maxPosition))
	var cont, seen uint64
	if s.pos > 0 && c.prevName && c.prevKey == s.last {
		cont = 1
	}
	if slices.Contains(s.keys, c.key) {
		seen = 1
	}
	dst[0] = mix(copyPosShape, pos, c.shape, 0)
	dst[1] = mix(copyPrevShape, s.p1, c.shape, 0)
	dst[2] = mix(copyContShape, cont, c.shape, 0)
	dst[3] = mix(copyPrevWord, c.prevWord, cont, 0)
	dst[4] = mix(copyWordPos, c.lower, pos, 0)
	dst[5] = mix(copySeenShape, seen, c.shape, 0)
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

// member is a weight row shared by n features active at a position.
type member struct{ group, n int32 }

// position is one training target, its features fixed by teacher forcing.
type position struct {
	target  int
	gen     []member // generator rows
	active  float64  // features behind gen
	copyIdx []int32  // copyFeatures copy weights per candidate
	copyOK  []bool   // the candidate emits the target
}

// trainSet is the training data compiled to positions.
type trainSet struct {
	vocab     []string
	ids       map[string]int
	examples  [][]position
	featGroup map[uint64]int32 // feature -> row of layout
	layout    weights          // zero weights: dense rows, then sparse
	copyIndex map[uint64]int32
}

// TrainSnapshots trains like Train for the largest of epochs (opt.Epochs
// is ignored) and returns the model as it was after each of epochs, in
// their order. Since each epoch's shuffle depends only on the seed and the
// epoch number and the learning rate is constant, each snapshot is the
// model Train returns for that many epochs.
func TrainSnapshots(ctx context.Context, seqs []Sequence, opt TrainOptions, epochs []int) ([]*Model, error) {
	return trainSnapshots(ctx, seqs, opt, epochs, MaxWeights)
}

// trainSnapshots is TrainSnapshots with at most maxDense dense weights.
func trainSnapshots(ctx context.Context, seqs []Sequence, opt TrainOptions, epochs []int, maxDense int) ([]*Model, error) {
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
	ts, err := compile(seqs, maxDense)
	if err != nil {
		return nil, err
	}
	snaps := make([]*Model, len(epochs))
	if len(ts.examples) == 0 {
		for i := range snaps {
			snaps[i] = &Model{vocab: ts.vocab, ids: ts.ids, rows: map[uint64]int32{}}
		}
		return snaps, nil
	}
	tr := newTrainer(ts, opt)
	for epoch := 1; epoch <= opt.Epochs; epoch++ {
		loss, err := tr.epoch(ctx, epoch)
		if err != nil {
			return nil, err
		}
		if opt.OnEpoch != nil {
			opt.OnEpoch(epoch, loss)
		}
		var frozen *Model
		for i, e := range epochs {
			if e != epoch {
				continue
			}
			if frozen == nil {
				frozen = tr.freeze(epoch == opt.Epochs)
			}
			snaps[i] = frozen
		}
	}
	return snaps, nil
}

// compile tokenizes the replies, builds the vocabulary and fixes every
// position's features. Teacher forcing fixes every position's features in
// advance. Features active at exactly the same training positions get the
// same gradient from the same zero start, so their weights stay equal
// forever: such a group shares one row of the weight matrix, added once
// per member. This is an exact speed-up, not an approximation. The groups
// active at the most positions get the dense rows, at most maxDense
// weights, the others sparse ones (see weights).
func compile(seqs []Sequence, maxDense int) (*trainSet, error) {
	ts := &trainSet{vocab: []string{End}, ids: map[string]int{End: 0}, copyIndex: map[uint64]int32{}}
	type raw struct {
		p    prompt
		toks []string
	}
	raws := make([]raw, len(seqs))
	positions := 0
	for i, s := range seqs {
		toks := Tokenize(s.Reply)
		for _, t := range toks {
			if _, ok := ts.ids[t]; !ok {
				ts.ids[t] = len(ts.vocab)
				ts.vocab = append(ts.vocab, t)
			}
		}
		raws[i].toks = append(toks, End)
		positions += len(raws[i].toks)
		if len(ts.vocab) > MaxVocabulary {
			break
		}
	}
	// The limits of CheckSize, on the tokens just made.
	if err := sizeError(len(ts.vocab), positions); err != nil {
		return nil, err
	}
	for i, s := range seqs {
		raws[i].p = analyze(s.Prompt)
	}
	V := len(ts.vocab)
	var feats []uint64
	forEach := func(visit func(ex, pos int, s *state, f []uint64)) {
		for i := range raws {
			r := &raws[i]
			var s state
			for pos, tok := range r.toks {
				feats = genFeatures(feats[:0], &r.p, &s)
				visit(i, pos, &s, feats)
				s.push(tok)
			}
		}
	}
	// Pass 1: where each generator feature is active. The map from a
	// feature to its occurrence becomes, below, the map from a feature to
	// its row: at tens of thousands of facts it has millions of entries.
	type occ struct {
		sig   [2]uint64 // hash of the positions where the feature is active
		count int
	}
	ts.featGroup = map[uint64]int32{}
	var occs []occ // in order of first appearance
	forEach(func(ex, pos int, _ *state, fs []uint64) {
		for _, f := range fs {
			i, ok := ts.featGroup[f]
			if !ok {
				i = int32(len(occs))
				ts.featGroup[f] = i
				occs = append(occs, occ{})
			}
			o := &occs[i]
			o.sig[0] = mix(o.sig[0], uint64(ex), uint64(pos), 1)
			o.sig[1] = mix(o.sig[1], uint64(ex), uint64(pos), 2)
			o.count++
		}
	})
	groupOf := map[occ]int32{}
	occGroup := make([]int32, len(occs))
	var counts []int // of each group, in order of first appearance
	for i, o := range occs {
		g, ok := groupOf[o]
		if !ok {
			g = int32(len(counts))
			groupOf[o] = g
			counts = append(counts, o.count)
		}
		occGroup[i] = g
	}
	occs, groupOf = nil, nil
	// The groups active at the most positions come first, and the first
	// dense rows of them fit the cap.
	order := make([]int32, len(counts))
	for g := range order {
		order[g] = int32(g)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return counts[b] - counts[a] })
	row := make([]int32, len(counts))
	for r, g := range order {
		row[g] = int32(r)
	}
	D := int32(min(len(counts), maxDense/V))
	for f, i := range ts.featGroup {
		ts.featGroup[f] = row[occGroup[i]]
	}
	occGroup, order = nil, nil
	// Pass 2: each position's rows and copy candidates, and the tokens of
	// each sparse row.
	// A position's slices are built in scratch buffers and copied at their
	// size: at 50,000 facts append's spare capacity was a third of the
	// training state.
	ts.examples = make([][]position, len(raws))
	var sparse []uint64 // (sparse row, target)
	var cf [copyFeatures]uint64
	var gen []member
	var copyIdx []int32
	var copyOK []bool
	forEach(func(ex, pos int, s *state, fs []uint64) {
		tok := raws[ex].toks[pos]
		pp := position{target: ts.ids[tok], active: float64(len(fs))}
		gen, copyIdx, copyOK = gen[:0], copyIdx[:0], copyOK[:0]
	next:
		for _, f := range fs {
			g := ts.featGroup[f]
			for j := range gen {
				if gen[j].group == g {
					gen[j].n++
					continue next
				}
			}
			gen = append(gen, member{g, 1})
			if g >= D {
				sparse = append(sparse, uint64(g-D)<<32|uint64(pp.target))
			}
		}
		for c := range raws[ex].p.cands {
			cd := &raws[ex].p.cands[c]
			copyFeats(&cf, cd, s)
			for _, f := range cf {
				k, ok := ts.copyIndex[f]
				if !ok {
					k = int32(len(ts.copyIndex))
					ts.copyIndex[f] = k
				}
				copyIdx = append(copyIdx, k)
			}
			copyOK = append(copyOK, tok != End && cd.emit(pos) == tok)
		}
		pp.gen, pp.copyIdx, pp.copyOK = slices.Clone(gen), slices.Clone(copyIdx), slices.Clone(copyOK)
		if pos == 0 {
			ts.examples[ex] = make([]position, 0, len(raws[ex].toks))
		}
		ts.examples[ex] = append(ts.examples[ex], pp)
	})
	ts.layout = weights{V: V, dense: make([]float32, int(D)*V)}
	ts.layout.start, ts.layout.tok = sparseLayout(sparse, len(counts)-int(D))
	ts.layout.w = make([]float32, len(ts.layout.tok))
	return ts, nil
}

// trainer holds the weights during training.
type trainer struct {
	ts    *trainSet
	opt   TrainOptions
	W     weights
	C     []float32 // copy weights
	order []int
	batch int

	queue   []pending
	deltas  [][]float32
	losses  []float64
	scratch []scratch // one per worker
}

// scratch is a worker's logits and probabilities.
type scratch struct{ logits, probs []float64 }

// minParallel is the fewest positions per worker worth a goroutine: a
// position costs microseconds, a goroutine about one.
const minParallel = 16

type pending struct {
	p     *position
	delta []float32 // V generator deltas, then one per candidate
}

func newTrainer(ts *trainSet, opt TrainOptions) *trainer {
	tr := &trainer{ts: ts, opt: opt,
		W:       ts.layout, // the trainer's own: the set is not trained twice
		C:       make([]float32, len(ts.copyIndex)),
		batch:   min(opt.BatchSize, len(ts.examples)),
		scratch: make([]scratch, runtime.GOMAXPROCS(0)),
	}
	tr.order = make([]int, len(ts.examples))
	for i := range tr.order {
		tr.order[i] = i
	}
	return tr
}

// epoch runs one pass over the shuffled examples and returns its mean
// per-token loss.
func (tr *trainer) epoch(ctx context.Context, epoch int) (float64, error) {
	rng := rand.New(rand.NewPCG(tr.opt.Seed, uint64(epoch)))
	rng.Shuffle(len(tr.order), func(i, j int) { tr.order[i], tr.order[j] = tr.order[j], tr.order[i] })
	var lossSum float64
	var lossN int
	for b := 0; b < len(tr.order); b += tr.batch {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		tr.queue = tr.queue[:0]
		for _, ei := range tr.order[b:min(b+tr.batch, len(tr.order))] {
			for i := range tr.ts.examples[ei] {
				tr.queue = append(tr.queue, pending{p: &tr.ts.examples[ei][i]})
			}
		}
		tr.gradients()
		for _, l := range tr.losses[:len(tr.queue)] {
			lossSum += l
			lossN++
		}
		tr.apply()
	}
	return lossSum / float64(max(lossN, 1)), nil
}

// gradients computes the gradient of every queued position into its
// delta and its loss into losses, on as many cores as the batch is worth.
// The weights are only read until apply, and each position writes its own
// delta and loss, so the result is the same however many workers there
// are, and the same as one after the other.
func (tr *trainer) gradients() {
	V := len(tr.ts.vocab)
	for len(tr.deltas) < len(tr.queue) {
		tr.deltas = append(tr.deltas, nil)
	}
	if cap(tr.losses) < len(tr.queue) {
		tr.losses = make([]float64, len(tr.queue))
	}
	tr.losses = tr.losses[:len(tr.queue)]
	for k := range tr.queue {
		n := V + len(tr.queue[k].p.copyOK)
		if cap(tr.deltas[k]) < n {
			tr.deltas[k] = make([]float32, n)
		}
		tr.queue[k].delta = tr.deltas[k][:n]
	}
	workers := min(len(tr.scratch), max(len(tr.queue)/minParallel, 1))
	if workers == 1 {
		for k := range tr.queue {
			tr.losses[k] = tr.gradient(tr.queue[k], &tr.scratch[0])
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; k < len(tr.queue); k += workers {
				tr.losses[k] = tr.gradient(tr.queue[k], &tr.scratch[w])
			}
		})
	}
	wg.Wait()
}

// gradient writes the gradient of position q.p's loss, -log of the
// probability of its target however produced, into q.delta and returns
// the loss.
func (tr *trainer) gradient(q pending, sc *scratch) float64 {
	p := q.p
	V := len(tr.ts.vocab)
	n := V + len(p.copyOK)
	if cap(sc.logits) < n {
		sc.logits, sc.probs = make([]float64, n), make([]float64, n)
	}
	logits, probs := sc.logits[:n], sc.probs[:n]
	clear(logits)
	for _, mb := range p.gen {
		tr.W.add(logits, mb.group, float64(mb.n))
	}
	for c := range p.copyOK {
		var s float64
		for _, k := range p.copyIdx[c*copyFeatures : (c+1)*copyFeatures] {
			s += float64(tr.C[k])
		}
		logits[V+c] = s
	}
	softmax(logits, probs, 1)
	good := probs[p.target]
	for c, ok := range p.copyOK {
		if ok {
			good += probs[V+c]
		}
	}
	good = max(good, 1e-300)
	// d(-log good)/d logit_k = probs_k - [k is good] probs_k / good.
	probs[p.target] -= probs[p.target] / good
	for c, ok := range p.copyOK {
		if ok {
			probs[V+c] -= probs[V+c] / good
		}
	}
	toFloat32(q.delta, probs)
	return -math.Log(good)
}

// apply takes the step of the queued gradients, their mean.
func (tr *trainer) apply() {
	V := len(tr.ts.vocab)
	lr := tr.opt.LearningRate / float64(len(tr.queue))
	for _, q := range tr.queue {
		step := float32(lr / q.p.active)
		for _, mb := range q.p.gen {
			tr.W.sub(mb.group, q.delta[:V], step)
		}
		cstep := float32(lr / copyFeatures)
		for c := range q.p.copyOK {
			d := cstep * q.delta[V+c]
			for _, k := range q.p.copyIdx[c*copyFeatures : (c+1)*copyFeatures] {
				tr.C[k] -= d
			}
		}
	}
}

// freeze makes a Model of the current weights: a copy of them, or, for the
// last epoch, the weights themselves.
func (tr *trainer) freeze(last bool) *Model {
	// Every snapshot shares the map from features to rows; only the
	// weights differ, and after the last epoch the model takes the
	// trainer's own (at the dense cap a copy is 256 MiB more).
	w := tr.W
	if !last {
		w = tr.W.clone()
	}
	m := &Model{vocab: tr.ts.vocab, ids: tr.ts.ids, rows: tr.ts.featGroup, w: w,
		copy: make(map[uint64]float32, len(tr.ts.copyIndex)),
	}
	for f, k := range tr.ts.copyIndex {
		if c := tr.C[k]; c != 0 {
			m.copy[f] = c
		}
	}
	return m
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
	// Copied counts the tokens more likely copied from the prompt than
	// generated.
	Copied int
	// Truncated reports that MaxTokens was reached before End.
	Truncated bool
}

// Generate decodes a reply to prompt, one token at a time. An empty Model
// generates nothing. It returns ctx.Err() if ctx is cancelled.
func (m *Model) Generate(ctx context.Context, promptText string, opt GenerateOptions) (Generation, error) {
	var gen Generation
	if m.Empty() || opt.MaxTokens < 1 {
		return gen, ctx.Err()
	}
	var rng *rand.Rand
	if opt.Temperature > 0 {
		rng = rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	}
	p := analyze(promptText)
	V := len(m.vocab)
	n := V + len(p.cands)
	logits, probs := make([]float64, n), make([]float64, n)
	merged := make([]float64, V)
	var (
		feats  []uint64
		cf     [copyFeatures]uint64
		s      state
		logSum float64
		extra  []string // out-of-vocabulary copies, in order
		extraP []float64
	)
	gen.MinProb = 1
	for {
		if err := ctx.Err(); err != nil {
			return Generation{}, err
		}
		feats = genFeatures(feats[:0], &p, &s)
		m.scores(feats, logits[:V])
		for c := range p.cands {
			copyFeats(&cf, &p.cands[c], &s)
			var sc float64
			for _, f := range cf {
				sc += float64(m.copy[f])
			}
			logits[V+c] = sc
		}
		softmax(logits, probs, 1)
		// Merge every copy into the token it emits.
		copy(merged, probs[:V])
		extra, extraP = extra[:0], extraP[:0]
		copied := 0.0
		emitted := func(c int) (id int, text string) {
			text = p.cands[c].emit(s.pos)
			if id, ok := m.ids[text]; ok {
				return id, text
			}
			return -1, text
		}
		for c := range p.cands {
			id, text := emitted(c)
			if id >= 0 {
				merged[id] += probs[V+c]
				continue
			}
			if k := slices.Index(extra, text); k >= 0 {
				extraP[k] += probs[V+c]
			} else {
				extra, extraP = append(extra, text), append(extraP, probs[V+c])
			}
		}
		var text string
		var prob float64
		if rng == nil {
			id := argmax(merged)
			text, prob = m.vocab[id], merged[id]
			if id == 0 {
				text = ""
			}
			if k := argmax(extraP); len(extraP) > 0 && extraP[k] > prob {
				text, prob = extra[k], extraP[k]
			}
		} else {
			softmax(logits, probs, opt.Temperature)
			k := sample(rng, probs)
			if k < V {
				text = m.vocab[k]
				if k == 0 {
					text = ""
				}
			} else {
				_, text = emitted(k - V)
			}
			softmax(logits, probs, 1)
			if id, ok := m.ids[text]; ok && text != "" {
				prob = merged[id]
			} else if text == "" {
				prob = merged[0]
			} else {
				prob = extraP[slices.Index(extra, text)]
			}
		}
		if text != "" {
			for c := range p.cands {
				if _, t := emitted(c); t == text {
					copied += probs[V+c]
				}
			}
		}
		logSum += math.Log(max(prob, 1e-300))
		gen.MinProb = min(gen.MinProb, prob)
		count := len(gen.Tokens) + 1
		if text == "" {
			gen.MeanLogProb = logSum / float64(count)
			return gen, nil
		}
		if copied > prob/2 {
			gen.Copied++
		}
		gen.Tokens = append(gen.Tokens, text)
		if len(gen.Tokens) >= opt.MaxTokens {
			gen.MeanLogProb = logSum / float64(count)
			gen.Truncated = true
			return gen, nil
		}
		s.push(text)
	}
}

// scores writes the logits of the active features into out.
func (m *Model) scores(feats []uint64, out []float64) {
	clear(out)
	for _, f := range feats {
		if r, ok := m.rows[f]; ok {
			m.w.add(out, r, 1)
		}
	}
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
