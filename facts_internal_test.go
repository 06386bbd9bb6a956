package ragvsft

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func factExamples(n int) exampleSet {
	var out exampleSet
	for i := range n {
		out = append(out, Example{ID: fmt.Sprintf("fact-%02d", i), Messages: []Message{
			{Role: RoleUser, Content: fmt.Sprintf("What is fact %d?", i)},
			{Role: RoleAssistant, Content: fmt.Sprintf("Fact %d is %d.", i, 1000+i)},
		}})
	}
	return out
}

func TestSplitFacts(t *testing.T) {
	exs := factExamples(40)
	held := func(t *testing.T, ds Dataset, f float64, seed int64) map[string]bool {
		t.Helper()
		sp, err := splitFacts(ds, f, seed)
		require.NoError(t, err)
		assert.Len(t, sp.trained, len(exs)-len(sp.heldOut))
		for _, ex := range sp.trained {
			assert.False(t, sp.heldOut[ex.ID], "%s is trained and held out", ex.ID)
		}
		return sp.heldOut
	}
	t.Run("count", func(t *testing.T) {
		for _, tc := range []struct {
			f    float64
			want int
		}{{0.3, 12}, {0.5, 20}, {0.01, 1}, {0.999, 39}} {
			assert.Len(t, held(t, exs, tc.f, 42), tc.want, "f=%v", tc.f)
		}
	})
	t.Run("deterministic and order free", func(t *testing.T) {
		reversed := make(exampleSet, len(exs))
		for i, ex := range exs {
			reversed[len(exs)-1-i] = ex
		}
		assert.Equal(t, held(t, exs, 0.3, 42), held(t, exs, 0.3, 42))
		assert.Equal(t, held(t, exs, 0.3, 42), held(t, reversed, 0.3, 42))
	})
	t.Run("the seed draws another split", func(t *testing.T) {
		assert.NotEqual(t, held(t, exs, 0.3, 42), held(t, exs, 0.3, 43))
	})
	t.Run("nested", func(t *testing.T) {
		small, large := held(t, exs, 0.3, 7), held(t, exs, 0.5, 7)
		for id := range small {
			assert.True(t, large[id], "%s held out at 0.3 but not at 0.5", id)
		}
	})
	t.Run("zero holds nothing out", func(t *testing.T) {
		sp, err := splitFacts(exs, 0, 42)
		require.NoError(t, err)
		assert.False(t, sp.active())
		assert.Equal(t, "", sp.fact(Question{DocID: "fact-01"}))
		assert.Len(t, sp.training(exs).Examples(), len(exs))
	})
	for _, f := range []float64{-0.1, 1, 1.5} {
		t.Run(fmt.Sprintf("bad %v", f), func(t *testing.T) {
			_, err := splitFacts(exs, f, 42)
			assert.ErrorIs(t, err, ErrBadHoldOut)
		})
	}
	t.Run("one example", func(t *testing.T) {
		_, err := splitFacts(exs[:1], 0.5, 42)
		assert.ErrorIs(t, err, ErrBadHoldOut)
	})
}

func TestFactOfQuestion(t *testing.T) {
	exs := factExamples(10)
	sp, err := splitFacts(exs, 0.5, 42)
	require.NoError(t, err)
	var heldID, trainedID string
	for _, ex := range exs {
		if sp.heldOut[ex.ID] {
			heldID = ex.ID
		} else {
			trainedID = ex.ID
		}
	}
	for _, tc := range []struct {
		name, docID, want string
	}{
		{"held-out example", heldID, FactHeldOut},
		{"trained example", trainedID, FactTrained},
		{"earlier turn of a held-out example", heldID + "#2", FactHeldOut},
		{"earlier turn of a trained example", trainedID + "#4", FactTrained},
		{"no doc id", "", FactUnmapped},
		{"a document of no example", "passage-7", FactUnmapped},
		{"# of no example", "passage#2", FactUnmapped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, sp.fact(Question{ID: "q", DocID: tc.docID}))
		})
	}
	ds := sp.training(exs)
	for _, ex := range ds.Examples() {
		assert.False(t, sp.heldOut[ex.ID], "%s is held out but trained on", ex.ID)
	}
	assert.Len(t, ds.Examples(), 5)
}

// A checkpoint's fine-tuned answers are of the split they were trained on:
// another split is refused, the same one is accepted, and the other arms
// do not depend on it.
func TestCheckPreviousSplit(t *testing.T) {
	exs := factExamples(10)
	qs, err := Questions(exs)
	require.NoError(t, err)
	results := func(sp factSplit, arm Arm) []Result {
		var out []Result
		for _, q := range qs {
			out = append(out, Result{Arm: arm, QuestionID: q.ID, Question: q.Text, Fact: sp.fact(q)})
		}
		return out
	}
	a, err := splitFacts(exs, 0.5, 42)
	require.NoError(t, err)
	b, err := splitFacts(exs, 0.5, 43)
	require.NoError(t, err)
	none, err := splitFacts(exs, 0, 42)
	require.NoError(t, err)

	require.NoError(t, a.checkPrevious(results(a, ArmFineTuned), qs))
	assert.ErrorIs(t, a.checkPrevious(results(b, ArmFineTuned), qs), ErrBadHoldOut, "another seed")
	assert.ErrorIs(t, a.checkPrevious(results(none, ArmFineTunedRAG), qs), ErrBadHoldOut, "a run that trained on everything")
	assert.ErrorIs(t, none.checkPrevious(results(a, ArmFineTuned), qs), ErrBadHoldOut, "a run that held facts out")
	assert.NoError(t, a.checkPrevious(results(b, ArmBase), qs), "the base arm trains on nothing")
	assert.NoError(t, a.checkPrevious(results(none, ArmRAG), qs))
}
