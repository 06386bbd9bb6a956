package ragvsft

import (
	"fmt"
	"strings"
)

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
	// base model accepts in one training example (the catalog's
	// TrainingContext; 0 when unknown).
	MaxExampleTokens int `json:"max_example_tokens"`
	ContextLimit     int `json:"context_limit,omitempty"`
	// Hyperparameters are resolved: "auto" replaced by what OpenAI chooses
	// for this many examples.
	Hyperparameters Hyperparameters `json:"hyperparameters"`
	// BilledTokens is TrainingTokens times epochs.
	BilledTokens int `json:"billed_tokens"`
	// Price is the base model's price from the catalog; PriceKnown is false
	// when the catalog has no training price for it, and then Cost is 0.
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
// would and works out the job's tokens and cost, offline, from the base
// model's TrainingContext and Training price in catalog (its entries over
// DefaultCatalog's; nil means DefaultCatalog alone). A file OpenAI would
// reject returns a *ValidationError naming every problem and its line.
func EstimateFineTune(req FineTuneRequest, catalog Catalog) (Estimate, error) {
	p, err := planFineTune(req, catalog)
	if err != nil {
		return Estimate{}, err
	}
	return p.estimate, nil
}
