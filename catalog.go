package ragvsft

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultBaseModel is the base model the OpenAI path fine-tunes and asks when
// none is named. The article used gpt-3.5-turbo, which OpenAI shut down on
// 2026-10-23; gpt-4.1-mini-2025-04-14 is the smallest model the supervised
// fine-tuning guide still lists, so it stands in for it (see ArticleModel).
const DefaultBaseModel = "gpt-4.1-mini-2025-04-14"

// ArticleModel is the model of the article the cities experiment reproduces.
// It is shut down: reports say which model stood in for it.
const ArticleModel = "gpt-3.5-turbo"

// The dates of OpenAI's wind-down of self-serve fine-tuning, as its API
// deprecations page gives them (notice of 2026-05-07). Inference on models
// already fine-tuned goes on until their base model shuts down.
const (
	// FineTuningClosedToNewOrgs: organizations that had never fine-tuned
	// could no longer create jobs.
	FineTuningClosedToNewOrgs = "2026-05-07"
	// FineTuningClosedToInactiveOrgs: organizations with no inference on a
	// fine-tuned model in the previous 60 days could no longer create jobs.
	FineTuningClosedToInactiveOrgs = "2026-07-02"
	// FineTuningClosed: nobody can create a fine-tuning job.
	FineTuningClosed = "2027-01-06"
)

// Price is what a provider charges for one model, in US dollars per million
// tokens. A zero field is a price the catalog does not know, or a service the
// model does not offer.
type Price struct {
	// Training is charged per trained token (tokens in the file times
	// epochs); only fine-tunable base models have it.
	Training float64 `json:"training_per_mtok,omitempty"`
	// Input, CachedInput and Output are the synchronous prices of prompt
	// tokens, prompt tokens served from the provider's prompt cache, and
	// completion tokens (reasoning tokens included).
	Input       float64 `json:"input_per_mtok"`
	CachedInput float64 `json:"cached_input_per_mtok,omitempty"`
	Output      float64 `json:"output_per_mtok"`
	// BatchInput and BatchOutput are the Batch API's prices (half of the
	// synchronous ones at OpenAI).
	BatchInput  float64 `json:"batch_input_per_mtok,omitempty"`
	BatchOutput float64 `json:"batch_output_per_mtok,omitempty"`
}

// ChatCost returns the cost in US dollars of one synchronous call's usage.
// Cached prompt tokens are charged at CachedInput when it is known, else at
// Input.
func (p Price) ChatCost(u Usage) float64 {
	cached := min(max(u.CachedPromptTokens, 0), u.PromptTokens)
	cachedPrice := p.CachedInput
	if cachedPrice == 0 {
		cachedPrice = p.Input
	}
	return (float64(u.PromptTokens-cached)*p.Input + float64(cached)*cachedPrice + float64(u.CompletionTokens)*p.Output) / 1e6
}

// BatchCost returns the cost in US dollars of one call's usage through the
// Batch API: prompt tokens at BatchInput, cached ones included (no cache
// discount is assumed on top of the batch one, so the cost is never
// underestimated), completion tokens at BatchOutput. A price without batch
// prices is charged as ChatCost, the synchronous price, an upper bound.
func (p Price) BatchCost(u Usage) float64 {
	if p.BatchInput == 0 && p.BatchOutput == 0 {
		return p.ChatCost(u)
	}
	return (float64(u.PromptTokens)*p.BatchInput + float64(u.CompletionTokens)*p.BatchOutput) / 1e6
}

// ModelInfo is what a Catalog knows of one model.
type ModelInfo struct {
	// Embedding is true for an embedding model (priced by Price.Input).
	Embedding bool `json:"embedding,omitempty"`
	// FineTunable says whether supervised fine-tuning jobs may start from
	// this model.
	FineTunable bool `json:"fine_tunable,omitempty"`
	// Reasoning models spend completion tokens on hidden reasoning and
	// refuse temperature and max_tokens (max_completion_tokens bounds both
	// the reasoning and the answer).
	Reasoning bool `json:"reasoning,omitempty"`
	// Shutdown is the day the provider stops serving the model and its
	// fine-tunes, as "YYYY-MM-DD" (OpenAI's shutdown_date); "" when none is
	// announced.
	Shutdown string `json:"shutdown,omitempty"`
	// Replacement is the provider's recommended replacement.
	Replacement string `json:"replacement,omitempty"`
	// TrainingContext is the most tokens one training example may have
	// (fine-tunable models); 0 checks no limit.
	TrainingContext int `json:"training_context,omitempty"`
	// Price is the model's own price; FineTunedPrice is the inference price
	// of a model fine-tuned from it.
	Price          Price `json:"price"`
	FineTunedPrice Price `json:"fine_tuned_price,omitempty"`
}

// ShutDownBy reports whether the model no longer answers on day now: its
// shutdown date is set and now (in UTC) is on or after it.
func (m ModelInfo) ShutDownBy(now time.Time) bool {
	return m.Shutdown != "" && now.UTC().Format(time.DateOnly) >= m.Shutdown
}

// Catalog maps model ids to what is known of them: whether they can be
// fine-tuned, when they shut down, whether they reason, their context limit
// and their prices.
//
// A model is looked up by its exact id, else by the longest entry K such that
// the id starts with K followed by "-" (so "gpt-4.1-mini" covers the snapshot
// "gpt-4.1-mini-2025-04-14", but "gpt-5" does not cover "gpt-5.6-terra"). A
// fine-tuned id ("ft:BASE:org:suffix:id") is looked up as BASE.
//
// Providers change prices and dates: pass your own Catalog wherever one is
// taken. Its entries take precedence over DefaultCatalog's, entry by entry.
type Catalog map[string]ModelInfo

// Lookup returns what c knows of model, and false when no entry covers it.
func (c Catalog) Lookup(model string) (ModelInfo, bool) {
	m := baseModelOf(model)
	if info, ok := c[m]; ok {
		return info, true
	}
	best := ""
	for k := range c {
		if strings.HasPrefix(m, k+"-") && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return ModelInfo{}, false
	}
	return c[best], true
}

// lookupModel looks model up in the caller's catalog, then in the default
// one.
func lookupModel(custom Catalog, model string) (ModelInfo, bool) {
	if info, ok := custom.Lookup(model); ok {
		return info, true
	}
	return defaultCatalog.Lookup(model)
}

// ChatPrice returns the price of calls to model: a fine-tune's inference
// price for an "ft:" id, else the model's own. ok is false when neither
// catalog prices it.
func (c Catalog) ChatPrice(model string) (p Price, ok bool) {
	info, found := lookupModel(c, model)
	if !found {
		return Price{}, false
	}
	if IsFineTunedID(model) {
		return info.FineTunedPrice, info.FineTunedPrice != (Price{})
	}
	return info.Price, info.Price != (Price{})
}

// IsFineTunedID reports whether model names an OpenAI fine-tune ("ft:...").
func IsFineTunedID(model string) bool { return strings.HasPrefix(model, "ft:") }

// ErrModelShutDown is wrapped by the error for a request to a model that its
// provider has shut down; get the details with errors.As and
// *ModelShutDownError.
var ErrModelShutDown = errors.New("ragvsft: model is shut down")

// ModelShutDownError is a model refused before anything was sent, because
// the catalog says it is shut down.
type ModelShutDownError struct {
	Model       string
	Shutdown    string
	Replacement string
	// FineTune is true when the model was wanted for fine-tuning: the
	// message then names DefaultBaseModel, which can still be fine-tuned
	// until FineTuningClosed.
	FineTune bool
}

// Error names the model, its shutdown date and what to use instead.
func (e *ModelShutDownError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ragvsft: %s was shut down on %s and answers no request", e.Model, e.Shutdown)
	if e.Replacement != "" {
		fmt.Fprintf(&b, "; its provider recommends %s", e.Replacement)
	}
	if e.FineTune {
		fmt.Fprintf(&b, "; to fine-tune, use %s (OpenAI takes no new jobs from %s) or a model fine-tuned elsewhere behind an OpenAI-compatible endpoint",
			DefaultBaseModel, FineTuningClosed)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrModelShutDown) true.
func (e *ModelShutDownError) Is(target error) bool { return target == ErrModelShutDown }

// ErrNotFineTunable is wrapped when fine-tuning is asked of a model the
// catalog knows cannot be fine-tuned.
var ErrNotFineTunable = errors.New("ragvsft: model cannot be fine-tuned")

// checkModel refuses, before anything is sent, a model the catalog knows to
// be shut down on day now, and for fineTune a model it knows cannot be
// fine-tuned. A model the catalogs do not know passes: it may be served by
// another provider.
func checkModel(custom Catalog, model string, now time.Time, fineTune bool) error {
	info, ok := lookupModel(custom, model)
	if !ok {
		return nil
	}
	if info.ShutDownBy(now) {
		return &ModelShutDownError{Model: model, Shutdown: info.Shutdown, Replacement: info.Replacement, FineTune: fineTune}
	}
	if fineTune && !info.FineTunable {
		return fmt.Errorf("%w: %s (fine-tunable on OpenAI: %s)", ErrNotFineTunable, model, strings.Join(defaultCatalog.fineTunable(now), ", "))
	}
	return nil
}

// Check refuses, before anything is sent, a model that c (over
// DefaultCatalog) knows to be shut down on day now: the error is a
// *ModelShutDownError naming the date and the replacement. With fineTune it
// also refuses a model known not to be fine-tunable (ErrNotFineTunable). A
// model neither catalog knows passes: another provider may serve it.
// Programs call it first, so that a bad -model costs nothing, not even a
// run folder; the OpenAI Model and FineTuner check again themselves.
func (c Catalog) Check(model string, now time.Time, fineTune bool) error {
	return checkModel(c, model, now, fineTune)
}

// fineTunable lists the models of c that can be fine-tuned and still answer
// on day now, sorted.
func (c Catalog) fineTunable(now time.Time) []string {
	var out []string
	for k, info := range c {
		if info.FineTunable && !info.ShutDownBy(now) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// DefaultCatalog returns what ragvsft knows of OpenAI's models as of
// December 2026: the chat models that could be fine-tuned, the reasoning
// models, the embedding models, their shutdown dates and recommended
// replacements (OpenAI's API deprecations page) and their standard-tier
// prices in US dollars per million tokens (OpenAI's pricing page; the Batch
// API at half price). The caller owns the returned map.
func DefaultCatalog() Catalog {
	c := make(Catalog, len(defaultCatalog))
	for k, v := range defaultCatalog {
		c[k] = v
	}
	return c
}

// batch returns p with the Batch API's prices: half of the synchronous ones.
func batch(p Price) Price {
	p.BatchInput, p.BatchOutput = p.Input/2, p.Output/2
	return p
}

// Shutdown dates and replacements from OpenAI's deprecations page: the
// notice of 2026-04 (shutdown 2026-10-23), of 2026-06-11 (2026-12-11) and of
// 2026-10-14 (2027-01-14).
const (
	shutdown20261023 = "2026-10-23"
	shutdown20261211 = "2026-12-11"
	shutdown20270114 = "2027-01-14"
)

// defaultCatalog's prices are OpenAI's standard tier
// (https://developers.openai.com/api/docs/pricing, formerly
// https://openai.com/api/pricing): for the fine-tunable models, Price is the
// base model's own inference and training price and FineTunedPrice the
// inference price of a fine-tune of it (gpt-4.1: $25 training, $2/$0.50/$8
// base, $3/$0.75/$12 fine-tuned; gpt-4.1-mini: $5, $0.40/$0.10/$1.60,
// $0.80/$0.20/$3.20). Training example limits are from the supervised
// fine-tuning guide (https://platform.openai.com/docs/guides/supervised-fine-tuning)
// and Azure OpenAI's table of the same models (65,536 tokens for gpt-4o,
// gpt-4o-mini, gpt-4.1 and gpt-4.1-mini). The README's "Prices, limits and
// cost" section lists them with their sources.
var defaultCatalog = Catalog{
	// Fine-tunable until FineTuningClosed, answering until 2027-01-14.
	"gpt-4.1": {FineTunable: true, Shutdown: shutdown20270114, Replacement: "gpt-6-luna", TrainingContext: 65536,
		Price:          batch(Price{Training: 25.00, Input: 2.00, CachedInput: 0.50, Output: 8.00}),
		FineTunedPrice: batch(Price{Input: 3.00, CachedInput: 0.75, Output: 12.00})},
	"gpt-4.1-mini": {FineTunable: true, Shutdown: shutdown20270114, Replacement: "gpt-6-luna", TrainingContext: 65536,
		Price:          batch(Price{Training: 5.00, Input: 0.40, CachedInput: 0.10, Output: 1.60}),
		FineTunedPrice: batch(Price{Input: 0.80, CachedInput: 0.20, Output: 3.20})},
	"gpt-4o": {FineTunable: true, Shutdown: shutdown20270114, Replacement: "gpt-6-luna", TrainingContext: 65536,
		Price:          batch(Price{Training: 25.00, Input: 2.50, CachedInput: 1.25, Output: 10.00}),
		FineTunedPrice: batch(Price{Input: 3.75, CachedInput: 1.875, Output: 15.00})},
	"gpt-4o-mini": {FineTunable: true, Shutdown: shutdown20270114, Replacement: "gpt-6-luna", TrainingContext: 65536,
		Price:          batch(Price{Training: 3.00, Input: 0.15, CachedInput: 0.075, Output: 0.60}),
		FineTunedPrice: batch(Price{Input: 0.30, CachedInput: 0.15, Output: 1.20})},
	// The article's model and the other models shut down on 2026-10-23.
	// OpenAI's notice of 2026-04-22 names gpt-4.1-mini as the substitute
	// for gpt-3.5-turbo(-0125), shut down on 2026-10-23
	// (https://developers.openai.com/api/docs/deprecations, as captured at
	// https://spybara.com/openai/api/history/docs/en/2026-04-22-0555..2026-04-23-0556/).
	"gpt-3.5-turbo": {Shutdown: shutdown20261023, Replacement: "gpt-4.1-mini", TrainingContext: 16385,
		Price:          batch(Price{Training: 8.00, Input: 0.50, Output: 1.50}),
		FineTunedPrice: batch(Price{Input: 3.00, Output: 6.00})},
	"gpt-3.5-turbo-0613": {Shutdown: shutdown20261023, Replacement: "gpt-5.6-terra", TrainingContext: 4096,
		Price:          batch(Price{Training: 8.00, Input: 1.50, Output: 2.00}),
		FineTunedPrice: batch(Price{Input: 3.00, Output: 6.00})},
	// Its training examples are limited to 32,768 tokens, not 65,536 as the
	// rest of the family's (Azure OpenAI's fine-tuning model table, which
	// mirrors OpenAI's:
	// https://github.com/MicrosoftDocs/azure-ai-docs/blob/main/articles/ai-foundry/openai/includes/fine-tune-models.md).
	"gpt-4.1-nano": {Shutdown: shutdown20261023, Replacement: "gpt-5.6-luna", TrainingContext: 32768,
		Price:          batch(Price{Training: 1.50, Input: 0.10, CachedInput: 0.025, Output: 0.40}),
		FineTunedPrice: batch(Price{Input: 0.20, CachedInput: 0.05, Output: 0.80})},
	"gpt-4":             {Shutdown: shutdown20261023, Replacement: "gpt-5.6-sol", Price: batch(Price{Input: 30.00, Output: 60.00})},
	"gpt-4-turbo":       {Shutdown: shutdown20261023, Replacement: "gpt-5.6-sol", Price: batch(Price{Input: 10.00, Output: 30.00})},
	"gpt-4o-2024-05-13": {Shutdown: shutdown20261023, Replacement: "gpt-5.6-sol", Price: batch(Price{Input: 5.00, Output: 15.00})},
	"o1":                {Reasoning: true, Shutdown: shutdown20261023, Replacement: "gpt-5.6-sol", Price: batch(Price{Input: 15.00, CachedInput: 7.50, Output: 60.00})},
	"o1-pro":            {Reasoning: true, Shutdown: shutdown20261023, Replacement: "gpt-5.6-sol", Price: batch(Price{Input: 150.00, Output: 600.00})},
	"o3-mini":           {Reasoning: true, Shutdown: shutdown20261023, Replacement: "gpt-5.6-sol", Price: batch(Price{Input: 1.10, CachedInput: 0.55, Output: 4.40})},
	"o4-mini":           {Reasoning: true, Shutdown: shutdown20261023, Replacement: "gpt-5.6-terra", Price: batch(Price{Input: 1.10, CachedInput: 0.275, Output: 4.40})},
	"davinci-002":       {Shutdown: shutdown20261023, TrainingContext: 16384, Price: Price{Training: 6.00, Input: 2.00, Output: 2.00}},
	"babbage-002":       {Shutdown: shutdown20261023, TrainingContext: 16384, Price: Price{Training: 0.40, Input: 0.40, Output: 0.40}},
	// Reasoning models shut down on 2026-12-11.
	"gpt-5":      {Reasoning: true, Shutdown: shutdown20261211, Replacement: "gpt-6.1-sol", Price: batch(Price{Input: 1.25, CachedInput: 0.125, Output: 10.00})},
	"gpt-5-mini": {Reasoning: true, Shutdown: shutdown20261211, Replacement: "gpt-6.1-terra", Price: batch(Price{Input: 0.25, CachedInput: 0.025, Output: 2.00})},
	"gpt-5-nano": {Reasoning: true, Shutdown: shutdown20261211, Price: batch(Price{Input: 0.05, CachedInput: 0.005, Output: 0.40})},
	"o3":         {Reasoning: true, Shutdown: shutdown20261211, Replacement: "gpt-5.6-sol", Price: batch(Price{Input: 2.00, CachedInput: 0.50, Output: 8.00})},
	// Current reasoning models; none can be fine-tuned. Prices are given
	// only where OpenAI's pricing page was read.
	"gpt-6-luna":    {Reasoning: true, Price: batch(Price{Input: 0.10, CachedInput: 0.01, Output: 0.50})},
	"gpt-5.6-terra": {Reasoning: true},
	"gpt-5.6-sol":   {Reasoning: true},
	"gpt-5.6-luna":  {Reasoning: true},
	// Embedding models.
	"text-embedding-3-small": {Embedding: true, Price: batch(Price{Input: 0.02})},
	"text-embedding-3-large": {Embedding: true, Price: batch(Price{Input: 0.13})},
	"text-embedding-ada-002": {Embedding: true, Price: batch(Price{Input: 0.10})},
}
