package ragvsft

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The spreads are over the complete runs, each rate where it is defined.
func TestRepeatReportSpread(t *testing.T) {
	run := func(complete bool, ft ArmSummary) *Report {
		ft.Arm = ArmFineTuned
		return &Report{Complete: complete, Arms: []ArmSummary{
			{Arm: ArmBase, Answered: 10, Abstained: 10}, // accuracy 0, no hallucination rate
			ft,
		}, Splits: []Split{{Name: SplitFacts, Groups: []SplitGroup{{Name: FactHeldOut, Arms: []SplitArm{
			{Arm: ArmFineTuned, Answered: ft.Answered, Correct: ft.Correct, Wrong: ft.Wrong, Accuracy: ft.Accuracy, HallucinationRate: ft.HallucinationRate},
		}}}}}}
	}
	rr := &RepeatReport{Seeds: []int64{1, 2, 3, 4}, Reports: []*Report{
		run(true, ArmSummary{Answered: 10, Correct: 6, Wrong: 4, Accuracy: 0.6, HallucinationRate: 0.4}),
		run(true, ArmSummary{Answered: 10, Correct: 8, Wrong: 2, Accuracy: 0.8, HallucinationRate: 0.2}),
		run(false, ArmSummary{Answered: 1, Correct: 0, Wrong: 1, Accuracy: 0, HallucinationRate: 1}), // cut short: left out
		run(true, ArmSummary{Answered: 10, Correct: 7, Wrong: 3, Accuracy: 0.7, HallucinationRate: 0.3}),
	}}
	rr.summarize()
	assert.Equal(t, 3, rr.Runs)
	require.Len(t, rr.Arms, 2)
	base, ft := rr.Arms[0], rr.Arms[1]
	assert.Equal(t, Spread{N: 3}, base.Accuracy)
	assert.Equal(t, Spread{}, base.HallucinationRate)

	want := Spread{N: 3, Mean: 0.7, StdDev: 0.1, Min: 0.6, Max: 0.8} // 0.6, 0.7, 0.8: squares 0.02 over 2
	for name, got := range map[string]Spread{"accuracy": ft.Accuracy, "split": rr.Splits[0].Arms[0].Accuracy} {
		assert.Equal(t, want.N, got.N, name)
		assert.InDelta(t, want.Mean, got.Mean, 1e-12, name)
		assert.InDelta(t, want.StdDev, got.StdDev, 1e-12, name)
		assert.InDelta(t, want.Min, got.Min, 1e-12, name)
		assert.InDelta(t, want.Max, got.Max, 1e-12, name)
	}
	assert.InDelta(t, 0.3, ft.HallucinationRate.Mean, 1e-12)
	assert.Equal(t, SplitFacts, rr.Splits[0].Split)
	assert.Equal(t, FactHeldOut, rr.Splits[0].Group)

	b, err := json.Marshal(base)
	require.NoError(t, err)
	assert.JSONEq(t, `{"arm":"base","accuracy":{"n":3,"mean":0,"sd":0,"min":0,"max":0},"hallucination_rate":{"n":0,"mean":null,"sd":null,"min":null,"max":null}}`, string(b))
	var back ArmSpread
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, base, back)
	assert.Equal(t, "n/a", back.HallucinationRate.text())
	assert.Equal(t, "70.0% ± 10.0% (60.0% – 80.0%)", ft.Accuracy.text())
	assert.False(t, math.IsNaN(ft.Accuracy.StdDev))
}
