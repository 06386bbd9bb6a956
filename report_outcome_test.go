package ragvsft

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ragvsft/ragvsft/internal/reportfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outcomesReport has an arm of each kind: base answers some right, some
// wrong, abstains on some and fails on one; fine-tuned only abstains; rag
// only fails.
func outcomesReport() *Report {
	r := &Report{Complete: true, Settings: ReportSettings{Arms: []Arm{ArmBase, ArmFineTuned, ArmRAG}, Questions: 8, K: 5}}
	add := func(arm Arm, outcome Outcome, n int) {
		for range n {
			res := Result{Arm: arm, QuestionID: "q" + string(rune('a'+len(r.Results)%8)), Outcome: outcome, GoldRank: -1}
			switch outcome {
			case OutcomeCorrect:
				res.Answer, res.Verdict = "right", Verdict{Correct: true}
			case OutcomeWrong:
				res.Answer, res.Verdict = "wrong", Verdict{Reason: "got 1, want 2"}
			case OutcomeAbstained:
				res.Answer = "I don't know."
			case OutcomeError:
				res.Error = "upstream said 503"
			}
			r.Results = append(r.Results, res)
		}
	}
	add(ArmBase, OutcomeCorrect, 3)
	add(ArmBase, OutcomeWrong, 1)
	add(ArmBase, OutcomeAbstained, 3)
	add(ArmBase, OutcomeError, 1)
	add(ArmFineTuned, OutcomeAbstained, 8)
	add(ArmRAG, OutcomeError, 8)
	r.summarize()
	return r
}

func TestSummaryCountsOutcomes(t *testing.T) {
	r := outcomesReport()
	for _, tt := range []struct {
		arm                               Arm
		correct, wrong, abstained, errors int
		accuracy, hallucination           string
	}{
		{ArmBase, 3, 1, 3, 1, "42.9%", "25.0%"},
		{ArmFineTuned, 0, 0, 8, 0, "0.0%", "n/a"},
		{ArmRAG, 0, 0, 0, 8, "n/a", "n/a"},
	} {
		s, ok := r.Arm(tt.arm)
		require.True(t, ok)
		assert.Equal(t, [4]int{tt.correct, tt.wrong, tt.abstained, tt.errors}, [4]int{s.Correct, s.Wrong, s.Abstained, s.Errors}, "arm %s", tt.arm)
		assert.Equal(t, r.Settings.Questions, s.Correct+s.Wrong+s.Abstained+s.Errors, "arm %s: the four add up", tt.arm)
		assert.Equal(t, tt.accuracy, s.accuracyText(), "arm %s", tt.arm)
		assert.Equal(t, tt.hallucination, s.hallucinationText(), "arm %s", tt.arm)
	}
}

func TestMarkdownShowsOutcomes(t *testing.T) {
	var b strings.Builder
	require.NoError(t, outcomesReport().WriteMarkdown(&b))
	md := b.String()
	t.Log("\n" + md)
	assert.Contains(t, md, "| arm | correct | wrong | abstained | errors | accuracy | 95% CI | hallucination rate | mean latency |\n")
	assert.Contains(t, md, "| base | 3 | 1 | 3 | 1 | 42.9% | 15.8% – 75.0% | 25.0% |")
	assert.Contains(t, md, "| fine-tuned | 0 | 0 | 8 | 0 | 0.0% | 0.0% – 32.4% | n/a |")
	assert.Contains(t, md, "| rag | 0 | 0 | 0 | 8 | n/a | n/a | n/a |", "nothing answered: n/a, not 0%")
	assert.Contains(t, md, reportfmt.OutcomesLegend)
}

func TestReportJSONOutcomes(t *testing.T) {
	r := outcomesReport()
	r.SchemaVersion = ReportSchemaVersion
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var raw struct {
		SchemaVersion int              `json:"schema_version"`
		Arms          []map[string]any `json:"arms"`
		Results       []map[string]any `json:"results"`
	}
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.Equal(t, 4, raw.SchemaVersion)
	require.Len(t, raw.Arms, 3)
	base, ft, rag := raw.Arms[0], raw.Arms[1], raw.Arms[2]
	assert.Equal(t, []any{3.0, 1.0, 3.0, 1.0, 7.0}, []any{base["correct"], base["wrong"], base["abstained"], base["errors"], base["answered"]})
	assert.InDelta(t, 3.0/7, base["accuracy"], 1e-12)
	assert.InDelta(t, 0.25, base["hallucination_rate"], 1e-12)
	assert.Equal(t, 0.0, ft["accuracy"], "abstaining on everything is 0% accurate")
	assert.Contains(t, ft, "hallucination_rate")
	assert.Nil(t, ft["hallucination_rate"], "nothing answered without abstaining: null")
	assert.Nil(t, rag["accuracy"], "nothing answered: null, not 0")
	assert.Nil(t, rag["hallucination_rate"])
	assert.Equal(t, "correct", raw.Results[0]["outcome"])
	assert.Equal(t, "abstained", raw.Results[4]["outcome"])

	var back Report
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r.Arms, back.Arms, "the summaries read back as they were")
}

// A result without an outcome (built by hand, or from a checkpoint older
// than outcomes) is summarized by its error and verdict.
func TestSummaryOfResultsWithoutOutcome(t *testing.T) {
	r := &Report{Settings: ReportSettings{Arms: []Arm{ArmBase}, Questions: 3}, Results: []Result{
		{Arm: ArmBase, QuestionID: "a", Verdict: Verdict{Correct: true}},
		{Arm: ArmBase, QuestionID: "b", Answer: "I don't know."},
		{Arm: ArmBase, QuestionID: "c", Error: "503"},
	}}
	r.summarize()
	s, _ := r.Arm(ArmBase)
	assert.Equal(t, [4]int{1, 1, 0, 1}, [4]int{s.Correct, s.Wrong, s.Abstained, s.Errors},
		"without an Experiment's rule, a refusal recorded without outcome counts as its verdict says")
}
