package ragvsft

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/ragvsft/ragvsft/internal/stats"
)

// JudgeMarker is written in the judge's default system message
// (DefaultJudgePrompts.System) so that a server standing in for a model can
// tell a judging request from any other without guessing:
// ragvsfttest answers requests whose system message holds it with a
// verdict computed by a rule. Keep it in a system message of your own if
// you want that server to judge your prompts.
const JudgeMarker = "ragvsft-judge/v2"

// The verdicts a judge may give, the values of JudgeCall.Verdict and of
// the "verdict" key of its reply.
const (
	JudgeCorrect   = "correct"
	JudgeIncorrect = "incorrect"
	JudgeAbstained = "abstained"
)

// JudgeSchema is the JSON Schema of the judge's reply, sent as OpenAI's
// structured outputs (response_format json_schema, strict) under the name
// JudgeSchemaName: one object with a verdict and a reason, nothing else.
const JudgeSchema = `{"type":"object","properties":{"verdict":{"type":"string","enum":["correct","incorrect","abstained"]},"reason":{"type":"string"}},"required":["verdict","reason"],"additionalProperties":false}`

// JudgeSchemaName is the name JudgeSchema is sent under.
const JudgeSchemaName = "judge_verdict"

// DefaultJudgeMaxTokens caps the judge's reply when
// JudgeEvaluator.MaxTokens is 0: a verdict and one sentence.
const DefaultJudgeMaxTokens = 200

// JudgePrompts are the judge's messages. System is the system message, as
// is; User is the user message, with {question}, {gold}, {aliases} and
// {answer} replaced (in one pass, so an answer holding a placeholder is not
// expanded). {aliases} is the question's other accepted answers
// (Question.Aliases), one per line, or "none". A zero field means
// DefaultJudgePrompts'.
type JudgePrompts struct {
	System string `json:"system"`
	User   string `json:"user"`
}

// DefaultJudgePrompts are the judge's prompts, shown word for word in the
// README. The system message holds JudgeMarker; the user message puts the
// three texts between tags, so a question or answer cannot pass for
// another part.
var DefaultJudgePrompts = JudgePrompts{
	System: "You are the judge of a question-answering experiment (" + JudgeMarker + "). " +
		"You are given a question (between <question> tags), its gold answer, which is known to be true (<gold>), other forms of the gold answer that are accepted as well (<also_accepted>, one per line, or \"none\"), and a candidate answer (<answer>). " +
		"Decide whether the candidate answer states the fact of the gold answer.\n\n" +
		`- "correct": the candidate states that fact, in the gold answer's form or in an accepted one. Other wording, formats, units or extra details that do not contradict it are fine.` + "\n" +
		`- "incorrect": the candidate states another value or fact, contradicts the gold answer, or hedges between several answers.` + "\n" +
		`- "abstained": the candidate declines to answer (for example "I don't know") without stating a fact.` + "\n\n" +
		"Judge against the gold answer only, not against what you know. " +
		`Reply with one JSON object and nothing else: {"verdict": "correct", "incorrect" or "abstained", "reason": one short sentence naming the values you compared}.`,
	User: "<question>\n{question}\n</question>\n<gold>\n{gold}\n</gold>\n<also_accepted>\n{aliases}\n</also_accepted>\n<answer>\n{answer}\n</answer>",
}

func (p JudgePrompts) withDefaults() JudgePrompts {
	p.System = cmp.Or(p.System, DefaultJudgePrompts.System)
	p.User = cmp.Or(p.User, DefaultJudgePrompts.User)
	return p
}

// messages renders the judge's conversation for one item.
func (p JudgePrompts) messages(q Question, answer string) []Message {
	aliases := "none"
	if len(q.Aliases) > 0 {
		folded := make([]string, len(q.Aliases))
		for i, a := range q.Aliases {
			folded[i] = strings.Join(strings.Fields(a), " ") // one per line
		}
		aliases = strings.Join(folded, "\n")
	}
	user := strings.NewReplacer("{question}", q.Text, "{gold}", q.Gold, "{aliases}", aliases, "{answer}", answer).Replace(p.User)
	return []Message{{Role: RoleSystem, Content: p.System}, {Role: RoleUser, Content: user}}
}

// JudgeEvaluator is an Evaluator that asks a model, the judge, whether an
// answer states the gold fact: for paraphrases, hedges and answers the
// rules of AutoEvaluator cannot read. Use it with an OpenAIModel (a model
// the embedded local model cannot stand in for: it does not judge); wrap
// that with Cache.Model so that a rerun asks the judge nothing twice, and
// the Experiment's report prices its calls (Report.Judge) like the arms'.
//
// Each Evaluate sends one chat request: DefaultJudgePrompts (or Prompts)
// filled with the question, the gold answer and the candidate answer, at
// temperature 0, with Seed and MaxTokens, asking for JudgeSchema as
// structured outputs (ChatRequest.ResponseFormat; a Model that ignores it
// must still reply with the JSON the prompt asks for). The reply must be
// exactly one JSON object {"verdict": "correct"|"incorrect"|"abstained",
// "reason": "..."}, both keys present, the reason not blank, no other key:
// anything else (prose, a fenced block, a missing key, an unknown verdict)
// is an error naming the reply, recorded on the item (Result.Error), never
// taken for a verdict. The Verdict has Type "judge", Correct for
// "correct", Reason the judge's reason, Expected the gold answer, and
// Judge the call: model, usage, whether the cache answered, the judge's
// word ("abstained" is not correct) and the Reference verdict.
//
// Reference is a rule-based evaluator also run on every judged item (no
// model call), so the report can say how far the judge agrees with it
// (Report.Judge.Agreement, Cohen's kappa): a judge that disagrees often
// with a rule that suits the knowledge base is not to be trusted blindly,
// and one that agrees on the easy items earns trust on the hard ones. A
// reference that cannot score an item gives no verdict there, and the
// item leaves the agreement out.
//
// Model is required; every other field's zero value means the default.
// Safe for concurrent use if Model and Reference are.
type JudgeEvaluator struct {
	// Model is the judge.
	Model Model
	// Prompts are the judge's messages; zero fields mean
	// DefaultJudgePrompts'.
	Prompts JudgePrompts
	// Reference is run beside the judge for the agreement; nil means
	// AutoEvaluator{}.
	Reference Evaluator
	// Seed is sent with every request; 0 means DefaultSeed.
	Seed int64
	// MaxTokens caps the judge's reply; 0 means DefaultJudgeMaxTokens.
	// A reasoning model spends part of it thinking (and is asked at its
	// own temperature, not 0): give it a few thousand, or its judgements
	// end as *CutShortError.
	MaxTokens int
}

var (
	_ Evaluator   = JudgeEvaluator{}
	_ GoldChecker = JudgeEvaluator{}
)

// JudgeCall is the model call behind a judge's Verdict (Verdict.Judge).
// It is kept on an item whose judgement failed too, for its usage was
// billed.
type JudgeCall struct {
	// Model is the model that judged, as the provider names it.
	Model string `json:"model"`
	Usage Usage  `json:"usage"`
	// Cached is true when a Cache answered: paid for by an earlier run.
	Cached bool `json:"cached,omitempty"`
	// Verdict is the judge's word: JudgeCorrect, JudgeIncorrect or
	// JudgeAbstained; "" when its reply was unreadable.
	Verdict string `json:"verdict,omitempty"`
	// Reference is the reference evaluator's verdict on the same answer;
	// nil when it gave none.
	Reference *Verdict `json:"reference,omitempty"`
}

// ErrJudgeReply is wrapped by the error of a judge whose reply is not a
// verdict (see JudgeEvaluator).
var ErrJudgeReply = errors.New("ragvsft: the judge's reply is not a verdict")

// CheckGold reports whether q has a gold answer to judge against and the
// judge has a Model, so that neither mistake costs a model call.
func (e JudgeEvaluator) CheckGold(q Question) error {
	if e.Model == nil {
		return errors.New("JudgeEvaluator.Model is nil: no judge to ask")
	}
	if e.MaxTokens < 0 {
		return fmt.Errorf("JudgeEvaluator.MaxTokens must not be negative, got %d", e.MaxTokens)
	}
	if strings.TrimSpace(q.Gold) == "" {
		return errors.New("gold answer is empty: nothing to judge against")
	}
	return nil
}

// Evaluate asks the judge whether answer states q's gold fact, and the
// Reference what it makes of it.
func (e JudgeEvaluator) Evaluate(ctx context.Context, q Question, answer string) (Verdict, error) {
	if err := e.CheckGold(q); err != nil {
		return Verdict{}, fmt.Errorf("ragvsft: question %s: %w", q.ID, err)
	}
	req := ChatRequest{
		Messages:       e.Prompts.withDefaults().messages(q, answer),
		Seed:           cmp.Or(e.Seed, DefaultSeed),
		MaxTokens:      cmp.Or(e.MaxTokens, DefaultJudgeMaxTokens),
		ResponseFormat: &ResponseFormat{Name: JudgeSchemaName, Schema: json.RawMessage(JudgeSchema), Strict: true},
	}
	resp, err := e.Model.Chat(ctx, req)
	call := &JudgeCall{Model: cmp.Or(resp.Model, modelName(e.Model)), Usage: resp.Usage, Cached: resp.Cached}
	v := Verdict{Type: "judge", Expected: strings.TrimSpace(q.Gold), Judge: call}
	if err != nil {
		return v, fmt.Errorf("ragvsft: judging question %s: %w", q.ID, err)
	}
	word, reason, err := parseJudgeReply(resp.Content)
	if err != nil {
		return v, fmt.Errorf("ragvsft: judging question %s with %s: %w", q.ID, call.Model, err)
	}
	call.Verdict, v.Correct, v.Reason = word, word == JudgeCorrect, reason
	ref := e.Reference
	if ref == nil {
		ref = AutoEvaluator{}
	}
	if rv, err := ref.Evaluate(ctx, q, answer); err == nil {
		call.Reference = &rv
	} else if ctx.Err() != nil {
		return v, ctx.Err()
	}
	return v, nil
}

// modelName is m's Name, if it has one.
func modelName(m Model) string {
	if n, ok := m.(interface{ Name() string }); ok {
		return n.Name()
	}
	return ""
}

// parseJudgeReply reads a judge's reply strictly: one JSON object with a
// known verdict and a reason that is not blank, nothing else.
func parseJudgeReply(reply string) (verdict, reason string, err error) {
	dec := json.NewDecoder(strings.NewReader(reply))
	dec.DisallowUnknownFields()
	var r struct {
		Verdict *string `json:"verdict"`
		Reason  *string `json:"reason"`
	}
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("%w: %s: %s", ErrJudgeReply, why, quoteReply(reply))
	}
	if err := dec.Decode(&r); err != nil {
		return bad("not one JSON object with only the keys verdict and reason (" + err.Error() + ")")
	}
	if strings.TrimSpace(reply[dec.InputOffset():]) != "" {
		return bad("text after the JSON object")
	}
	switch {
	case r.Verdict == nil:
		return bad(`no "verdict"`)
	case r.Reason == nil:
		return bad(`no "reason"`)
	case strings.TrimSpace(*r.Reason) == "":
		return bad(`a blank "reason"`)
	}
	switch *r.Verdict {
	case JudgeCorrect, JudgeIncorrect, JudgeAbstained:
		return *r.Verdict, strings.TrimSpace(*r.Reason), nil
	}
	return bad(fmt.Sprintf("unknown verdict %q (want correct, incorrect or abstained)", *r.Verdict))
}

// quoteReply quotes a reply for an error, cut to 200 bytes.
func quoteReply(s string) string {
	const most = 200
	if len(s) <= most {
		return fmt.Sprintf("%q", s)
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q (%d bytes more)", s[:cut], len(s)-cut)
}

// JudgeSummary is what a run's judge did and cost, and how far it agreed
// with its reference evaluator (Report.Judge; nil when no item was judged).
type JudgeSummary struct {
	// Model is the judge model (the first item's).
	Model string `json:"model"`
	// Judged counts the items the judge was asked about; Errors those of
	// them whose judgement failed (an unreadable reply, a failed call).
	Judged int `json:"judged"`
	Errors int `json:"errors"`
	// Cached counts the judgements a Cache answered.
	Cached int   `json:"cached"`
	Usage  Usage `json:"usage"`
	// CostUSD is the judge's calls at the judge model's catalog prices,
	// set by ApplyPrices; SpentUSD is CostUSD less the cached calls: what
	// this run paid. Unpriced counts the calls of a model the catalog
	// does not price, left out of CostUSD.
	CostUSD  float64 `json:"cost_usd"`
	SpentUSD float64 `json:"spent_usd"`
	Unpriced int     `json:"unpriced,omitempty"`
	// Agreement compares the judge with its reference; nil when no item
	// got a verdict from both.
	Agreement *Agreement `json:"agreement,omitempty"`
}

// Agreement is how far a judge agrees with its reference evaluator on the
// items both gave a verdict on, every arm's together: the 2x2 table of
// "correct" and "not correct" (an abstention is not correct), the
// observed agreement, the agreement expected by chance and Cohen's kappa.
type Agreement struct {
	Items int `json:"items"`
	// BothCorrect, JudgeOnly (the judge said correct, the reference not),
	// ReferenceOnly and BothWrong add up to Items.
	BothCorrect   int `json:"both_correct"`
	JudgeOnly     int `json:"judge_only"`
	ReferenceOnly int `json:"reference_only"`
	BothWrong     int `json:"both_wrong"`
	// Observed is the fraction of items they agree on; Chance what two
	// raters with their rates of "correct" would agree on by chance.
	Observed float64 `json:"observed"`
	Chance   float64 `json:"chance"`
	// Kappa is Cohen's kappa, (Observed-Chance)/(1-Chance): 1 for perfect
	// agreement, 0 for no better than chance, negative for worse. It is
	// nil (null) when undefined: both gave every item the same verdict,
	// so nothing tells how far one follows the other (see
	// stats.CohenKappa).
	Kappa *float64 `json:"kappa"`
}

// summarizeJudge sums the judge's calls of Results and their agreement.
func (r *Report) summarizeJudge() {
	r.Judge = nil
	var js JudgeSummary
	var a Agreement
	for _, res := range r.Results {
		j := res.Verdict.Judge
		if j == nil {
			continue
		}
		js.Judged++
		js.Model = cmp.Or(js.Model, j.Model)
		js.Usage = js.Usage.add(j.Usage)
		if j.Cached {
			js.Cached++
		}
		if res.Error != "" {
			js.Errors++
			continue
		}
		if j.Reference == nil {
			continue
		}
		a.Items++
		switch judge, ref := res.Verdict.Correct, j.Reference.Correct; {
		case judge && ref:
			a.BothCorrect++
		case judge:
			a.JudgeOnly++
		case ref:
			a.ReferenceOnly++
		default:
			a.BothWrong++
		}
	}
	if js.Judged == 0 {
		return
	}
	if a.Items > 0 {
		var k float64
		k, a.Observed, a.Chance = stats.CohenKappa(a.BothCorrect, a.JudgeOnly, a.ReferenceOnly, a.BothWrong)
		if !math.IsNaN(k) {
			a.Kappa = &k
		}
		js.Agreement = &a
	}
	r.Judge = &js
}

// add returns the sum of two usages.
func (u Usage) add(v Usage) Usage {
	return Usage{
		PromptTokens:       u.PromptTokens + v.PromptTokens,
		CompletionTokens:   u.CompletionTokens + v.CompletionTokens,
		CachedPromptTokens: u.CachedPromptTokens + v.CachedPromptTokens,
		ReasoningTokens:    u.ReasoningTokens + v.ReasoningTokens,
	}
}

// priceJudge sets Judge's costs with price, ApplyPrices' lookup.
func (r *Report) priceJudge(price func(model string) (Price, bool)) {
	js := r.Judge
	if js == nil {
		return
	}
	js.CostUSD, js.SpentUSD, js.Unpriced = 0, 0, 0
	for _, res := range r.Results {
		j := res.Verdict.Judge
		if j == nil {
			continue
		}
		model := cmp.Or(j.Model, js.Model)
		p, ok := price(model)
		if !ok {
			if baseModelOf(model) != LocalBaseModel {
				js.Unpriced++
			}
			continue
		}
		c := p.ChatCost(j.Usage)
		js.CostUSD += c
		if !j.Cached {
			js.SpentUSD += c
		}
	}
}

// judgeCost is the judge's part of the cost paragraph, "" without a judge.
func (r *Report) judgeCost() string {
	js := r.Judge
	if js == nil {
		return ""
	}
	tokens := fmt.Sprintf("%s, %d judgements, %d + %d tokens", js.Model, js.Judged, js.Usage.PromptTokens, js.Usage.CompletionTokens)
	switch {
	case js.Unpriced > 0 && js.CostUSD == 0:
		return fmt.Sprintf("; judge unpriced (%s)", tokens)
	case js.Unpriced > 0:
		return fmt.Sprintf("; judge $%.4f + %d unpriced (%s)", js.CostUSD, js.Unpriced, tokens)
	}
	return fmt.Sprintf("; judge $%.4f (%s)", js.CostUSD, tokens)
}

// judgeLines are the judge's sentences of the Markdown and HTML reports:
// what it judged and its agreement with the reference; nil without a judge.
func (r *Report) judgeLines() []string {
	js := r.Judge
	if js == nil {
		return nil
	}
	lines := []string{fmt.Sprintf("Judge %s: %d items judged, %d judgements failed (counted as errors), %d from the cache.",
		js.Model, js.Judged, js.Errors, js.Cached)}
	a := js.Agreement
	if a == nil {
		return append(lines, "Agreement with the reference evaluator: no item got a verdict from both.")
	}
	kappa := "undefined (both gave every item the same verdict: nothing tells how far one follows the other)"
	if a.Kappa != nil {
		kappa = fmt.Sprintf("%.3f", *a.Kappa)
	}
	return append(lines, fmt.Sprintf("Agreement with the reference evaluator on %d items: Cohen's kappa %s; observed %.1f%%, chance %.1f%%; both correct %d, only the judge %d, only the reference %d, both wrong %d.",
		a.Items, kappa, 100*a.Observed, 100*a.Chance, a.BothCorrect, a.JudgeOnly, a.ReferenceOnly, a.BothWrong))
}
