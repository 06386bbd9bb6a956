package ragvsft

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrBadParaphrases is wrapped by Run for an Experiment.Paraphrases that
// cannot be honoured.
var ErrBadParaphrases = errors.New("ragvsft: invalid Paraphrases")

// ParaphraseSummary is what a run's paraphrasing wrote and cost
// (Report.Paraphrase; nil when nothing was paraphrased).
type ParaphraseSummary struct {
	// Paraphraser names it: its Model for a ModelParaphraser, else its type.
	Paraphraser string `json:"paraphraser"`
	// PerQuestion is Experiment.Paraphrases: the rewordings asked of each
	// trained example's question.
	PerQuestion int `json:"per_question"`
	// Questions counts the trained examples reworded; Written the
	// rewordings trained on (each one more training example).
	Questions int `json:"questions"`
	Written   int `json:"written"`
	// Short counts the rewordings the paraphraser did not write
	// (Questions·PerQuestion less what it returned).
	Short int `json:"short"`
	// Duplicates counts rewordings dropped as a training prompt already
	// (the question itself, another example's, another rewording);
	// HeldOut those dropped as the wording of an evaluation question that
	// is not a training prompt, which would otherwise stop being held out.
	Duplicates int `json:"duplicates"`
	HeldOut    int `json:"held_out"`
	// TrainingExamples is what the FineTuner was given: the trained
	// examples and their rewordings.
	TrainingExamples int `json:"training_examples"`
	// Calls, Cached and Usage describe the model calls (0 for a rule).
	Calls  int   `json:"calls,omitempty"`
	Cached int   `json:"cached,omitempty"`
	Usage  Usage `json:"usage"`
	// CostUSD is the calls at the model's catalog prices, set by
	// ApplyPrices; SpentUSD less the cached ones; Unpriced counts the
	// calls of a model the catalog does not price.
	CostUSD  float64 `json:"cost_usd"`
	SpentUSD float64 `json:"spent_usd"`
	Unpriced int     `json:"unpriced,omitempty"`
	// Items are the rewordings of each trained example, in training order.
	Items []ParaphraseItem `json:"items"`
}

// ParaphraseItem is one trained example's rewordings.
type ParaphraseItem struct {
	// ExampleID is the training example's ID; each rewording is trained
	// as the example "ExampleID~pN", N from 1.
	ExampleID string `json:"example_id"`
	Question  string `json:"question"`
	// Paraphrases are the rewordings trained on; Dropped those the
	// paraphraser wrote and the run did not train on (see
	// ParaphraseSummary.Duplicates and HeldOut).
	Paraphrases []string `json:"paraphrases"`
	Dropped     []string `json:"dropped,omitempty"`
	// Usage and Cached describe the model call that wrote them (zero for
	// a rule), for ApplyPrices.
	Usage  Usage `json:"usage,omitzero"`
	Cached bool  `json:"cached,omitempty"`
}

// paraphrase returns training with Paraphrases rewordings of each
// example's last user turn added after the example, each a copy of it
// with that turn replaced, and rep.Paraphrase saying what was written. A
// rewording that is already a training prompt, or that is the wording of
// an evaluation question held out of training, is dropped, so that held-out
// wordings stay held out. Any failed call fails the run: it happens before
// fine-tuning, and a Cache keeps what was paid for.
func (s *Experiment) paraphrase(ctx context.Context, rep *Report, training Dataset, questions []Question) (Dataset, error) {
	if s.Paraphrases == 0 {
		return training, nil
	}
	exs := training.Examples()
	prompts := trainingWordings(training)
	heldOut := map[string]bool{}
	for _, q := range questions {
		if w := normalizeWording(q.Text); !prompts[w] {
			heldOut[w] = true
		}
	}
	// The turn reworded is the one Questions asks: the last user turn
	// before the final assistant turn, whose content is the answer. Every
	// example is checked before the first call.
	turns, finals := make([]int, len(exs)), make([]int, len(exs))
	for i, ex := range exs {
		if turns[i], finals[i] = questionTurns(ex.Messages); turns[i] < 0 || finals[i] < 0 {
			return nil, fmt.Errorf("%w: training example %s (%s) has no user turn before a final assistant turn to reword", ErrBadParaphrases, ex.ID, exampleOrigin(ex))
		}
	}
	replies := make([]Paraphrases, len(exs))
	err := forEach(ctx, len(exs), s.Concurrency, func(i int) error {
		ex := exs[i]
		p, err := s.Paraphraser.Paraphrase(ctx, ParaphraseRequest{Messages: slices.Clone(ex.Messages[:turns[i]+1]), Answer: ex.Messages[finals[i]].Content, N: s.Paraphrases})
		replies[i] = p
		if err != nil {
			return fmt.Errorf("ragvsft: paraphrasing training example %s (%s): %w", ex.ID, exampleOrigin(ex), err)
		}
		return nil
	})
	sum := &ParaphraseSummary{PerQuestion: s.Paraphrases, Questions: len(exs)}
	for _, p := range replies {
		sum.Usage = sum.Usage.add(p.Usage)
		if p.Model != "" || p.Usage != (Usage{}) {
			sum.Calls++
			sum.Paraphraser = cmp.Or(sum.Paraphraser, p.Model)
		}
		if p.Cached {
			sum.Cached++
		}
	}
	// A rule is named by its type.
	sum.Paraphraser = cmp.Or(sum.Paraphraser, strings.TrimPrefix(fmt.Sprintf("%T", s.Paraphraser), "ragvsft."))
	rep.Paraphrase = sum
	if err != nil {
		// Nothing is trained; the calls made are kept, for their cost.
		for i, p := range replies {
			if p.Model != "" || p.Usage != (Usage{}) {
				sum.Items = append(sum.Items, ParaphraseItem{ExampleID: exs[i].ID, Question: exs[i].Messages[turns[i]].Content, Usage: p.Usage, Cached: p.Cached})
			}
		}
		return nil, err
	}
	var out []Example
	for i, ex := range exs {
		item := ParaphraseItem{ExampleID: ex.ID, Question: ex.Messages[turns[i]].Content, Usage: replies[i].Usage, Cached: replies[i].Cached}
		texts := replies[i].Texts[:min(len(replies[i].Texts), s.Paraphrases)]
		sum.Short += s.Paraphrases - len(texts)
		out = append(out, ex)
		for _, text := range texts {
			text = strings.TrimSpace(text)
			w := normalizeWording(text)
			switch {
			case w == "" || prompts[w]:
				sum.Duplicates++
				item.Dropped = append(item.Dropped, text)
				continue
			case heldOut[w]:
				sum.HeldOut++
				item.Dropped = append(item.Dropped, text)
				continue
			}
			prompts[w] = true
			item.Paraphrases = append(item.Paraphrases, text)
			msgs := slices.Clone(ex.Messages)
			msgs[turns[i]].Content = text
			out = append(out, Example{ID: fmt.Sprintf("%s~p%d", ex.ID, len(item.Paraphrases)), Line: ex.Line, Messages: msgs})
		}
		sum.Written += len(item.Paraphrases)
		sum.Items = append(sum.Items, item)
	}
	sum.TrainingExamples = len(out)
	name := fmt.Sprintf("%s (+%d paraphrases)", datasetName(training), sum.Written)
	// The rewordings are checked with OpenAI's rules like any training
	// file, before anything is trained.
	if _, err := NewDataset(name, out); err != nil {
		return nil, fmt.Errorf("ragvsft: the training set with its paraphrases: %w", err)
	}
	return &trainedFacts{name: name, examples: out}, nil
}

// exampleOrigin says where ex comes from, for errors: "line N", or "not
// from a file".
func exampleOrigin(ex Example) string {
	if ex.Line > 0 {
		return fmt.Sprintf("line %d", ex.Line)
	}
	return "not from a file"
}

// priceParaphrase sets Paraphrase's costs with price, ApplyPrices' lookup:
// each call at the paraphraser model's chat prices, the cached ones in
// CostUSD only.
func (r *Report) priceParaphrase(price func(model string) (Price, bool)) {
	ps := r.Paraphrase
	if ps == nil || ps.Calls == 0 {
		return
	}
	ps.CostUSD, ps.SpentUSD, ps.Unpriced = 0, 0, 0
	p, ok := price(ps.Paraphraser)
	if !ok {
		if baseModelOf(ps.Paraphraser) != LocalBaseModel {
			ps.Unpriced = ps.Calls
		}
		return
	}
	for _, it := range ps.Items {
		c := p.ChatCost(it.Usage)
		ps.CostUSD += c
		if !it.Cached {
			ps.SpentUSD += c
		}
	}
}

// paraphraseLine is the reports' sentence on the paraphrases, "" without.
func (r *Report) paraphraseLine() string {
	ps := r.Paraphrase
	if ps == nil {
		return ""
	}
	line := fmt.Sprintf("Paraphrases: %d per training question by %s; %d written for %d questions, fine-tuned on %d examples.",
		ps.PerQuestion, ps.Paraphraser, ps.Written, ps.Questions, ps.TrainingExamples)
	var dropped []string
	if ps.Short > 0 {
		dropped = append(dropped, fmt.Sprintf("%d not written", ps.Short))
	}
	if ps.Duplicates > 0 {
		dropped = append(dropped, fmt.Sprintf("%d dropped as already a training prompt", ps.Duplicates))
	}
	if ps.HeldOut > 0 {
		dropped = append(dropped, fmt.Sprintf("%d dropped as the held-out wording of an evaluation question", ps.HeldOut))
	}
	if len(dropped) > 0 {
		line += " " + strings.ToUpper(dropped[0][:1]) + dropped[0][1:]
		if len(dropped) > 1 {
			line += ", " + strings.Join(dropped[1:], ", ")
		}
		line += "."
	}
	return line
}

// paraphraseCost is the paraphraser's part of the cost paragraph, "" when
// no model was called.
func (r *Report) paraphraseCost() string {
	ps := r.Paraphrase
	if ps == nil || ps.Calls == 0 {
		return ""
	}
	tokens := fmt.Sprintf("%s, %d calls, %d + %d tokens", ps.Paraphraser, ps.Calls, ps.Usage.PromptTokens, ps.Usage.CompletionTokens)
	if ps.Unpriced > 0 {
		return fmt.Sprintf("; paraphrases unpriced (%s)", tokens)
	}
	return fmt.Sprintf("; paraphrases $%.4f (%s)", ps.CostUSD, tokens)
}
