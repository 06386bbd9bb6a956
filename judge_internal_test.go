package ragvsft

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// judgedReport is two answers of the base arm, judged by judgeModel with
// fixed usage; the second from the cache, the third a failed judgement.
func judgedReport(judgeModel string) *Report {
	call := func(cached bool) *JudgeCall {
		return &JudgeCall{Model: judgeModel, Usage: Usage{PromptTokens: 1_000_000, CompletionTokens: 500_000}, Cached: cached,
			Verdict: JudgeCorrect, Reference: &Verdict{Correct: true}}
	}
	r := &Report{
		Settings: ReportSettings{Arms: []Arm{ArmBase}, BaseModel: LocalBaseModel, Questions: 3},
		Results: []Result{
			{Arm: ArmBase, QuestionID: "a", Model: LocalBaseModel, Verdict: Verdict{Type: "judge", Correct: true, Judge: call(false)}},
			{Arm: ArmBase, QuestionID: "b", Model: LocalBaseModel, Verdict: Verdict{Type: "judge", Correct: true, Judge: call(true)}},
			{Arm: ArmBase, QuestionID: "c", Model: LocalBaseModel, Error: "evaluating: not a verdict",
				Verdict: Verdict{Judge: &JudgeCall{Model: judgeModel, Usage: Usage{PromptTokens: 1_000_000}}}},
		},
	}
	r.summarize()
	return r
}

func TestApplyPricesToTheJudge(t *testing.T) {
	tests := []struct {
		name            string
		model           string
		cost, spent     float64
		unpriced        []string
		pricing, inCost string
	}{
		// 3M in at $0.40, 1M out at $1.60; the cached call's 1M in and
		// 0.5M out ($1.20) not spent.
		{"catalog model", DefaultBaseModel, 2.80, 1.60, nil, PricingCatalog,
			"; judge $2.8000 (gpt-4.1-mini-2025-04-14, 3 judgements, 3000000 + 1000000 tokens); total $2.8000 (catalog)."},
		{"unknown model", "my-judge", 0, 0, []string{"my-judge"}, PricingCatalog,
			"; judge unpriced (my-judge, 3 judgements, 3000000 + 1000000 tokens); total of what is priced $0.0000"},
		{"the local model", LocalBaseModel, 0, 0, nil, PricingLocal, "Cost: nothing billed (local model)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := judgedReport(tt.model)
			assert.Equal(t, tt.unpriced, r.ApplyPrices(nil))
			require.NotNil(t, r.Judge)
			assert.Equal(t, 3, r.Judge.Judged)
			assert.Equal(t, 1, r.Judge.Errors)
			assert.Equal(t, 1, r.Judge.Cached)
			assert.Equal(t, Usage{PromptTokens: 3_000_000, CompletionTokens: 1_000_000}, r.Judge.Usage)
			assert.InDelta(t, tt.cost, r.Judge.CostUSD, 1e-9)
			assert.InDelta(t, tt.spent, r.Judge.SpentUSD, 1e-9)
			assert.InDelta(t, tt.cost, r.TotalCostUSD(), 1e-9)
			assert.Equal(t, tt.pricing, r.Pricing)
			assert.Contains(t, r.costLines(), tt.inCost)
			a := r.Judge.Agreement
			require.NotNil(t, a)
			assert.Equal(t, 2, a.Items, "the failed judgement is left out")
			assert.Nil(t, a.Kappa, "both said correct twice: undefined")
		})
	}
}

func TestParseJudgeReply(t *testing.T) {
	tests := []struct {
		reply, verdict, reason, err string
	}{
		{`{"verdict": "correct", "reason": "same date"}`, JudgeCorrect, "same date", ""},
		{"\n {\"reason\": \" 1905, not 1974 \", \"verdict\": \"incorrect\"}\n", JudgeIncorrect, "1905, not 1974", ""},
		{`{"verdict": "abstained", "reason": "says it does not know"}`, JudgeAbstained, "says it does not know", ""},
		{``, "", "", "not one JSON object"},
		{`null`, "", "", `no "verdict"`},
		{`{"verdict": null, "reason": "x"}`, "", "", `no "verdict"`},
		{`{"verdict": 1, "reason": "x"}`, "", "", "not one JSON object"},
		{`{"verdict": "correct", "reason": "x"`, "", "", "not one JSON object"},
		{`{"verdict": "correct", "reason": "x"} trailing`, "", "", "text after the JSON object"},
		{`{"verdict": "", "reason": "x"}`, "", "", `unknown verdict ""`},
		{`{"verdict": "correct", "reason": "` + strings.Repeat("é", 300) + `"`, "", "", "bytes more"},
	}
	for _, tt := range tests {
		v, reason, err := parseJudgeReply(tt.reply)
		if tt.err != "" {
			require.ErrorIs(t, err, ErrJudgeReply, tt.reply)
			assert.Contains(t, err.Error(), tt.err)
			assert.Empty(t, v)
			continue
		}
		require.NoError(t, err, tt.reply)
		assert.Equal(t, tt.verdict, v)
		assert.Equal(t, tt.reason, reason)
	}
}

// The README shows the judge's prompts and schema word for word.
func TestREADMEShowsTheJudgePrompt(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, s := range []string{DefaultJudgePrompts.System, DefaultJudgePrompts.User, JudgeSchema} {
		assert.Contains(t, string(b), "\n"+s+"\n```")
	}
}
