package ragvsft

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ragvsft/ragvsft/internal/reportfmt"
	"github.com/ragvsft/ragvsft/internal/stats"
)

// ReportSchemaVersion is the version of Report's JSON form. It changes
// whenever a field is renamed or removed or its meaning changes.
//
// Version 2: costs come from a Catalog (pricing "catalog", was "price
// table"); base and rag arms are priced at the base model's prices, not the
// fine-tuned ones; cached prompt tokens at the cached-input price; the
// embeddings are priced (embedding) and count in the total.
//
// Version 3: every result has an outcome (correct, wrong, abstained or
// error); an arm gives wrong, abstained and hallucination_rate; accuracy and
// hallucination_rate are null when they have no denominator (nothing
// answered); an abstained result has no verdict.
//
// Version 4: a result gives its fact (trained, held_out or unmapped, with
// Experiment.HoldOutFacts) and knowledge (known or unknown to the base arm);
// the report gives splits (each arm on the facts trained and held out, and
// on the facts known and unknown to the base arm); settings give
// hold_out_facts, trained_facts and held_out_facts.
const ReportSchemaVersion = 4

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// Report is the outcome of an Experiment: a summary per arm, retrieval
// diagnostics, a significance test and every scored item. Its JSON form is
// report.json; see the README for the schema.
type Report struct {
	SchemaVersion int `json:"schema_version"`
	// Complete is false when the run stopped early (cancelled or failed);
	// Results then hold what was finished.
	Complete bool      `json:"complete"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Settings are the resolved settings the run used.
	Settings ReportSettings `json:"settings"`
	// Arms summarize each arm, in the Experiment's order.
	Arms []ArmSummary `json:"arms"`
	// Retrieval diagnoses the retriever; nil without rag arms.
	Retrieval *RetrievalSummary `json:"retrieval,omitempty"`
	// McNemar compares fine-tuned with rag on the same questions; nil
	// unless both arms ran.
	McNemar *McNemarTest `json:"mcnemar,omitempty"`
	// FineTune describes the fine-tuned model; nil without fine-tuned arms.
	FineTune *FineTuned `json:"fine_tune,omitempty"`
	// Pricing says how the costs (ArmSummary.CostUSD, FineTuneCostUSD,
	// Embedding.CostUSD) were worked out: "" when they were not (see
	// ApplyPrices), PricingLocal when nothing was billed, PricingCatalog
	// from a Catalog.
	Pricing string `json:"pricing,omitempty"`
	// FineTuneCostUSD is the fine-tuning's cost in US dollars: trained
	// tokens at the base model's training price.
	FineTuneCostUSD float64 `json:"fine_tune_cost_usd,omitempty"`
	// Embedding is what the rag arms' index and queries cost; nil when the
	// caller recorded none (the Experiment cannot see inside a Retriever:
	// set it from OpenAIEmbedder.Usage before ApplyPrices).
	Embedding *EmbeddingSummary `json:"embedding,omitempty"`
	// Judge is what a JudgeEvaluator judged and cost, and its agreement
	// with its reference evaluator; nil when no item was judged.
	Judge *JudgeSummary `json:"judge,omitempty"`
	// Paraphrase is what Experiment.Paraphrases wrote and cost; nil
	// without paraphrases.
	Paraphrase *ParaphraseSummary `json:"paraphrase,omitempty"`
	// Epochs is a memorization sweep, when the caller ran one: the
	// fine-tuned arm scored after each number of epochs, fewest first.
	// The Experiment leaves it nil (examples/cities fills it for the local
	// model); the HTML report shows it.
	Epochs []EpochSummary `json:"epochs,omitempty"`
	// Splits give the arms on parts of the questions: SplitFacts (facts
	// trained and held out, with Experiment.HoldOutFacts) and
	// SplitKnowledge (facts the base arm knew and did not, when it ran
	// beside a fine-tuned arm). Empty when neither applies.
	Splits []Split `json:"splits,omitempty"`
	// Results hold every scored item, arm by arm in question order.
	Results []Result `json:"results"`
}

// EpochSummary is one point of a memorization sweep: the fine-tuned arm of
// a run fine-tuned for Epochs epochs.
type EpochSummary struct {
	Epochs int `json:"epochs"`
	// Summary is the fine-tuned arm's score at that count.
	Summary ArmSummary `json:"summary"`
}

// ReportSettings records what a run was asked to do.
type ReportSettings struct {
	Questions int   `json:"questions"`
	Arms      []Arm `json:"arms"`
	// BaseModel is the model the base arms asked and the fine-tuning
	// started from.
	BaseModel string `json:"base_model,omitempty"`
	// ArticleModel, when set, is the model of the article the run
	// reproduces (ArticleModel for the cities); when it differs from
	// BaseModel, the reports say that BaseModel stood in for it. The
	// Experiment leaves it empty: the caller knows what it reproduces.
	ArticleModel    string          `json:"article_model,omitempty"`
	K               int             `json:"k"`
	Seed            int64           `json:"seed"`
	Temperature     float64         `json:"temperature"`
	MaxTokens       int             `json:"max_tokens"`
	Hyperparameters Hyperparameters `json:"hyperparameters"`
	Prompts         Prompts         `json:"prompts"`
	// HoldOutFacts is Experiment.HoldOutFacts; TrainedFacts and
	// HeldOutFacts count the training examples fine-tuned on and held
	// out (HeldOutFacts 0 when nothing was held out). With Seed they
	// identify the split: two runs that differ in them trained on
	// different facts.
	HoldOutFacts float64 `json:"hold_out_facts,omitempty"`
	TrainedFacts int     `json:"trained_facts,omitempty"`
	HeldOutFacts int     `json:"held_out_facts,omitempty"`
	// Paraphrases is Experiment.Paraphrases (0 when none were trained).
	Paraphrases int `json:"paraphrases,omitempty"`
}

// Result is one question put to one arm.
type Result struct {
	Arm        Arm    `json:"arm"`
	QuestionID string `json:"question_id"`
	Question   string `json:"question"`
	// Conversation is the turns the question was asked after
	// (Question.Messages), oldest first; nil for a question on its own.
	// With Question, Retrieved and Settings.Prompts it is the prompt the
	// arm was sent.
	Conversation []Message `json:"conversation,omitempty"`
	Gold         string    `json:"gold"`
	Answer       string    `json:"answer"`
	// Outcome is what became of the item: correct, wrong, abstained or
	// error. An Experiment sets it on every result.
	Outcome Outcome `json:"outcome"`
	// Verdict is the Evaluator's judgement; zero when Error is set (but
	// for Verdict.Judge when a judge was asked: its call was billed) and
	// for an abstention, which is not evaluated (a result from a checkpoint
	// written before outcomes existed keeps the verdict it had).
	Verdict Verdict `json:"verdict"`
	// Retrieved are the documents in the prompt, best first (rag arms).
	Retrieved []RetrievedDoc `json:"retrieved,omitempty"`
	// GoldRank is the 0-based rank of the question's gold document among
	// Retrieved, or -1 if it was not retrieved (or the arm retrieves nothing).
	GoldRank int           `json:"gold_rank"`
	Latency  time.Duration `json:"latency_ns"`
	Usage    Usage         `json:"usage"`
	// CostUSD is what the call cost in US dollars, set by ApplyPrices: its
	// usage at the prices of the model that answered.
	CostUSD float64 `json:"cost_usd,omitempty"`
	// Cached is true when the answer came from a Cache: paid for by an
	// earlier run, not this one.
	Cached            bool   `json:"cached,omitempty"`
	Model             string `json:"model,omitempty"`
	SystemFingerprint string `json:"system_fingerprint,omitempty"`
	// Truncated is true when the completion token limit cut Answer short
	// (ChatResponse.Truncated): it is scored as it stands.
	Truncated bool `json:"truncated,omitempty"`
	// Batch is true when the answer came through the Batch API
	// (ChatResponse.Batch): ApplyPrices bills it at the Batch price.
	Batch bool `json:"batch,omitempty"`
	// Error is why the item has no answer: it is counted apart, not as wrong.
	Error string `json:"error,omitempty"`
	// SeenInTraining is true when the question's wording (Question.Text,
	// case and white space folded) is a user turn of some training
	// example; false for a held-out wording, such as a paraphrase from a
	// questions file. The Markdown report splits each arm's accuracy by it.
	SeenInTraining bool `json:"seen_in_training"`
	// Fact says whether the question's fact was fine-tuned on: FactTrained,
	// FactHeldOut or FactUnmapped with Experiment.HoldOutFacts, "" without.
	// A question's fact is the training example its DocID names.
	Fact string `json:"fact,omitempty"`
	// Knowledge is KnowledgeKnown when the base arm answered the same
	// question right closed book, KnowledgeUnknown when it answered wrong
	// or abstained, "" when the base arm did not run or failed on it. It
	// is derived from the base arm's result when the report is summarized.
	Knowledge string `json:"knowledge,omitempty"`
}

// RetrievedDoc is one document of a Result's context.
type RetrievedDoc struct {
	ID    string  `json:"id"`
	Rank  int     `json:"rank"`
	Score float64 `json:"score"`
	// Text is the document as the prompt quoted it; "" in a report
	// written before passages were recorded.
	Text string `json:"text,omitempty"`
}

// ArmSummary is one arm's score.
//
// Correct, Wrong, Abstained and Errors count the arm's results by Outcome;
// they add up to the items asked. In JSON, accuracy and hallucination_rate
// are null when their denominator is 0 (see HasAccuracy,
// HasHallucinationRate); the reports write "n/a", never 0%.
type ArmSummary struct {
	Arm Arm `json:"arm"`
	// Answered counts the items that got an answer: Correct + Wrong +
	// Abstained. Errors counts those that did not (OutcomeError).
	Answered  int `json:"answered"`
	Errors    int `json:"errors"`
	Correct   int `json:"correct"`
	Wrong     int `json:"wrong"`
	Abstained int `json:"abstained"`
	// Accuracy is Correct / Answered, with its 95% Wilson score interval:
	// an abstention counts against it, a failed call does not. 0 (null in
	// JSON) with the interval [0, 1] when nothing was answered.
	Accuracy float64 `json:"accuracy"`
	CILow    float64 `json:"ci95_low"`
	CIHigh   float64 `json:"ci95_high"`
	// HallucinationRate is Wrong / (Correct + Wrong): how often an answer
	// given without abstaining was wrong. 0 (null in JSON) when every
	// answer was an abstention.
	HallucinationRate float64       `json:"hallucination_rate"`
	MeanLatency       time.Duration `json:"mean_latency_ns"`
	Usage             Usage         `json:"usage"`
	// CostUSD is what the arm's calls cost in US dollars, set by
	// ApplyPrices: the base and rag arms at the base model's prices, the
	// fine-tuned arms at the fine-tuned model's; 0 for a local model.
	CostUSD float64 `json:"cost_usd"`
	// Unpriced counts the arm's results whose model the price table does
	// not know (a model fine-tuned elsewhere, say): CostUSD leaves them
	// out, and reports call the arm unpriced rather than free.
	Unpriced int `json:"unpriced,omitempty"`
	// Cached counts the answers served from a Cache; SpentUSD is CostUSD
	// less their cost: what this run paid.
	Cached   int     `json:"cached"`
	SpentUSD float64 `json:"spent_usd"`
}

// RetrievalSummary diagnoses the retriever over the questions that name a
// gold document.
type RetrievalSummary struct {
	K int `json:"k"`
	// Questions counts the questions with a gold document.
	Questions int `json:"questions"`
	// HitAt1 and HitAtK are the fractions whose gold document was ranked
	// first, or anywhere in the top K.
	HitAt1 float64 `json:"hit_at_1"`
	HitAtK float64 `json:"hit_at_k"`
	// MRR is the mean reciprocal rank of the gold document, 0 when missed.
	MRR float64 `json:"mrr"`
	// Missed lists the questions whose gold document was not retrieved.
	Missed []string `json:"missed,omitempty"`
	// Failed counts the questions whose retrieval failed (their rag items
	// are errors), left out of the figures above.
	Failed int `json:"failed,omitempty"`
}

// McNemarTest is the exact McNemar test between two arms over the questions
// both answered: is one arm's accuracy really different from the other's?
type McNemarTest struct {
	A Arm `json:"a"`
	B Arm `json:"b"`
	// Pairs counts the questions both arms answered, the test's sample;
	// the test is left out (Report.McNemar nil) when there are none.
	Pairs int `json:"pairs"`
	// OnlyA counts questions A got right and B wrong; OnlyB the reverse.
	OnlyA int `json:"only_a"`
	OnlyB int `json:"only_b"`
	// PValue is the two-sided exact binomial p-value on the discordant pairs.
	PValue float64 `json:"p_value"`
}

func newReport(s Experiment, questions []Question) *Report {
	return &Report{
		SchemaVersion: ReportSchemaVersion,
		Started:       time.Now().UTC(),
		Settings: ReportSettings{
			Questions:       len(questions),
			Arms:            s.Arms,
			BaseModel:       s.BaseModel,
			K:               s.K,
			Seed:            s.Seed,
			Temperature:     s.Temperature,
			MaxTokens:       s.MaxTokens,
			Hyperparameters: s.Hyperparameters,
			Prompts:         s.Prompts,
			HoldOutFacts:    s.HoldOutFacts,
			Paraphrases:     s.Paraphrases,
		},
		Results: []Result{},
	}
}

func (r *Report) finish() {
	r.Finished = time.Now().UTC()
	r.Complete = len(r.Results) == len(r.Settings.Arms)*r.Settings.Questions
}

func (r *Report) summarizeRetrieval(questions []Question, retrieved retrieval) {
	rs := &RetrievalSummary{K: r.Settings.K}
	var hit1, hitK int
	var rr float64
	for i, q := range questions {
		if retrieved.errs[i] != nil {
			rs.Failed++ // no hits to judge
			continue
		}
		if q.DocID == "" {
			continue
		}
		rs.Questions++
		rank := GoldRank(retrieved.hits[i], q.DocID)
		switch {
		case rank < 0:
			rs.Missed = append(rs.Missed, q.ID)
			continue
		case rank == 0:
			hit1++
		}
		hitK++
		rr += 1 / float64(rank+1)
	}
	if rs.Questions > 0 {
		n := float64(rs.Questions)
		rs.HitAt1, rs.HitAtK, rs.MRR = float64(hit1)/n, float64(hitK)/n, rr/n
	}
	r.Retrieval = rs
}

// summarize computes the per-arm summaries and the McNemar test from Results.
func (r *Report) summarize() {
	r.summarizeJudge()
	r.summarizeSplits()
	r.Arms = r.Arms[:0]
	byArm := map[Arm]map[string]bool{} // arm -> question -> correct, answered only
	for _, a := range r.Settings.Arms {
		sum := ArmSummary{Arm: a}
		var latency time.Duration
		byArm[a] = map[string]bool{}
		for _, res := range r.Results {
			if res.Arm != a {
				continue
			}
			latency += res.Latency
			sum.Usage.PromptTokens += res.Usage.PromptTokens
			sum.Usage.CompletionTokens += res.Usage.CompletionTokens
			sum.Usage.CachedPromptTokens += res.Usage.CachedPromptTokens
			sum.Usage.ReasoningTokens += res.Usage.ReasoningTokens
			if res.Cached {
				sum.Cached++
			}
			if o := res.outcome(); sum.count(o) {
				byArm[a][res.QuestionID] = o == OutcomeCorrect
			}
		}
		if n := sum.Answered + sum.Errors; n > 0 {
			sum.MeanLatency = latency / time.Duration(n)
		}
		sum.score()
		r.Arms = append(r.Arms, sum)
	}
	ft, rag := byArm[ArmFineTuned], byArm[ArmRAG]
	if ft == nil || rag == nil {
		return
	}
	t := &McNemarTest{A: ArmFineTuned, B: ArmRAG}
	for id, a := range ft {
		b, ok := rag[id]
		if !ok {
			continue
		}
		t.Pairs++
		switch {
		case a && !b:
			t.OnlyA++
		case b && !a:
			t.OnlyB++
		}
	}
	if t.Pairs == 0 {
		return // an arm answered nothing: there is nothing to compare
	}
	t.PValue = stats.McNemarExact(t.OnlyA, t.OnlyB)
	r.McNemar = t
}

// count adds one result's outcome to the summary's counts, and reports
// whether it was answered (not an error).
func (s *ArmSummary) count(o Outcome) bool {
	switch o {
	case OutcomeError:
		s.Errors++
		return false
	case OutcomeCorrect:
		s.Correct++
	case OutcomeWrong:
		s.Wrong++
	case OutcomeAbstained:
		s.Abstained++
	}
	s.Answered++
	return true
}

// score sets the rates and the interval from the counts.
func (s *ArmSummary) score() {
	s.Accuracy, s.HallucinationRate = 0, 0
	if s.HasAccuracy() {
		s.Accuracy = float64(s.Correct) / float64(s.Answered)
	}
	if s.HasHallucinationRate() {
		s.HallucinationRate = float64(s.Wrong) / float64(s.Correct+s.Wrong)
	}
	s.CILow, s.CIHigh = stats.Wilson(s.Correct, s.Answered, z95)
}

// nullRates returns the summary's two rates, each nil when undefined: how
// the JSON forms write them.
func (s ArmSummary) nullRates() (accuracy, hallucination *float64) {
	if s.HasAccuracy() {
		accuracy = &s.Accuracy
	}
	if s.HasHallucinationRate() {
		hallucination = &s.HallucinationRate
	}
	return accuracy, hallucination
}

// HasAccuracy reports whether Accuracy is defined: whether the arm answered
// anything (Answered > 0).
func (s ArmSummary) HasAccuracy() bool { return s.Answered > 0 }

// HasHallucinationRate reports whether HallucinationRate is defined:
// whether the arm answered anything without abstaining (Correct + Wrong >
// 0).
func (s ArmSummary) HasHallucinationRate() bool { return s.Correct+s.Wrong > 0 }

// armSummaryJSON is ArmSummary's JSON form: the two rates are null when
// undefined.
type armSummaryJSON struct {
	armSummaryFields
	Accuracy          *float64 `json:"accuracy"`
	HallucinationRate *float64 `json:"hallucination_rate"`
}

// armSummaryFields has ArmSummary's fields without its methods, so that
// encoding/json does not recurse into MarshalJSON.
type armSummaryFields ArmSummary

// MarshalJSON writes the summary with accuracy and hallucination_rate null
// when they are undefined (see HasAccuracy, HasHallucinationRate).
func (s ArmSummary) MarshalJSON() ([]byte, error) {
	out := armSummaryJSON{armSummaryFields: armSummaryFields(s)}
	out.Accuracy, out.HallucinationRate = s.nullRates()
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes; a null rate reads as 0.
func (s *ArmSummary) UnmarshalJSON(b []byte) error {
	var in armSummaryJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*s = ArmSummary(in.armSummaryFields)
	s.Accuracy, s.HallucinationRate = 0, 0
	if in.Accuracy != nil {
		s.Accuracy = *in.Accuracy
	}
	if in.HallucinationRate != nil {
		s.HallucinationRate = *in.HallucinationRate
	}
	return nil
}

// accuracyText is the arm's accuracy as the reports write it: "12.5%", or
// "n/a" when nothing was answered.
func (s ArmSummary) accuracyText() string {
	return reportfmt.Rate(s.Accuracy, s.HasAccuracy())
}

// ciText is the accuracy's 95% interval as the reports write it, "n/a"
// when nothing was answered.
func (s ArmSummary) ciText() string {
	return reportfmt.Interval(s.CILow, s.CIHigh, s.HasAccuracy())
}

// hallucinationText is the hallucination rate as the reports write it,
// "n/a" when nothing was answered without abstaining.
func (s ArmSummary) hallucinationText() string {
	return reportfmt.Rate(s.HallucinationRate, s.HasHallucinationRate())
}

// Arm returns the summary of arm a, and whether it ran.
func (r *Report) Arm(a Arm) (ArmSummary, bool) {
	for _, s := range r.Arms {
		if s.Arm == a {
			return s, true
		}
	}
	return ArmSummary{}, false
}

// Values of Report.Pricing.
const (
	// PricingLocal: nothing was billed (the embedded local model).
	PricingLocal = "local"
	// PricingCatalog: costs come from a Catalog's prices.
	PricingCatalog = "catalog"
)

// EmbeddingSummary is what the embeddings of a run cost: the documents
// indexed and the questions of the rag arms. The zero value is no
// embedding at all.
type EmbeddingSummary struct {
	// Model is the embedding model, e.g. "text-embedding-3-small".
	Model string `json:"model"`
	// Usage is what the provider was asked and billed in this run
	// (OpenAIEmbedder.Usage).
	Usage EmbeddingUsage `json:"usage"`
	// Cached counts the texts a Cache embedded instead: paid for by an
	// earlier run, not this one, and not in Usage. Documents an index
	// kept from an earlier run are embedded by nobody and counted nowhere.
	Cached int `json:"cached,omitempty"`
	// CostUSD is Usage.PromptTokens at the model's input price (those that
	// came through the Batch API at its batch price), set by ApplyPrices:
	// what this run paid for embeddings.
	CostUSD float64 `json:"cost_usd"`
}

// ApplyPrices works out what the run cost and records it in each
// Result.CostUSD and ArmSummary.CostUSD, FineTuneCostUSD, Embedding.CostUSD,
// Judge's costs and Pricing. catalog's entries take precedence over
// DefaultCatalog's; nil uses DefaultCatalog alone. Call it after Run (and after setting
// Embedding).
//
// Each result is priced by the model that answered it (Result.Model, else
// the arm's model) with Catalog.ChatPrice: the base and rag arms at the base
// model's prices, the fine-tuned arms ("ft:" ids) at the base's
// FineTunedPrice, cached prompt tokens at CachedInput; an answer that came
// through the Batch API (Result.Batch) at the Batch prices (Price.BatchCost).
// The fine-tuning costs its trained tokens at the base model's Training price, the embeddings
// their prompt tokens at the embedding model's Input price, the judge's
// calls (Report.Judge) at the judge model's chat prices.
//
// The embedded local model ("local-base" and its fine-tunes) bills
// nothing; a report of it alone (base model and every answer) gets Pricing
// PricingLocal. The other models neither catalog prices (a model
// fine-tuned elsewhere, say) are returned, each once, and their results
// are counted in ArmSummary.Unpriced rather than priced at 0.
//
// Answers served from a Cache are priced too: ArmSummary.CostUSD is the
// experiment's cost, SpentUSD what this run paid.
func (r *Report) ApplyPrices(catalog Catalog) (unpriced []string) {
	r.FineTuneCostUSD = 0
	for i := range r.Arms {
		r.Arms[i].CostUSD, r.Arms[i].SpentUSD, r.Arms[i].Unpriced = 0, 0, 0
	}
	if r.Embedding != nil {
		r.Embedding.CostUSD = 0
	}
	// A run of another base model bills even if nothing finished.
	billed := r.Settings.BaseModel != "" && baseModelOf(r.Settings.BaseModel) != LocalBaseModel
	missing := map[string]bool{}
	price := func(model string) (Price, bool) {
		if baseModelOf(model) == LocalBaseModel {
			return Price{}, false
		}
		billed = true
		p, ok := catalog.ChatPrice(model)
		if !ok && !missing[model] {
			missing[model] = true
			unpriced = append(unpriced, model)
		}
		return p, ok
	}
	cost, spent, unknown := map[Arm]float64{}, map[Arm]float64{}, map[Arm]int{}
	for i := range r.Results {
		res := &r.Results[i]
		res.CostUSD = 0
		model := r.resultModel(*res)
		p, ok := price(model)
		if !ok {
			if baseModelOf(model) != LocalBaseModel {
				unknown[res.Arm]++
			}
			continue
		}
		res.CostUSD = p.ChatCost(res.Usage)
		if res.Batch {
			res.CostUSD = p.BatchCost(res.Usage)
		}
		cost[res.Arm] += res.CostUSD
		if !res.Cached {
			spent[res.Arm] += res.CostUSD
		}
	}
	for i := range r.Arms {
		a := r.Arms[i].Arm
		r.Arms[i].CostUSD, r.Arms[i].SpentUSD, r.Arms[i].Unpriced = cost[a], spent[a], unknown[a]
	}
	if ft := r.FineTune; ft != nil && ft.TrainedTokens > 0 {
		base := cmp.Or(r.Settings.BaseModel, baseModelOf(ft.ModelID))
		if baseModelOf(base) != LocalBaseModel {
			billed = true
			info, _ := lookupModel(catalog, base)
			if info.Price.Training > 0 {
				r.FineTuneCostUSD = float64(ft.TrainedTokens) * info.Price.Training / 1e6
			} else if !missing[base] {
				missing[base] = true
				unpriced = append(unpriced, base)
			}
		}
	}
	if e := r.Embedding; e != nil && e.Usage.PromptTokens > 0 {
		if p, ok := price(e.Model); ok {
			batchRate := p.BatchInput
			if batchRate == 0 {
				batchRate = p.Input // no batch price: billed as synchronous
			}
			sync := e.Usage.PromptTokens - e.Usage.BatchPromptTokens
			e.CostUSD = (float64(sync)*p.Input + float64(e.Usage.BatchPromptTokens)*batchRate) / 1e6
		}
	}
	r.priceJudge(price)
	r.priceParaphrase(price)
	r.Pricing = PricingCatalog
	if !billed {
		r.Pricing = PricingLocal
	}
	return unpriced
}

// resultModel is the model that answered res: Result.Model, else the
// fine-tuned model for a fine-tuned arm, else the base model.
func (r *Report) resultModel(res Result) string {
	switch {
	case res.Model != "":
		return res.Model
	case res.Arm.fineTuned() && r.FineTune != nil:
		return r.FineTune.ModelID
	}
	return r.Settings.BaseModel
}

// TotalCostUSD is the fine-tuning's cost plus every arm's and the
// embeddings'.
func (r *Report) TotalCostUSD() float64 {
	total := r.FineTuneCostUSD
	for _, s := range r.Arms {
		total += s.CostUSD
	}
	if r.Embedding != nil {
		total += r.Embedding.CostUSD
	}
	if r.Judge != nil {
		total += r.Judge.CostUSD
	}
	if r.Paraphrase != nil {
		total += r.Paraphrase.CostUSD
	}
	return total
}

// costLines is the cost paragraph of the Markdown and HTML reports, "" when
// ApplyPrices was not called.
func (r *Report) costLines() string {
	switch r.Pricing {
	case "":
		return ""
	case PricingLocal:
		return "Cost: nothing billed (local model)."
	}
	var b strings.Builder
	b.WriteString("Cost:")
	unpriced := false
	for i, s := range r.Arms {
		sep := ","
		if i == 0 {
			sep = ""
		}
		switch {
		case s.Unpriced > 0 && s.CostUSD == 0:
			fmt.Fprintf(&b, "%s %s unpriced", sep, s.Arm)
		case s.Unpriced > 0:
			fmt.Fprintf(&b, "%s %s $%.4f + %d unpriced answers", sep, s.Arm, s.CostUSD, s.Unpriced)
		default:
			fmt.Fprintf(&b, "%s %s $%.4f", sep, s.Arm, s.CostUSD)
		}
		unpriced = unpriced || s.Unpriced > 0
	}
	switch ft := r.FineTune; {
	case ft == nil:
	case ft.Endpoint != "":
		b.WriteString("; fine-tuning none (fine-tuned elsewhere)")
	default:
		fmt.Fprintf(&b, "; fine-tuning $%.4f", r.FineTuneCostUSD)
		if ft.Reused {
			b.WriteString(" (a model an earlier run paid for, not paid again)")
		}
	}
	if e := r.Embedding; e != nil {
		fmt.Fprintf(&b, "; embeddings $%.4f (%s, %d tokens)", e.CostUSD, e.Model, e.Usage.PromptTokens)
	}
	b.WriteString(r.judgeCost())
	b.WriteString(r.paraphraseCost())
	unpriced = unpriced || r.Judge != nil && r.Judge.Unpriced > 0 || r.Paraphrase != nil && r.Paraphrase.Unpriced > 0
	total := "total"
	if unpriced {
		total = "total of what is priced"
	}
	fmt.Fprintf(&b, "; %s $%.4f (%s).", total, r.TotalCostUSD(), r.Pricing)
	var cached int
	var spent float64
	for _, s := range r.Arms {
		cached += s.Cached
		spent += s.SpentUSD
	}
	batched := 0
	for _, res := range r.Results {
		if res.Batch {
			batched++
		}
	}
	if batched > 0 {
		fmt.Fprintf(&b, "\n%d answers came through the Batch API, billed at the batch price.", batched)
	}
	if cached > 0 {
		fmt.Fprintf(&b, "\n%d answers came from the cache: this run paid $%.4f for answers.", cached, spent)
	}
	if e := r.Embedding; e != nil && e.Cached > 0 {
		fmt.Fprintf(&b, "\n%d embeddings came from the cache, not paid again.", e.Cached)
	}
	if j := r.Judge; j != nil && j.Cached > 0 {
		fmt.Fprintf(&b, "\n%d judgements came from the cache: this run paid $%.4f for judging.", j.Cached, j.SpentUSD)
	}
	return b.String()
}

// standIn is the sentence saying which model stood in for the article's,
// "" unless Settings.ArticleModel is set and differs from the base model.
func (r *Report) standIn() string {
	s := r.Settings
	if s.ArticleModel == "" || s.BaseModel == "" || baseModelOf(s.BaseModel) == s.ArticleModel {
		return ""
	}
	line := fmt.Sprintf("%s stood in for the article's %s", s.BaseModel, s.ArticleModel)
	if info, ok := defaultCatalog.Lookup(s.ArticleModel); ok && info.Shutdown != "" {
		line += fmt.Sprintf(" (shut down %s)", info.Shutdown)
	}
	return line + "."
}

// ReportNotes are the sentences a report writes beside its tables, as the
// Markdown report writes them: for a renderer of another form (package
// report's HTML) to say the same. An empty field has nothing to say.
type ReportNotes struct {
	// Cost is the cost paragraph, a sentence a line: what each arm, the
	// fine-tuning, the embeddings and the judge cost, and what came from a
	// cache or the Batch API; nil until ApplyPrices.
	Cost []string
	// StandIn says which model stood in for the article's
	// (Settings.ArticleModel).
	StandIn string
	// Judge says what the judge judged and how far it agreed with the
	// reference evaluator; nil without a judge.
	Judge []string
	// Paraphrase says how many paraphrases were trained on.
	Paraphrase string
	// Wording gives each arm on the wordings seen in training and those
	// held out, a line each.
	Wording []string
}

// Notes returns the report's sentences beside its tables.
func (r *Report) Notes() ReportNotes {
	lines := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
	return ReportNotes{Cost: lines(r.costLines()), StandIn: r.standIn(), Judge: r.judgeLines(),
		Paraphrase: r.paraphraseLine(), Wording: lines(r.wordingLines())}
}

// WriteMarkdown writes the summary as a Markdown table, followed by the
// retrieval diagnostics and the McNemar test when present.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| arm | correct | wrong | abstained | errors | accuracy | 95% CI | hallucination rate | mean latency |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---|---:|---:|\n")
	for _, s := range r.Arms {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s | %s | %s |\n",
			s.Arm, s.Correct, s.Wrong, s.Abstained, s.Errors, s.accuracyText(), s.ciText(), s.hallucinationText(), roundDuration(s.MeanLatency))
	}
	b.WriteString("\n" + reportfmt.OutcomesLegend + "\n")
	if c := r.costLines(); c != "" {
		b.WriteString("\n" + c + "\n")
	}
	if s := r.standIn(); s != "" {
		b.WriteString("\n" + s + "\n")
	}
	if ft := r.FineTune; ft != nil && ft.Endpoint != "" {
		fmt.Fprintf(&b, "\nFine-tuned model: %s on %s, fine-tuned elsewhere: this run trained nothing and paid for no training.\n", ft.ModelID, ft.Endpoint)
	}
	if p := r.paraphraseLine(); p != "" {
		b.WriteString("\n" + p + "\n")
	}
	if w := r.wordingLines(); w != "" {
		b.WriteString("\n" + w + "\n")
	}
	if sp := r.splitLines(); sp != "" {
		b.WriteString("\n" + sp + "\n")
	}
	if rs := r.Retrieval; rs != nil {
		fmt.Fprintf(&b, "\nRetrieval over %d questions: hit@1 %.1f%%, hit@%d %.1f%%, MRR %.3f.\n",
			rs.Questions, 100*rs.HitAt1, rs.K, 100*rs.HitAtK, rs.MRR)
		if rs.Failed > 0 {
			fmt.Fprintf(&b, "Retrieval failed for %d questions: their rag items are errors, to ask again with RetryErrors (-retry-errors).\n", rs.Failed)
		}
	}
	if t := r.McNemar; t != nil {
		fmt.Fprintf(&b, "\nMcNemar exact test, %s vs %s, on the %d questions both answered: %d only %s got right, %d only %s; p = %s.\n",
			t.A, t.B, t.Pairs, t.OnlyA, t.A, t.OnlyB, t.B, reportfmt.P(t.PValue))
	}
	if j := r.judgeLines(); j != nil {
		b.WriteString("\n" + strings.Join(j, "\n") + "\n")
	}
	if !r.Complete {
		fmt.Fprintf(&b, "\nIncomplete run: %d of %d items finished.\n", len(r.Results), len(r.Settings.Arms)*r.Settings.Questions)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// itemsInError counts the results that got no answer.
func (r *Report) itemsInError() int {
	n := 0
	for _, a := range r.Arms {
		n += a.Errors
	}
	return n
}
