package ragvsft

import (
	"fmt"
	"strings"
)

// PriceTable maps a base model name, or a prefix of one, to its fine-tuning
// prices. A model is priced by its exact name, else by the longest entry that
// is a prefix of it, so "gpt-4o-mini" prices "gpt-4o-mini-2024-07-18".
//
// Prices change: pass your own table (OpenAIFineTuner.Prices) for current
// ones. Entries of a caller's table take precedence over DefaultPrices.
type PriceTable map[string]Price

// DefaultPrices returns OpenAI's published fine-tuning prices for the chat
// models that can be fine-tuned (standard tier, USD per million tokens, as
// listed on openai.com/api/pricing in 2025). The caller owns the returned
// map.
func DefaultPrices() PriceTable {
	t := PriceTable{}
	for k, info := range defaultCatalog {
		if info.Price.Training > 0 {
			t[k] = Price{Training: info.Price.Training, Input: info.FineTunedPrice.Input, Output: info.FineTunedPrice.Output}
		}
	}
	return t
}

// Lookup returns the price of model: an exact entry, else the longest entry
// that prefixes it. A fine-tuned id ("ft:gpt-4o-mini-2024-07-18:org::id") is
// priced as its base model. ok is false when no entry matches.
func (t PriceTable) Lookup(model string) (p Price, ok bool) {
	m := baseModelOf(model)
	if p, ok := t[m]; ok {
		return p, true
	}
	best := ""
	for k := range t {
		if strings.HasPrefix(m, k) && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return Price{}, false
	}
	return t[best], true
}

// lookupPrice prices model from the caller's table, then from the defaults.
func lookupPrice(custom PriceTable, model string) (Price, bool) {
	if p, ok := custom.Lookup(model); ok {
		return p, true
	}
	return DefaultPrices().Lookup(model)
}

// baseModelOf strips a fine-tuned id down to its base model:
// "ft:gpt-3.5-turbo-0125:org:suffix:id" -> "gpt-3.5-turbo-0125".
func baseModelOf(model string) string {
	if rest, ok := strings.CutPrefix(model, "ft:"); ok {
		if i := strings.IndexByte(rest, ':'); i >= 0 {
			return rest[:i]
		}
		return rest
	}
	return model
}

// ContextLimit returns the most tokens one training example may have for a
// base model, or 0 when the model is unknown and no limit is checked.
func ContextLimit(model string) int {
	info, _ := defaultCatalog.Lookup(model)
	return info.TrainingContext
}

// Estimate is what a fine-tuning job will cost, worked out offline before
// anything is uploaded.
type Estimate struct {
	BaseModel string `json:"base_model"`
	// Encoding is the tokenizer the tokens were counted with.
	Encoding string `json:"encoding"`
	Examples int    `json:"examples"`
	// TrainingTokens is the training file's tokens, counted as OpenAI
	// counts them; one epoch trains on all of them.
	TrainingTokens int `json:"training_tokens"`
	// ValidationTokens is the validation file's tokens; validation is not
	// billed.
	ValidationTokens int `json:"validation_tokens,omitempty"`
	// MaxExampleTokens is the longest example; ContextLimit is the most the
	// base model accepts (0 when unknown).
	MaxExampleTokens int `json:"max_example_tokens"`
	ContextLimit     int `json:"context_limit,omitempty"`
	// Hyperparameters are resolved: "auto" replaced by what OpenAI chooses
	// for this many examples.
	Hyperparameters Hyperparameters `json:"hyperparameters"`
	// BilledTokens is TrainingTokens times epochs.
	BilledTokens int `json:"billed_tokens"`
	// Price is the base model's price; PriceKnown is false when the price
	// table has no entry for it, and then Cost is 0.
	Price      Price `json:"price"`
	PriceKnown bool  `json:"price_known"`
	// Cost is the training cost in US dollars.
	Cost float64 `json:"cost_usd"`
}

// String is the estimate as one line for a terminal.
func (e Estimate) String() string {
	s := fmt.Sprintf("fine-tuning %s on %d examples: %d tokens x %d epochs = %d billed training tokens",
		e.BaseModel, e.Examples, e.TrainingTokens, e.Hyperparameters.Epochs, e.BilledTokens)
	if !e.PriceKnown {
		return s + ", cost unknown (no price for this model)"
	}
	return s + fmt.Sprintf(", about $%.2f at $%.2f per 1M tokens", e.Cost, e.Price.Training)
}

// EstimateFineTune checks req's training (and validation) data as OpenAI
// would and works out the job's tokens and cost, offline. prices may be nil
// for DefaultPrices. A file OpenAI would reject returns a *ValidationError
// naming every problem and its line.
func EstimateFineTune(req FineTuneRequest, prices PriceTable) (Estimate, error) {
	p, err := planFineTune(req, prices)
	if err != nil {
		return Estimate{}, err
	}
	return p.estimate, nil
}
