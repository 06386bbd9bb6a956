package ragvsft

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cityExamples builds n examples in the article's format.
func cityExamples(n int) exampleSet {
	out := make(exampleSet, n)
	for i := range out {
		out[i] = Example{ID: fmt.Sprintf("line %d", i+1), Line: i + 1, Messages: []Message{
			{Role: RoleSystem, Content: "You're a helpful assistant"},
			{Role: RoleUser, Content: fmt.Sprintf("What is the population of City_%d?", i+1)},
			{Role: RoleAssistant, Content: fmt.Sprintf("City_%d has about %d inhabitants.", i+1, 100000+i*7919)},
		}}
	}
	return out
}

func TestPriceTableLookup(t *testing.T) {
	custom := PriceTable{"gpt-4o-mini": {Training: 1}}
	for _, tc := range []struct {
		table PriceTable
		model string
		want  float64
		ok    bool
	}{
		{DefaultPrices(), "gpt-3.5-turbo", 8, true},
		{DefaultPrices(), "gpt-3.5-turbo-0125", 8, true},
		{DefaultPrices(), "gpt-4o-mini-2024-07-18", 3, true},
		{DefaultPrices(), "gpt-4o-2024-08-06", 25, true},
		{DefaultPrices(), "gpt-4.1-nano-2025-04-14", 1.5, true},
		{DefaultPrices(), "ft:gpt-4o-mini-2024-07-18:acme:cities:abc", 3, true},
		{DefaultPrices(), "llama3", 0, false},
		{custom, "gpt-4o-mini-2024-07-18", 1, true},
		{custom, "gpt-4o-2024-08-06", 0, false},
		{nil, "gpt-4o", 0, false},
	} {
		t.Run(tc.model, func(t *testing.T) {
			p, ok := tc.table.Lookup(tc.model)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, p.Training)
		})
	}
	t.Run("custom before defaults", func(t *testing.T) {
		p, ok := lookupPrice(custom, "gpt-4o-mini")
		require.True(t, ok)
		assert.Equal(t, 1.0, p.Training)
		p, ok = lookupPrice(custom, "gpt-3.5-turbo")
		require.True(t, ok)
		assert.Equal(t, 8.0, p.Training)
	})
	t.Run("defaults are a copy", func(t *testing.T) {
		d := DefaultPrices()
		d["gpt-3.5-turbo"] = Price{}
		p, _ := DefaultPrices().Lookup("gpt-3.5-turbo")
		assert.Equal(t, 8.0, p.Training)
	})
}

func TestPriceChatCost(t *testing.T) {
	p := Price{Input: 3, Output: 6}
	assert.InDelta(t, 0.0012, p.ChatCost(Usage{PromptTokens: 200, CompletionTokens: 100}), 1e-12)
}

func TestContextLimit(t *testing.T) {
	for model, want := range map[string]int{
		"gpt-3.5-turbo":                 16385,
		"gpt-3.5-turbo-0613":            4096,
		"gpt-4o-mini-2024-07-18":        65536,
		"ft:gpt-3.5-turbo-0613:acme::x": 4096,
		"llama3":                        0,
	} {
		assert.Equal(t, want, ContextLimit(model), model)
	}
}

func TestEstimateFineTune(t *testing.T) {
	data := cityExamples(100)
	perEpoch := 0
	for _, ex := range data {
		n, err := CountMessageTokens("gpt-3.5-turbo", ex.Messages)
		require.NoError(t, err)
		perEpoch += n
	}
	for _, tc := range []struct {
		name   string
		req    FineTuneRequest
		prices PriceTable
		epochs int
		price  float64
		known  bool
	}{
		{"auto epochs", FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: data}, nil, 3, 8, true},
		{"explicit epochs", FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: data, Hyperparameters: Hyperparameters{Epochs: 10}}, nil, 10, 8, true},
		{"custom price", FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: data}, PriceTable{"gpt-3.5-turbo": {Training: 100}}, 3, 100, true},
		{"unknown model", FineTuneRequest{BaseModel: "local-model", Training: data}, nil, 3, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := EstimateFineTune(tc.req, tc.prices)
			require.NoError(t, err)
			assert.Equal(t, 100, e.Examples)
			assert.Equal(t, perEpoch, e.TrainingTokens)
			assert.Equal(t, tc.epochs, e.Hyperparameters.Epochs)
			assert.Equal(t, perEpoch*tc.epochs, e.BilledTokens)
			assert.Equal(t, tc.known, e.PriceKnown)
			assert.InDelta(t, float64(perEpoch*tc.epochs)*tc.price/1e6, e.Cost, 1e-12)
			assert.Contains(t, e.String(), fmt.Sprintf("%d billed training tokens", perEpoch*tc.epochs))
			if !tc.known {
				assert.Contains(t, e.String(), "cost unknown")
			}
		})
	}
	t.Run("validation tokens are counted, not billed", func(t *testing.T) {
		e, err := EstimateFineTune(FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: data, Validation: cityExamples(10)}, nil)
		require.NoError(t, err)
		assert.Positive(t, e.ValidationTokens)
		assert.Equal(t, perEpoch*3, e.BilledTokens)
	})
	t.Run("string", func(t *testing.T) {
		e := Estimate{BaseModel: "gpt-3.5-turbo", Examples: 100, TrainingTokens: 4000, Hyperparameters: Hyperparameters{Epochs: 3},
			BilledTokens: 12000, Price: Price{Training: 8}, PriceKnown: true, Cost: 0.096}
		assert.Equal(t, "fine-tuning gpt-3.5-turbo on 100 examples: 4000 tokens x 3 epochs = 12000 billed training tokens, about $0.10 at $8.00 per 1M tokens", e.String())
		assert.False(t, strings.Contains(e.String(), "unknown"))
	})
}
