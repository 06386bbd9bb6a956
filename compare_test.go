package ragvsft

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runOf is a report whose arm answered each question with the outcome
// given ("" skips the question).
func runOf(k int, outcomes map[Arm][]Outcome) *Report {
	r := &Report{Settings: ReportSettings{K: k}}
	for _, arm := range []Arm{ArmBase, ArmFineTuned, ArmRAG, ArmFineTunedRAG} {
		os, ok := outcomes[arm]
		if !ok {
			continue
		}
		r.Settings.Arms = append(r.Settings.Arms, arm)
		for i, o := range os {
			if o == "" {
				continue
			}
			id := fmt.Sprintf("q%d", i+1)
			res := Result{Arm: arm, QuestionID: id, Question: "How tall is " + id + "?", Gold: "12 m", Answer: string(o) + " <answer>", Outcome: o}
			if o == OutcomeError {
				res.Answer, res.Error = "", "timeout"
			}
			r.Results = append(r.Results, res)
		}
	}
	r.Settings.Questions = len(r.Results)
	return r
}

func repeat(o Outcome, n int) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}

func TestCompare(t *testing.T) {
	const (
		C = OutcomeCorrect
		W = OutcomeWrong
		A = OutcomeAbstained
		E = OutcomeError
	)
	tests := []struct {
		name  string
		a, b  map[Arm][]Outcome
		want  []ArmComparison // without Flips
		flips map[Arm][]string
	}{
		{
			name:  "errors and unmatched questions are unpaired, an abstention is not correct",
			a:     map[Arm][]Outcome{ArmFineTuned: {C, C, C, A, C, W, ""}},
			b:     map[Arm][]Outcome{ArmFineTuned: {C, W, A, C, E, "", C}},
			want:  []ArmComparison{{Arm: ArmFineTuned, Paired: 4, Unpaired: 3, BothCorrect: 1, OnlyA: 2, OnlyB: 1, PValue: 1}},
			flips: map[Arm][]string{ArmFineTuned: {"q2", "q3", "q4"}},
		},
		{
			name:  "ten flips one way: p = 2/2^10",
			a:     map[Arm][]Outcome{ArmRAG: append(repeat(C, 10), W, W)},
			b:     map[Arm][]Outcome{ArmRAG: append(repeat(W, 10), W, W)},
			want:  []ArmComparison{{Arm: ArmRAG, Paired: 12, NeitherCorrect: 2, OnlyA: 10, PValue: 2.0 / 1024}},
			flips: map[Arm][]string{ArmRAG: {"q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q10"}},
		},
		{
			name: "only the arms both ran, in A's order",
			a:    map[Arm][]Outcome{ArmBase: {A}, ArmRAG: {C}, ArmFineTuned: {W}},
			b:    map[Arm][]Outcome{ArmRAG: {W}, ArmFineTuned: {W}, ArmFineTunedRAG: {C}},
			want: []ArmComparison{{Arm: ArmFineTuned, Paired: 1, NeitherCorrect: 1, PValue: 1},
				{Arm: ArmRAG, Paired: 1, OnlyA: 1, PValue: 1}},
			flips: map[Arm][]string{ArmRAG: {"q1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := runOf(3, tt.a), runOf(3, tt.b)
			c := Compare(a, b)
			assert.Same(t, a, c.A)
			var got []ArmComparison
			for _, ac := range c.Arms {
				var ids []string
				for _, f := range ac.Flips {
					require.Equal(t, f.A.QuestionID, f.B.QuestionID)
					assert.NotEqual(t, f.A.Outcome == OutcomeCorrect, f.B.Outcome == OutcomeCorrect, "a flip is right in one run only")
					ids = append(ids, f.A.QuestionID)
				}
				assert.Equal(t, tt.flips[ac.Arm], ids, "flips of %s", ac.Arm)
				ac.Flips = nil
				got = append(got, ac)
			}
			assert.InDeltaSlice(t, pValues(tt.want), pValues(got), 1e-12)
			for i := range got {
				got[i].PValue = tt.want[min(i, len(tt.want)-1)].PValue
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func pValues(acs []ArmComparison) []float64 {
	var ps []float64
	for _, ac := range acs {
		ps = append(ps, ac.PValue)
	}
	return ps
}

func TestCompareOfNothing(t *testing.T) {
	assert.Empty(t, Compare(nil, runOf(3, map[Arm][]Outcome{ArmRAG: {OutcomeCorrect}})).Arms)
	assert.Empty(t, Compare(&Report{}, &Report{}).Arms)
	assert.Empty(t, Compare(nil, nil).Arms)
}
