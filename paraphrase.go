package ragvsft

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Paraphraser rewords a training question, so that a fine-tuned model is
// trained on several phrasings of each fact (Experiment.Paraphrases). A
// fact trained under one wording is recalled under another much less often
// than under its own; training on paraphrases closes part of that gap
// (Ovadia et al. 2024, "Fine-Tuning or Retrieval?"; Allen-Zhu and Li 2023,
// "Physics of Language Models 3.1"), and this is how a run measures it.
//
// RuleParaphraser rewrites offline, by templates; ModelParaphraser asks a
// chat Model. Implementations must be safe for concurrent use.
type Paraphraser interface {
	Paraphrase(ctx context.Context, req ParaphraseRequest) (Paraphrases, error)
}

// ParaphraseRequest is one training question to reword.
type ParaphraseRequest struct {
	// Messages is the example's conversation up to and including the user
	// turn to reword, its last: the earlier turns are context (the subject
	// a pronoun of the question stands for), not reworded.
	Messages []Message
	// Answer is the assistant's reply the question is trained with: every
	// rewording must still be answered by it.
	Answer string
	// N is how many rewordings are wanted, at least 1.
	N int
}

// Question is the user turn req rewords: its last message's content.
func (req ParaphraseRequest) Question() string {
	if len(req.Messages) == 0 {
		return ""
	}
	return req.Messages[len(req.Messages)-1].Content
}

// Paraphrases are the rewordings of one question. A Paraphraser may write
// fewer than asked (a template that does not fit, a model that repeats
// itself); Experiment counts the shortfall.
type Paraphrases struct {
	Texts []string
	// Model, Usage and Cached describe the model call behind Texts, as
	// ChatResponse does; zero for a rule.
	Model  string
	Usage  Usage
	Cached bool
}

// ErrParaphraseReply is wrapped by the error of a ModelParaphraser whose
// model's reply is not a list of rewordings.
var ErrParaphraseReply = errors.New("ragvsft: the paraphraser's reply is not a list of rewordings")

// ParaphraseMarker is written in ModelParaphraser's default system message
// (DefaultParaphrasePrompts.System) so that a server standing in for a
// model can tell a paraphrasing request from any other: ragvsfttest answers
// requests whose system message holds it with RuleParaphraser's rewordings.
const ParaphraseMarker = "ragvsft-paraphrase/v1"

// ParaphraseSchema is the JSON Schema of ModelParaphraser's reply, sent as
// OpenAI's structured outputs under ParaphraseSchemaName.
const ParaphraseSchema = `{"type":"object","properties":{"paraphrases":{"type":"array","items":{"type":"string"}}},"required":["paraphrases"],"additionalProperties":false}`

// ParaphraseSchemaName is the name ParaphraseSchema is sent under.
const ParaphraseSchemaName = "paraphrases"

// ParaphrasePrompts are ModelParaphraser's messages. System is the system
// message, as is; User is the user message, with {n}, {conversation},
// {question} and {answer} replaced in one pass ({conversation} is the
// turns before the question, one "role: content" line each, or "none").
// A zero field means DefaultParaphrasePrompts'.
type ParaphrasePrompts struct {
	System string `json:"system"`
	User   string `json:"user"`
}

// DefaultParaphrasePrompts are ModelParaphraser's prompts. The user
// message puts each part between tags, so that a question cannot pass for
// an instruction; ragvsfttest reads the <count> and <question> sections.
var DefaultParaphrasePrompts = ParaphrasePrompts{
	System: "You write paraphrases of questions for a fine-tuning data set (" + ParaphraseMarker + "). " +
		"You are given a question (between <question> tags), the conversation it was asked in (<conversation>, or \"none\"), the answer it is trained with (<answer>) and a count (<count>). " +
		"Write that many different rewordings of the question. Each must ask for exactly the fact the answer gives, in the question's language, " +
		"keep every name, number, date and unit of the question as it is written, and may use any other words and sentence shapes (a question, an imperative, a statement of what is wanted). " +
		"Do not answer the question and do not copy the answer's wording. " +
		`Reply with one JSON object and nothing else: {"paraphrases": [the rewordings, one string each]}.`,
	User: "<conversation>\n{conversation}\n</conversation>\n<question>\n{question}\n</question>\n<answer>\n{answer}\n</answer>\n<count>{n}</count>",
}

func (p ParaphrasePrompts) withDefaults() ParaphrasePrompts {
	p.System = cmp.Or(p.System, DefaultParaphrasePrompts.System)
	p.User = cmp.Or(p.User, DefaultParaphrasePrompts.User)
	return p
}

// messages renders the paraphraser's conversation for req.
func (p ParaphrasePrompts) messages(req ParaphraseRequest) []Message {
	conversation := "none"
	if len(req.Messages) > 1 {
		lines := make([]string, 0, len(req.Messages)-1)
		for _, m := range req.Messages[:len(req.Messages)-1] {
			lines = append(lines, m.Role+": "+strings.Join(strings.Fields(m.Content), " "))
		}
		conversation = strings.Join(lines, "\n")
	}
	user := strings.NewReplacer("{n}", fmt.Sprint(req.N), "{conversation}", conversation,
		"{question}", req.Question(), "{answer}", req.Answer).Replace(p.User)
	return []Message{{Role: RoleSystem, Content: p.System}, {Role: RoleUser, Content: user}}
}

// DefaultParaphraseMaxTokens caps ModelParaphraser's reply when MaxTokens
// is 0: room for about ten rewordings of a long question.
const DefaultParaphraseMaxTokens = 800

// ModelParaphraser is a Paraphraser that asks a chat Model: one request per
// question, DefaultParaphrasePrompts (or Prompts) at Temperature, with Seed
// and MaxTokens, asking for ParaphraseSchema as structured outputs. Wrap
// the Model with Cache.Model so that a rerun pays for no rewording twice
// (and, the training file being the same, reuses the fine-tuning job); the
// Experiment's report prices the calls (Report.Paraphrase) like the arms'.
//
// The reply must be exactly one JSON object {"paraphrases": [...]}, every
// item a non-blank string: anything else is an error wrapping
// ErrParaphraseReply and naming the reply, and stops the run before
// fine-tuning (a training file with some facts reworded and others not
// would measure nothing). Rewordings beyond N are ignored, blank lines and
// repeats dropped.
//
// Model is required; the other fields' zero values mean the defaults.
// Safe for concurrent use if Model is.
type ModelParaphraser struct {
	Model   Model
	Prompts ParaphrasePrompts
	// Temperature of the requests; 0, the default, asks for the most
	// likely rewordings, which a cache then serves again word for word.
	Temperature float64
	// Seed is sent with every request; 0 means DefaultSeed.
	Seed int64
	// MaxTokens caps each reply; 0 means DefaultParaphraseMaxTokens.
	MaxTokens int
}

var _ Paraphraser = ModelParaphraser{}

// Paraphrase asks the Model for req.N rewordings of req's question.
func (p ModelParaphraser) Paraphrase(ctx context.Context, req ParaphraseRequest) (Paraphrases, error) {
	if p.Model == nil {
		return Paraphrases{}, fmt.Errorf("%w: ModelParaphraser.Model", ErrMissing)
	}
	if p.MaxTokens < 0 {
		return Paraphrases{}, fmt.Errorf("ragvsft: ModelParaphraser.MaxTokens must not be negative, got %d", p.MaxTokens)
	}
	resp, err := p.Model.Chat(ctx, ChatRequest{
		Messages:       p.Prompts.withDefaults().messages(req),
		Temperature:    p.Temperature,
		Seed:           cmp.Or(p.Seed, DefaultSeed),
		MaxTokens:      cmp.Or(p.MaxTokens, DefaultParaphraseMaxTokens),
		ResponseFormat: &ResponseFormat{Name: ParaphraseSchemaName, Schema: json.RawMessage(ParaphraseSchema), Strict: true},
	})
	out := Paraphrases{Model: cmp.Or(resp.Model, modelName(p.Model)), Usage: resp.Usage, Cached: resp.Cached}
	if err != nil {
		return out, err
	}
	texts, err := parseParaphraseReply(resp.Content)
	if err != nil {
		return out, fmt.Errorf("%s: %w", out.Model, err)
	}
	out.Texts = texts[:min(len(texts), req.N)]
	return out, nil
}

// parseParaphraseReply reads a paraphraser's reply strictly: one JSON
// object whose only key, "paraphrases", is a list of non-blank strings.
func parseParaphraseReply(reply string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(reply))
	dec.DisallowUnknownFields()
	var r struct {
		Paraphrases *[]string `json:"paraphrases"`
	}
	bad := func(why string) ([]string, error) {
		return nil, fmt.Errorf("%w: %s: %s", ErrParaphraseReply, why, quoteReply(reply))
	}
	if err := dec.Decode(&r); err != nil {
		return bad("not one JSON object with only the key paraphrases, a list of strings (" + err.Error() + ")")
	}
	if strings.TrimSpace(reply[dec.InputOffset():]) != "" {
		return bad("text after the JSON object")
	}
	if r.Paraphrases == nil {
		return bad(`no "paraphrases"`)
	}
	var texts []string
	for _, t := range *r.Paraphrases {
		if t = strings.TrimSpace(t); t != "" {
			texts = append(texts, t)
		}
	}
	if len(texts) == 0 {
		return bad("no rewording")
	}
	return texts, nil
}

// DefaultParaphraseTemplates are RuleParaphraser's templates when it has
// none: English rewordings, most different first. They are general English
// question forms, chosen before looking at any knowledge base's results.
var DefaultParaphraseTemplates = []string{
	"Tell me {subject}.",
	"Can you tell me {embedded}?",
	"About {entity}: {question}",
	"I would like to know this: {question}",
	"{question} Please answer in one sentence.",
}

// RuleParaphraser is a Paraphraser that rewrites by templates, offline and
// deterministically: the embedded local model's companion, good enough to
// run and test the paraphrase pipeline with no model to ask. It does not
// understand the question: a rewording keeps the question's words (and
// adds others around them), where a model's would replace them. To
// measure what paraphrases do for a model that understands language, use
// ModelParaphraser.
//
// Each template is filled with the question; a template one of whose
// placeholders does not fit it is skipped:
//
//   - {question}: the question as it is;
//   - {embedded}: a question ending in "?", without it and with its first
//     letter lower-cased ("what year did Acme start trading");
//   - {subject}: of a question "What is|are|was|were X?", the X ("the
//     population of Springfield"); English only;
//   - {entity}: the longest run of capitalized words not at the start of
//     the question ("Tearkbour Analytics"), a name to put first.
//
// The first N distinct rewordings, none equal to the question, are
// returned, in template order. Safe for concurrent use.
type RuleParaphraser struct {
	// Templates, in order; nil means DefaultParaphraseTemplates (English:
	// give your own for a knowledge base in another language).
	Templates []string
}

var _ Paraphraser = RuleParaphraser{}

// Paraphrase rewrites req's question with the templates.
func (p RuleParaphraser) Paraphrase(ctx context.Context, req ParaphraseRequest) (Paraphrases, error) {
	if err := ctx.Err(); err != nil {
		return Paraphrases{}, err
	}
	templates := p.Templates
	if templates == nil {
		templates = DefaultParaphraseTemplates
	}
	q := strings.Join(strings.Fields(req.Question()), " ")
	fill := map[string]string{"{question}": q, "{embedded}": embeddedQuestion(q), "{subject}": copulaSubject(q), "{entity}": leadingEntity(q)}
	seen := map[string]bool{normalizeWording(q): true}
	var out Paraphrases
	for _, t := range templates {
		if len(out.Texts) == req.N {
			break
		}
		text, ok := fillTemplate(t, fill)
		if !ok || seen[normalizeWording(text)] {
			continue
		}
		seen[normalizeWording(text)] = true
		out.Texts = append(out.Texts, text)
	}
	return out, nil
}

// fillTemplate replaces t's placeholders, failing when one used is empty.
func fillTemplate(t string, fill map[string]string) (string, bool) {
	var pairs []string
	for k, v := range fill {
		if strings.Contains(t, k) {
			if v == "" {
				return "", false
			}
			pairs = append(pairs, k, v)
		}
	}
	return strings.NewReplacer(pairs...).Replace(t), true
}

// embeddedQuestion is q, a question ending in "?", made a clause: its "?"
// removed and its first letter lower-cased unless the first word is a
// name (capitalized within too, "McLaren", or all capitals); "" for
// anything else.
func embeddedQuestion(q string) string {
	body, ok := strings.CutSuffix(q, "?")
	body = strings.TrimSpace(body)
	if !ok || body == "" {
		return ""
	}
	first, _, _ := strings.Cut(body, " ")
	if isName(first) {
		return body
	}
	r, size := utf8.DecodeRuneInString(body)
	return string(unicode.ToLower(r)) + body[size:]
}

// isName reports whether w looks like a name rather than a capitalized
// sentence start: a capital after its first letter, or a digit.
func isName(w string) bool {
	for i, r := range w {
		if i > 0 && unicode.IsUpper(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// copulaSubject is X of a question "What is|are|was|were X?", "" else.
func copulaSubject(q string) string {
	body, ok := strings.CutSuffix(q, "?")
	if !ok {
		return ""
	}
	words := strings.Fields(body)
	if len(words) < 3 || !strings.EqualFold(words[0], "what") {
		return ""
	}
	switch strings.ToLower(words[1]) {
	case "is", "are", "was", "were":
		return strings.Join(words[2:], " ")
	}
	return ""
}

// leadingEntity is the longest run of capitalized words of q after its
// first word, trailing punctuation and a possessive "'s" cut; "" when
// there is none.
func leadingEntity(q string) string {
	words := strings.Fields(q)
	best, run := "", []string(nil)
	flush := func() {
		if e := strings.Join(run, " "); utf8.RuneCountInString(e) > utf8.RuneCountInString(best) {
			best = e
		}
		run = nil
	}
	for i, w := range words {
		w = strings.TrimRight(w, ".,;:!?\"')")
		w = strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s")
		r, _ := utf8.DecodeRuneInString(w)
		if i == 0 || w == "" || !unicode.IsUpper(r) {
			flush()
			continue
		}
		run = append(run, w)
		if w != words[i] {
			flush() // punctuation ends the name
		}
	}
	flush()
	return best
}
