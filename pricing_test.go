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

// The catalog is the one source of training prices and limits: defaults,
// dated snapshots, fine-tuned ids, and a caller's entries over the defaults.
func TestCatalogTrainingPriceAndContext(t *testing.T) {
	custom := Catalog{"gpt-4.1-mini": {FineTunable: true, TrainingContext: 1000, Price: Price{Training: 1}}}
	for _, tc := range []struct {
		catalog  Catalog
		model    string
		training float64
		context  int
		ok       bool
	}{
		{nil, DefaultBaseModel, 5, 65536, true},
		{nil, "gpt-4.1-2025-04-14", 25, 65536, true},
		{nil, "gpt-4o-mini-2024-07-18", 3, 65536, true},
		{nil, "gpt-4o-2024-08-06", 25, 65536, true},
		{nil, "gpt-4.1-nano-2025-04-14", 1.5, 32768, true},
		{nil, "gpt-3.5-turbo-0613", 8, 4096, true},
		{nil, "ft:gpt-4.1-mini-2025-04-14:acme:cities:abc", 5, 65536, true},
		{nil, "llama3", 0, 0, false},
		{custom, DefaultBaseModel, 1, 1000, true},
		{custom, "gpt-4.1-2025-04-14", 25, 65536, true},
	} {
		t.Run(tc.model, func(t *testing.T) {
			info, ok := lookupModel(tc.catalog, tc.model)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.training, info.Price.Training)
			assert.Equal(t, tc.context, info.TrainingContext)
		})
	}
	t.Run("defaults are a copy", func(t *testing.T) {
		d := DefaultCatalog()
		d["gpt-4.1-mini"] = ModelInfo{}
		info, _ := DefaultCatalog().Lookup(DefaultBaseModel)
		assert.Equal(t, 5.0, info.Price.Training)
	})
}

// Base and fine-tuned models have their own prices, and cached prompt
// tokens are cheaper.
func TestChatPrice(t *testing.T) {
	for _, tc := range []struct {
		model                string
		input, cached, outpt float64
	}{
		{DefaultBaseModel, 0.40, 0.10, 1.60},
		{"ft:gpt-4.1-mini-2025-04-14:acme::abc", 0.80, 0.20, 3.20},
		{"gpt-4.1-2025-04-14", 2.00, 0.50, 8.00},
		{"ft:gpt-4.1-2025-04-14:acme::abc", 3.00, 0.75, 12.00},
		{"gpt-4o-mini-2024-07-18", 0.15, 0.075, 0.60},
		{"ft:gpt-4o-mini-2024-07-18:acme::abc", 0.30, 0.15, 1.20},
		{"text-embedding-3-small", 0.02, 0, 0},
		{"text-embedding-3-large", 0.13, 0, 0},
	} {
		t.Run(tc.model, func(t *testing.T) {
			p, ok := Catalog(nil).ChatPrice(tc.model)
			require.True(t, ok)
			assert.Equal(t, tc.input, p.Input)
			assert.Equal(t, tc.cached, p.CachedInput)
			assert.Equal(t, tc.outpt, p.Output)
			assert.Equal(t, tc.input/2, p.BatchInput, "the Batch API is half price")
		})
	}
	_, ok := Catalog(nil).ChatPrice("llama3")
	assert.False(t, ok)
}

func TestPriceChatCost(t *testing.T) {
	p := Price{Input: 3, CachedInput: 1, Output: 6}
	assert.InDelta(t, 0.0012, p.ChatCost(Usage{PromptTokens: 200, CompletionTokens: 100}), 1e-12)
	// 150 of the 200 prompt tokens cached: 50*3 + 150*1 + 100*6.
	assert.InDelta(t, 0.0009, p.ChatCost(Usage{PromptTokens: 200, CachedPromptTokens: 150, CompletionTokens: 100}), 1e-12)
	noCached := Price{Input: 3, Output: 6}
	assert.InDelta(t, 0.0012, noCached.ChatCost(Usage{PromptTokens: 200, CachedPromptTokens: 150, CompletionTokens: 100}), 1e-12,
		"without a cached-input price, cached tokens cost the input price")
}

func TestEstimateFineTune(t *testing.T) {
	data := cityExamples(100)
	tokens := func(model string) int {
		total := 0
		for _, ex := range data {
			n, err := CountMessageTokens(model, ex.Messages)
			require.NoError(t, err)
			total += n
		}
		return total
	}
	perEpoch := tokens(DefaultBaseModel)
	for _, tc := range []struct {
		name    string
		req     FineTuneRequest
		catalog Catalog
		epochs  int
		price   float64
		known   bool
	}{
		{"auto epochs", FineTuneRequest{BaseModel: DefaultBaseModel, Training: data}, nil, 3, 5, true},
		{"explicit epochs", FineTuneRequest{BaseModel: DefaultBaseModel, Training: data, Hyperparameters: Hyperparameters{Epochs: 10}}, nil, 10, 5, true},
		{"custom price", FineTuneRequest{BaseModel: DefaultBaseModel, Training: data}, Catalog{"gpt-4.1-mini": {FineTunable: true, Price: Price{Training: 100}}}, 3, 100, true},
		{"unknown model", FineTuneRequest{BaseModel: "local-model", Training: data}, nil, 3, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			perEpoch := tokens(tc.req.BaseModel)
			e, err := EstimateFineTune(tc.req, tc.catalog)
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
		e, err := EstimateFineTune(FineTuneRequest{BaseModel: DefaultBaseModel, Training: data, Validation: cityExamples(10)}, nil)
		require.NoError(t, err)
		assert.Positive(t, e.ValidationTokens)
		assert.Equal(t, perEpoch*3, e.BilledTokens)
	})
	t.Run("the catalog's training context limits each example", func(t *testing.T) {
		e, err := EstimateFineTune(FineTuneRequest{BaseModel: DefaultBaseModel, Training: data}, nil)
		require.NoError(t, err)
		assert.Equal(t, 65536, e.ContextLimit)
		tight := Catalog{"gpt-4.1-mini": {FineTunable: true, TrainingContext: e.MaxExampleTokens - 1, Price: Price{Training: 5}}}
		_, err = EstimateFineTune(FineTuneRequest{BaseModel: DefaultBaseModel, Training: data}, tight)
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		assert.NotEmpty(t, ve.Problems)
	})
	t.Run("string", func(t *testing.T) {
		e := Estimate{BaseModel: "gpt-3.5-turbo", Examples: 100, TrainingTokens: 4000, Hyperparameters: Hyperparameters{Epochs: 3},
			BilledTokens: 12000, Price: Price{Training: 8}, PriceKnown: true, Cost: 0.096}
		assert.Equal(t, "fine-tuning gpt-3.5-turbo on 100 examples: 4000 tokens x 3 epochs = 12000 billed training tokens, about $0.10 at $8.00 per 1M tokens", e.String())
		assert.False(t, strings.Contains(e.String(), "unknown"))
	})
}
