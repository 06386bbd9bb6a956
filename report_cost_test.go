package ragvsft

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestApplyPrices(t *testing.T) {
	newReport := func() *Report {
		r := &Report{
			Settings: ReportSettings{Arms: []Arm{ArmBase, ArmFineTuned}, BaseModel: "gpt-4o-mini", Questions: 2},
			FineTune: &FineTuned{ModelID: "ft:gpt-4o-mini-2024-07-18:org::abc", TrainedTokens: 2_000_000},
			Results: []Result{
				{Arm: ArmBase, QuestionID: "a", Model: "gpt-4o-mini-2024-07-18", Usage: Usage{PromptTokens: 1_000_000, CompletionTokens: 500_000}},
				{Arm: ArmBase, QuestionID: "b", Usage: Usage{PromptTokens: 1_000_000}}, // no model: the base model's price
				{Arm: ArmFineTuned, QuestionID: "a", Usage: Usage{CompletionTokens: 1_000_000}},
				{Arm: ArmFineTuned, QuestionID: "b", Model: "mystery", Usage: Usage{PromptTokens: 1_000_000}},
			},
		}
		r.summarize()
		return r
	}
	prices := PriceTable{"gpt-4o-mini": {Training: 3, Input: 0.3, Output: 1.2}}

	tests := []struct {
		name     string
		prices   PriceTable
		pricing  string
		base, ft float64
		fineTune float64
		unpriced []string
		md       string
	}{
		{"price table", prices, PricingTable, 0.3 + 0.6 + 0.3, 1.2, 6, []string{"mystery"},
			"Cost: base $1.2000, fine-tuned $1.2000 + 1 unpriced answers; fine-tuning $6.0000; total of what is priced $8.4000 (price table)."},
		{"local", nil, PricingLocal, 0, 0, 0, nil, "Cost: nothing billed (local model)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReport()
			unpriced := r.ApplyPrices(tt.prices)
			assert.Equal(t, tt.unpriced, unpriced)
			assert.Equal(t, tt.pricing, r.Pricing)
			base, _ := r.Arm(ArmBase)
			ft, _ := r.Arm(ArmFineTuned)
			assert.InDelta(t, tt.base, base.CostUSD, 1e-9)
			assert.InDelta(t, tt.ft, ft.CostUSD, 1e-9)
			assert.InDelta(t, tt.fineTune, r.FineTuneCostUSD, 1e-9)
			assert.InDelta(t, tt.base+tt.ft+tt.fineTune, r.TotalCostUSD(), 1e-9)

			var md, html bytes.Buffer
			require.NoError(t, r.WriteMarkdown(&md))
			assert.Contains(t, md.String(), tt.md)
			require.NoError(t, r.WriteHTML(&html))
			assert.Contains(t, html.String(), tt.md)
		})
	}

	t.Run("unpriced report says nothing about cost", func(t *testing.T) {
		var md bytes.Buffer
		require.NoError(t, newReport().WriteMarkdown(&md))
		assert.NotContains(t, md.String(), "Cost")
	})
}

func TestApplyPricesSeparatesCachedAnswers(t *testing.T) {
	r := &Report{
		Settings: ReportSettings{Arms: []Arm{ArmRAG}, BaseModel: "gpt-4o-mini", Questions: 2},
		Results: []Result{
			{Arm: ArmRAG, QuestionID: "a", Usage: Usage{PromptTokens: 1_000_000}},
			{Arm: ArmRAG, QuestionID: "b", Usage: Usage{PromptTokens: 1_000_000}, Cached: true},
		},
	}
	r.summarize()
	r.ApplyPrices(PriceTable{"gpt-4o-mini": {Input: 0.3, Output: 1.2}})
	rag, _ := r.Arm(ArmRAG)
	assert.Equal(t, 1, rag.Cached)
	assert.InDelta(t, 0.6, rag.CostUSD, 1e-9, "the experiment's cost counts every answer")
	assert.InDelta(t, 0.3, rag.SpentUSD, 1e-9, "what this run paid leaves the cached answer out")
	var md bytes.Buffer
	require.NoError(t, r.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "1 answers came from the cache: this run paid $0.3000 for answers.")
}
