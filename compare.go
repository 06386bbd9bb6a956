package ragvsft

import (
	"github.com/ragvsft/ragvsft/internal/stats"
)

// Comparison is two runs of the same questions set side by side, arm by
// arm: which questions one run got right and the other did not, and
// whether the difference is more than chance. Compare makes one;
// report.WriteComparisonHTML renders it.
type Comparison struct {
	// A and B are the two reports, as given to Compare; its JSON form
	// leaves them out.
	A *Report `json:"-"`
	B *Report `json:"-"`
	// Arms compare each arm both reports ran, in A's order.
	Arms []ArmComparison `json:"arms"`
}

// ArmComparison is one arm of a Comparison.
//
// Questions are paired by Result.QuestionID. A pair counts only when both
// runs answered (an error on either side is no evidence: Unpaired counts
// it); an abstention counts as not correct, as in ArmSummary.Accuracy.
type ArmComparison struct {
	Arm Arm `json:"arm"`
	// Paired counts the questions both runs answered.
	Paired int `json:"paired"`
	// Unpaired counts the questions of either run this arm cannot pair:
	// asked in one run only, or an error in either.
	Unpaired int `json:"unpaired"`
	// BothCorrect and NeitherCorrect are the concordant pairs.
	BothCorrect    int `json:"both_correct"`
	NeitherCorrect int `json:"neither_correct"`
	// OnlyA counts the questions A got right and B did not; OnlyB the
	// reverse. They are the discordant pairs of the McNemar test.
	OnlyA int `json:"only_a"`
	OnlyB int `json:"only_b"`
	// PValue is the two-sided exact McNemar p-value on OnlyA and OnlyB (1
	// when there are none): how likely a difference at least this large
	// is if both runs are equally accurate.
	PValue float64 `json:"p_value"`
	// Flips are the discordant questions, in A's order: each one's result
	// in both runs.
	Flips []Flip `json:"flips,omitempty"`
}

// Flip is a question one run got right and the other did not.
type Flip struct {
	A Result `json:"a"`
	B Result `json:"b"`
}

// Compare pairs the results of two reports question by question and, for
// each arm both ran, counts the questions that flipped between them with
// the exact McNemar test on the flips. It is how a change (a prompt, a
// model, k, the evaluator) is shown to matter: two runs of the same
// questions, the one difference between them. Nil reports compare as
// empty ones. It does not modify a or b, and keeps pointers to them.
func Compare(a, b *Report) Comparison {
	c := Comparison{A: a, B: b}
	if a == nil || b == nil {
		return c
	}
	inB := map[Arm]bool{}
	for _, arm := range b.Settings.Arms {
		inB[arm] = true
	}
	for _, arm := range a.Settings.Arms {
		if inB[arm] {
			c.Arms = append(c.Arms, compareArm(arm, a.Results, b.Results))
		}
	}
	return c
}

// compareArm pairs arm's results of a and b.
func compareArm(arm Arm, a, b []Result) ArmComparison {
	ac := ArmComparison{Arm: arm}
	byID := map[string]Result{}
	for _, r := range b {
		if r.Arm == arm {
			byID[r.QuestionID] = r
		}
	}
	inA := map[string]bool{}
	for _, ra := range a {
		if ra.Arm != arm {
			continue
		}
		inA[ra.QuestionID] = true
		rb, ok := byID[ra.QuestionID]
		if !ok || ra.outcome() == OutcomeError || rb.outcome() == OutcomeError {
			ac.Unpaired++
			continue
		}
		ac.Paired++
		// A flip's results say their outcome, even when read from a
		// checkpoint written before outcomes existed.
		ra.Outcome, rb.Outcome = ra.outcome(), rb.outcome()
		okA, okB := ra.Outcome == OutcomeCorrect, rb.Outcome == OutcomeCorrect
		switch {
		case okA && okB:
			ac.BothCorrect++
		case !okA && !okB:
			ac.NeitherCorrect++
		case okA:
			ac.OnlyA++
			ac.Flips = append(ac.Flips, Flip{A: ra, B: rb})
		default:
			ac.OnlyB++
			ac.Flips = append(ac.Flips, Flip{A: ra, B: rb})
		}
	}
	for id := range byID {
		if !inA[id] {
			ac.Unpaired++ // asked in B only
		}
	}
	ac.PValue = stats.McNemarExact(ac.OnlyA, ac.OnlyB)
	return ac
}
