package ragvsft

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
)

// Values of Result.Fact: whether the fact a question asks about was in the
// fine-tuning data (see Experiment.HoldOutFacts).
const (
	// FactTrained: the question's fact (its training example) was trained on.
	FactTrained = "trained"
	// FactHeldOut: the question's fact was held out of the fine-tuning
	// data, though it is still asked, and still in the rag arms' index.
	FactHeldOut = "held_out"
	// FactUnmapped: the question names no training example (no DocID, or
	// a DocID that is no example's, as with a DocumentSource's own
	// documents), so nobody can say whether its fact was trained on. Such
	// questions are asked and reported as a group of their own, never
	// counted as trained or held out.
	FactUnmapped = "unmapped"
)

// ErrBadHoldOut is wrapped by Run for an Experiment.HoldOutFacts that
// cannot be honoured.
var ErrBadHoldOut = errors.New("ragvsft: invalid HoldOutFacts")

// factSplit is which training examples (facts) a run holds out of
// fine-tuning. The zero value holds out nothing and labels no result.
type factSplit struct {
	// heldOut is the set of held-out example IDs; nil when HoldOutFacts is 0.
	heldOut map[string]bool
	// examples are all example IDs, to map a question's DocID.
	examples map[string]bool
	trained  []Example
}

// splitFacts picks the examples of ds held out of fine-tuning for a
// fraction f in [0, 1) and the seed.
//
// A fact is a training example. Of its n examples, round(f·n) are held out
// (at least 1 and at most n−1 when f > 0): those whose hash of the seed
// and the example's ID is smallest. That is a seeded shuffle which does not
// depend on the examples' order, is the same on every platform and Go
// version, and nests: with the same seed, the facts held out at 0.3 are
// among those held out at 0.5. It is not stratified (by entity or by
// attribute): on a knowledge base of two or three facts per entity, an
// entity may keep some facts and lose others.
func splitFacts(ds Dataset, f float64, seed int64) (factSplit, error) {
	exs := ds.Examples()
	sp := factSplit{examples: make(map[string]bool, len(exs)), trained: exs}
	for _, ex := range exs {
		sp.examples[ex.ID] = true
	}
	switch {
	case math.IsNaN(f) || f < 0 || f >= 1:
		return sp, fmt.Errorf("%w: %v is not a fraction in [0, 1)", ErrBadHoldOut, f)
	case f == 0:
		return sp, nil
	case len(exs) < 2:
		return sp, fmt.Errorf("%w: %d example, at least 2 needed to hold one out and train on another", ErrBadHoldOut, len(exs))
	}
	n := min(max(int(math.Round(f*float64(len(exs)))), 1), len(exs)-1)
	type ranked struct {
		key uint64
		id  string
	}
	order := make([]ranked, len(exs))
	for i, ex := range exs {
		order[i] = ranked{factKey(seed, ex.ID), ex.ID}
	}
	slices.SortFunc(order, func(a, b ranked) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	sp.heldOut = make(map[string]bool, n)
	for _, r := range order[:n] {
		sp.heldOut[r.id] = true
	}
	sp.trained = nil
	for _, ex := range exs {
		if !sp.heldOut[ex.ID] {
			sp.trained = append(sp.trained, ex)
		}
	}
	return sp, nil
}

// planFacts draws the split of the facts, records it in rep's settings and
// checks that the checkpoint's results are of the same split.
func (s *Experiment) planFacts(rep *Report, questions []Question) (factSplit, error) {
	sp, err := splitFacts(s.Dataset, s.HoldOutFacts, s.Seed)
	if err != nil {
		return sp, err
	}
	if sp.active() {
		rep.Settings.TrainedFacts, rep.Settings.HeldOutFacts = len(sp.trained), len(sp.heldOut)
	}
	return sp, sp.checkPrevious(s.previous, questions)
}

// factKey is the rank of example id in the seeded shuffle: FNV-1a of the
// seed and the ID, mixed by SplitMix64's finalizer so that IDs differing in
// their last byte spread over the whole range.
func factKey(seed int64, id string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s", seed, id)
	z := h.Sum64()
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// active reports whether the split holds anything out.
func (sp factSplit) active() bool { return sp.heldOut != nil }

// fact is what Result.Fact records for q: "" when nothing is held out,
// else FactTrained, FactHeldOut or FactUnmapped. A question maps to its
// fact by its DocID: an example's ID, or "ID#N" for an earlier assistant
// turn of example ID (see Documents).
func (sp factSplit) fact(q Question) string {
	if !sp.active() {
		return ""
	}
	id := q.DocID
	if !sp.examples[id] {
		if i := strings.LastIndexByte(id, '#'); i > 0 && sp.examples[id[:i]] {
			id = id[:i]
		} else {
			return FactUnmapped
		}
	}
	if sp.heldOut[id] {
		return FactHeldOut
	}
	return FactTrained
}

// training is what the FineTuner is given: ds whole when nothing is held
// out, else a dataset of the trained examples named after ds. Its examples
// are ds's, which Run checks before fine-tuning.
func (sp factSplit) training(ds Dataset) Dataset {
	if !sp.active() {
		return ds
	}
	name := fmt.Sprintf("%s (%d trained facts of %d)", datasetName(ds), len(sp.trained), len(sp.examples))
	return &trainedFacts{name: name, examples: sp.trained}
}

// trainedFacts is the Dataset of the facts a split trains on.
type trainedFacts struct {
	name     string
	examples []Example
}

func (d *trainedFacts) Name() string        { return d.name }
func (d *trainedFacts) Examples() []Example { return slices.Clone(d.examples) }

// checkPrevious refuses to mix a checkpoint's fine-tuned answers with a
// run whose split of the facts differs: a fine-tuned arm's earlier result
// must record the fact label this run gives its question (none when
// nothing is held out), else the model that answered it was trained on
// other facts. The other arms' results do not depend on the split and are
// relabelled by askAll.
func (sp factSplit) checkPrevious(previous []Result, questions []Question) error {
	byID := make(map[string]Question, len(questions))
	for _, q := range questions {
		byID[q.ID] = q
	}
	for _, r := range previous {
		q, ok := byID[r.QuestionID]
		if !ok || !r.Arm.fineTuned() || r.Question != q.Text {
			continue
		}
		if want := sp.fact(q); r.Fact != want {
			return fmt.Errorf("%w: the earlier result of arm %s for question %s has fact %q, this run's split gives %q: "+
				"the earlier run held out other facts (another HoldOutFacts or Seed); start a new run", ErrBadHoldOut, r.Arm, r.QuestionID, r.Fact, want)
		}
	}
	return nil
}
