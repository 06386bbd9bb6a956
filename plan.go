package ragvsft

import (
	"errors"
	"fmt"
)

// Plan is what an Experiment's Run will do, decided before anything is
// indexed, trained or spent: how many items there are, how many an earlier
// run left to keep (Experiment.Results), what is still to ask of each arm,
// how many questions need retrieving and whether a model is fine-tuned.
// Experiment.Plan makes it with every check Run makes first, so a plan
// without an error is a run that will not stop on its settings or its data.
type Plan struct {
	// Questions and Items are the questions asked and arms x questions.
	Questions, Items int
	// Kept are the items Results.Previous covers: not asked again.
	Kept int
	// ToAsk is the items still to ask, per arm, in the Experiment's arm
	// order (every arm listed, 0 included).
	ToAsk []ArmItems
	// Retrievals is the number of questions whose retrieval Run does: a
	// question every retrieving item of which is kept needs none (its
	// hits are in the kept results).
	Retrievals int
	// Documents is the number of documents indexed, when Retrievals > 0.
	Documents int
	// FineTune is the fine-tuning request Run hands the FineTuner, nil when
	// nothing is fine-tuned: no fine-tuned arm, a FineTuned model, or no
	// fine-tuned item left to ask (a finished run resumed trains nothing).
	// Training is before paraphrasing (Experiment.Paraphrases), which adds
	// its rewordings when Run starts.
	FineTune *FineTuneRequest
}

// ArmItems is one arm's count in a Plan.
type ArmItems struct {
	Arm   Arm `json:"arm"`
	Items int `json:"items"`
}

// Asks returns the number of items still to ask, every arm's.
func (p *Plan) Asks() int {
	n := 0
	for _, a := range p.ToAsk {
		n += a.Items
	}
	return n
}

// FineTuneChecker is an optional interface of a FineTuner that can tell
// before anything is spent that it cannot train on a request (a training
// set too large for it, say). Experiment.Plan and Run call it first.
type FineTuneChecker interface {
	CheckFineTune(req FineTuneRequest) error
}

// Plan checks the Experiment as Run would before spending anything (its
// settings, the dataset against OpenAI's rules, the gold answers against a
// GoldChecker, the held-out split against the earlier results, a
// FineTuneChecker) and says what Run would do. It calls Results.Previous
// once, and asks, indexes and trains nothing.
func (e *Experiment) Plan() (*Plan, error) {
	s, err := e.settings()
	if err != nil {
		return nil, err
	}
	questions, err := Questions(s.Dataset)
	if err != nil {
		return nil, err
	}
	p, err := s.plan(newReport(s, questions), questions)
	if err != nil {
		return nil, err
	}
	out := &Plan{Questions: len(questions), Items: len(s.Arms) * len(questions), Kept: len(p.kept)}
	for _, a := range s.Arms {
		out.ToAsk = append(out.ToAsk, ArmItems{Arm: a})
	}
	for _, i := range p.todo {
		out.ToAsk[i/len(questions)].Items++
	}
	for _, need := range p.retrieve {
		if need {
			out.Retrievals++
		}
	}
	if out.Retrievals > 0 {
		docs, err := Documents(s.Dataset)
		if err != nil {
			return nil, err
		}
		out.Documents = len(docs)
	}
	if p.fineTune && p.fineTuneAsks {
		req := s.fineTuneRequest(p.training)
		out.FineTune = &req
	}
	return out, nil
}

// plan is what Run decided before spending: the items kept from
// Results.Previous (index arm*len(questions)+question), the rest to ask,
// which questions need retrieving, and the training set.
type plan struct {
	questions []Question
	facts     factSplit
	training  Dataset
	kept      map[int]Result
	todo      []int
	retrieve  []bool
	// fineTune: the training set is built (paraphrased, labelled) for a
	// FineTuner; fineTuneAsks: a fine-tuned item is still to ask, so the
	// FineTuner is called.
	fineTune, fineTuneAsks bool
}

// plan makes the checks Run makes before anything is spent and decides
// what to ask.
func (s *Experiment) plan(rep *Report, questions []Question) (*plan, error) {
	p := &plan{questions: questions, kept: map[int]Result{}, retrieve: make([]bool, len(questions))}
	var needFineTune bool
	for _, a := range s.Arms {
		needFineTune = needFineTune || a.fineTuned()
	}
	p.fineTune = needFineTune && s.FineTuned == nil
	if p.fineTune {
		// Any Dataset, not only one read by ReadJSONL, is checked with
		// OpenAI's rules before anything is indexed, trained or spent.
		if _, ok := trainingSet(s.Dataset).(*JSONLDataset); !ok {
			if _, err := NewDataset(datasetName(s.Dataset), s.Dataset.Examples()); err != nil {
				return nil, err
			}
		}
	}
	var err error
	if p.facts, err = s.planFacts(rep, questions); err != nil {
		return nil, err
	}
	p.training = p.facts.training(s.Dataset)
	// An evaluator that cannot read the gold answers would make every call
	// a waste: find out before anything is indexed, trained or asked.
	if err := checkGolds(s.Evaluator, s.Dataset, questions); err != nil {
		return nil, err
	}
	n := len(questions)
	prev := make(map[[2]string]Result, len(s.previous))
	for _, r := range s.previous {
		prev[[2]string{string(r.Arm), r.QuestionID}] = r
	}
	for i := range len(s.Arms) * n {
		arm, q := s.Arms[i/n], questions[i%n]
		if r, ok := prev[[2]string{string(arm), q.ID}]; ok && r.Question == q.Text {
			p.kept[i] = r
			continue
		}
		p.todo = append(p.todo, i)
		if arm.retrieves() {
			p.retrieve[i%n] = true
		}
		p.fineTuneAsks = p.fineTuneAsks || arm.fineTuned()
	}
	if c, ok := s.FineTuner.(FineTuneChecker); ok && p.fineTune && p.fineTuneAsks {
		if err := c.CheckFineTune(s.fineTuneRequest(p.training)); err != nil {
			return nil, fmt.Errorf("ragvsft: the fine-tuning of %s cannot be done: %w", datasetName(s.Dataset), err)
		}
	}

	return p, nil
}

// keptRetrieval fills what was retrieved for the questions that need no
// retrieval from their kept results, so that the report's retrieval
// summary is the one a run from scratch gives.
func (p *plan) keptRetrieval(out retrieval, arms []Arm) {
	n := len(p.questions)
	for i, r := range p.kept {
		q := i % n
		if p.retrieve[q] || !arms[i/n].retrieves() || out.hits[q] != nil {
			continue
		}
		if r.Error != "" && len(r.Retrieved) == 0 {
			// Its retrieval failed; the other rag arm's item may have hits.
			if out.errs[q] == nil {
				out.errs[q] = errors.New(r.Error)
			}
			continue
		}
		hits := make([]Hit, len(r.Retrieved))
		for j, d := range r.Retrieved {
			hits[j] = Hit{Document: Document{ID: d.ID, Text: d.Text}, Rank: d.Rank, Score: d.Score}
		}
		out.hits[q], out.errs[q] = hits, nil
	}
}

// fineTuneRequest is what the FineTuner is asked to train on training.
func (s *Experiment) fineTuneRequest(training Dataset) FineTuneRequest {
	return FineTuneRequest{
		BaseModel:       s.BaseModel,
		Training:        training,
		Hyperparameters: s.Hyperparameters,
		Suffix:          s.Suffix,
		Seed:            s.Seed,
	}
}
