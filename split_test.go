package ragvsft_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/report"
)

// firstExamples is the dataset of the first n examples of a testdata
// knowledge base.
func firstExamples(t *testing.T, kb string, n int) *ragvsft.JSONLDataset {
	t.Helper()
	ds := loadKB(t, kb)
	sub, err := ragvsft.NewDataset(kb, ds.Examples()[:min(n, ds.Len())])
	require.NoError(t, err)
	return sub
}

// recordingFineTuner is the local fine-tuner, keeping what it was asked to
// train on.
type recordingFineTuner struct {
	ragvsft.LocalFineTuner
	mu       sync.Mutex
	training [][]ragvsft.Example
}

func (f *recordingFineTuner) FineTune(ctx context.Context, req ragvsft.FineTuneRequest) (*ragvsft.FineTuned, error) {
	f.mu.Lock()
	f.training = append(f.training, req.Training.Examples())
	f.mu.Unlock()
	return f.LocalFineTuner.FineTune(ctx, req)
}

// assertSplitAddsUp checks that each group's four outcomes count the
// results the group's label gives it, arm by arm.
func assertSplitAddsUp(t *testing.T, rep *ragvsft.Report, name string, label func(ragvsft.Result) string) {
	t.Helper()
	sp, ok := rep.Split(name)
	require.True(t, ok, "split %s", name)
	for _, g := range sp.Groups {
		questions := map[string]bool{}
		for _, a := range g.Arms {
			var want [4]int
			for _, r := range rep.Results {
				if r.Arm != a.Arm || label(r) != g.Name {
					continue
				}
				questions[r.QuestionID] = true
				want[slices.Index(ragvsft.Outcomes, r.Outcome)]++
			}
			assert.Equal(t, want, [4]int{a.Correct, a.Wrong, a.Abstained, a.Errors}, "%s %s %s", name, g.Name, a.Arm)
			assert.Equal(t, a.Correct+a.Wrong+a.Abstained, a.Answered)
		}
		assert.Equal(t, len(questions), g.Questions, "%s %s", name, g.Name)
	}
}

// Held out of fine-tuning, facts are still asked; at enough epochs the
// fine-tuned arm knows the trained ones and not the held-out ones.
func TestHoldOutFactsOnKnowledgeBases(t *testing.T) {
	for _, kb := range []string{"companies.jsonl", "people.jsonl", "rivers.jsonl", "explorers.jsonl"} {
		t.Run(kb, func(t *testing.T) {
			t.Parallel()
			ds := firstExamples(t, kb, 40)
			ft := &recordingFineTuner{}
			exp := &ragvsft.Experiment{
				Dataset:         ds,
				Base:            ragvsft.NewLocalModel(),
				FineTuner:       ft,
				Evaluator:       ragvsft.AutoEvaluator{},
				Arms:            []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmFineTuned},
				Hyperparameters: ragvsft.Hyperparameters{Epochs: 30},
				HoldOutFacts:    0.3,
			}
			rep, err := exp.Run(context.Background())
			require.NoError(t, err)
			require.True(t, rep.Complete)
			assert.Equal(t, 12, rep.Settings.HeldOutFacts)
			assert.Equal(t, 28, rep.Settings.TrainedFacts)
			assert.Len(t, rep.Results, 2*40, "every question asked of every arm")

			// The fine-tuner saw the trained facts and no other.
			require.Len(t, ft.training, 1)
			var trainedIDs, labelled []string
			for _, ex := range ft.training[0] {
				trainedIDs = append(trainedIDs, ex.ID)
			}
			for _, r := range rep.Results {
				require.NotEmpty(t, r.Fact, r.QuestionID)
				if r.Arm == ragvsft.ArmFineTuned && r.Fact == ragvsft.FactTrained {
					labelled = append(labelled, r.QuestionID)
				}
				if r.Fact == ragvsft.FactTrained {
					assert.True(t, r.SeenInTraining, "a trained fact's wording is a training prompt")
				}
			}
			assert.ElementsMatch(t, trainedIDs, labelled)

			assertSplitAddsUp(t, rep, ragvsft.SplitFacts, func(r ragvsft.Result) string { return r.Fact })
			sp, _ := rep.Split(ragvsft.SplitFacts)
			trained, ok := sp.Group(ragvsft.FactTrained, ragvsft.ArmFineTuned)
			require.True(t, ok)
			held, ok := sp.Group(ragvsft.FactHeldOut, ragvsft.ArmFineTuned)
			require.True(t, ok)
			t.Logf("fine-tuned: trained %d/%d, held out %d/%d", trained.Correct, trained.Answered, held.Correct, held.Answered)
			assert.Greater(t, trained.Accuracy, held.Accuracy, "what it saw it knows better than what it did not")
			assert.Greater(t, held.HallucinationRate, trained.HallucinationRate)

			var md bytes.Buffer
			require.NoError(t, rep.WriteMarkdown(&md))
			assert.Contains(t, md.String(), "Held-out facts: fine-tuned on 28 of 40 facts (training examples), 12 held out")
			assert.Contains(t, md.String(), "| fine-tuned | held-out |")
		})
	}
}

// The splits are in every report: JSON (null rates when undefined), CSV
// columns, HTML.
func TestSplitsInEveryReport(t *testing.T) {
	ds := firstExamples(t, "products.jsonl", 24)
	exp := &ragvsft.Experiment{
		Dataset:         ds,
		FineTuner:       ragvsft.LocalFineTuner{},
		Evaluator:       ragvsft.AutoEvaluator{},
		Arms:            []ragvsft.Arm{ragvsft.ArmFineTuned},
		Hyperparameters: ragvsft.Hyperparameters{Epochs: 3},
		HoldOutFacts:    0.5,
	}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)

	b, err := json.Marshal(rep)
	require.NoError(t, err)
	var raw struct {
		Settings struct {
			HoldOutFacts float64 `json:"hold_out_facts"`
			HeldOut      int     `json:"held_out_facts"`
		} `json:"settings"`
		Splits []struct {
			Name   string `json:"name"`
			NA     string `json:"na"`
			Groups []struct {
				Name string `json:"name"`
				Arms []struct {
					Accuracy *float64 `json:"accuracy"`
					Answered int      `json:"answered"`
				} `json:"arms"`
			} `json:"groups"`
		} `json:"splits"`
		Results []struct {
			Fact string `json:"fact"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.Equal(t, 0.5, raw.Settings.HoldOutFacts)
	assert.Equal(t, 12, raw.Settings.HeldOut)
	require.Len(t, raw.Splits, 2)
	assert.Equal(t, ragvsft.SplitFacts, raw.Splits[0].Name)
	assert.Equal(t, ragvsft.SplitKnowledge, raw.Splits[1].Name)
	assert.Contains(t, raw.Splits[1].NA, "base arm did not run")
	for _, g := range raw.Splits[0].Groups {
		require.Len(t, g.Arms, 1)
		assert.NotNil(t, g.Arms[0].Accuracy, g.Name)
	}
	for _, r := range raw.Results {
		assert.Contains(t, []string{ragvsft.FactTrained, ragvsft.FactHeldOut}, r.Fact)
	}
	var back ragvsft.Report
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, rep.Splits, back.Splits)

	var md bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "Known and unknown facts: known when the base arm answered right closed book, unknown when it answered wrong or abstained. n/a: the base arm did not run")

	var c bytes.Buffer
	require.NoError(t, report.WriteCSV(&c, rep))
	rows, err := csv.NewReader(&c).ReadAll()
	require.NoError(t, err)
	fact := slices.Index(rows[0], "fact")
	require.GreaterOrEqual(t, fact, 0)
	require.GreaterOrEqual(t, slices.Index(rows[0], "knowledge"), 0)
	counts := map[string]int{}
	for _, row := range rows[1:] {
		counts[row[fact]]++
	}
	assert.Equal(t, map[string]int{ragvsft.FactTrained: 12, ragvsft.FactHeldOut: 12}, counts)

	var h bytes.Buffer
	require.NoError(t, report.WriteHTML(&h, rep))
	assert.Contains(t, h.String(), `id="split-facts"`)
	assert.Contains(t, h.String(), "n/a: the base arm did not run")
	assert.Equal(t, 1, strings.Count(h.String(), "<tr><td>held-out</td>"))
	assert.Equal(t, 1, strings.Count(h.String(), "<tr><td>trained</td>"))
}

// A resumed run keeps the checkpoint's facts; a checkpoint of another split
// is refused before anything is trained or asked.
func TestHoldOutFactsResume(t *testing.T) {
	ds := firstExamples(t, "products.jsonl", 24)
	exp := func(f float64, previous []ragvsft.Result, asked *int) *ragvsft.Experiment {
		return &ragvsft.Experiment{
			Dataset:         ds,
			Base:            ragvsft.NewLocalModel(),
			FineTuner:       ragvsft.LocalFineTuner{},
			Evaluator:       ragvsft.AutoEvaluator{},
			Arms:            []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmFineTuned},
			Hyperparameters: ragvsft.Hyperparameters{Epochs: 3},
			HoldOutFacts:    f,
			Results:         resumeFrom(previous, false, func(ragvsft.Result) { *asked++ }),
		}
	}
	var asked int
	first, err := exp(0.5, nil, &asked).Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 48, asked)

	asked = 0
	again, err := exp(0.5, first.Results, &asked).Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, asked, "everything came from the checkpoint")
	assert.Equal(t, first.Splits, again.Splits)

	for _, f := range []float64{0, 0.3} {
		asked = 0
		_, err = exp(f, first.Results, &asked).Run(context.Background())
		assert.ErrorIs(t, err, ragvsft.ErrBadHoldOut, "HoldOutFacts %v", f)
		assert.Zero(t, asked)
	}
}

// Known and unknown facts follow the base arm: a base model that knows
// half of the knowledge base (a local model trained on it) is right on the
// known facts by definition, and the fine-tuned arm is split by them.
func TestKnownAndUnknownFacts(t *testing.T) {
	for _, kb := range []string{"companies.jsonl", "people.jsonl"} {
		t.Run(kb, func(t *testing.T) {
			t.Parallel()
			ds := firstExamples(t, kb, 30)
			half, err := ragvsft.NewDataset("half", ds.Examples()[:15])
			require.NoError(t, err)
			pre, err := ragvsft.LocalFineTuner{}.FineTune(context.Background(), ragvsft.FineTuneRequest{
				Training: half, Hyperparameters: ragvsft.Hyperparameters{Epochs: 30}, Seed: 1})
			require.NoError(t, err)
			exp := &ragvsft.Experiment{
				Dataset:         ds,
				Base:            pre.Model,
				BaseModel:       ragvsft.LocalBaseModel,
				FineTuner:       ragvsft.LocalFineTuner{},
				Evaluator:       ragvsft.AutoEvaluator{},
				Arms:            []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmFineTuned},
				Hyperparameters: ragvsft.Hyperparameters{Epochs: 10},
			}
			rep, err := exp.Run(context.Background())
			require.NoError(t, err)
			base, _ := rep.Arm(ragvsft.ArmBase)
			require.Greater(t, base.Correct, 0, "the pre-trained base knows some facts")
			require.Less(t, base.Correct, 30)

			sp, ok := rep.Split(ragvsft.SplitKnowledge)
			require.True(t, ok)
			require.Empty(t, sp.NA)
			_, hasBase := sp.Group(ragvsft.KnowledgeKnown, ragvsft.ArmBase)
			assert.False(t, hasBase, "the base arm is the definition, not a result")
			counts := map[string]int{}
			for _, g := range sp.Groups {
				counts[g.Name] = g.Questions
			}
			assert.Equal(t, map[string]int{ragvsft.KnowledgeKnown: base.Correct, ragvsft.KnowledgeUnknown: base.Wrong + base.Abstained}, counts)
			assert.Zero(t, sp.Unlabelled)
			outcome := map[string]ragvsft.Outcome{}
			for _, r := range rep.Results {
				if r.Arm == ragvsft.ArmBase {
					outcome[r.QuestionID] = r.Outcome
				}
			}
			for _, r := range rep.Results {
				assert.Equal(t, outcome[r.QuestionID] == ragvsft.OutcomeCorrect, r.Knowledge == ragvsft.KnowledgeKnown, r.QuestionID)
			}
			assertSplitAddsUp(t, rep, ragvsft.SplitKnowledge, func(r ragvsft.Result) string { return r.Knowledge })
			known, _ := sp.Group(ragvsft.KnowledgeKnown, ragvsft.ArmFineTuned)
			unknown, _ := sp.Group(ragvsft.KnowledgeUnknown, ragvsft.ArmFineTuned)
			t.Logf("fine-tuned: known %d/%d (hallucination %.2f), unknown %d/%d (hallucination %.2f)",
				known.Correct, known.Answered, known.HallucinationRate, unknown.Correct, unknown.Answered, unknown.HallucinationRate)
		})
	}
}

// Repeats run with seeds Seed, Seed+1, ...: another fine-tuning, another
// held-out draw, and the spreads are those of the runs' rates.
func TestRepeat(t *testing.T) {
	ds := firstExamples(t, "rivers.jsonl", 30)
	var calls int
	exp := &ragvsft.Experiment{
		Dataset:         ds,
		Base:            ragvsft.NewLocalModel(),
		FineTuner:       ragvsft.LocalFineTuner{},
		Evaluator:       ragvsft.AutoEvaluator{},
		Arms:            []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmFineTuned},
		Hyperparameters: ragvsft.Hyperparameters{Epochs: 10},
		HoldOutFacts:    0.3,
		Seed:            7,
		Results:         ragvsft.ResultFunc(func(ragvsft.Result) error { calls++; return nil }),
	}
	rr, err := ragvsft.Repeat(context.Background(), exp, 3)
	require.NoError(t, err)
	assert.Equal(t, []int64{7, 8, 9}, rr.Seeds)
	require.Len(t, rr.Reports, 3)
	assert.Equal(t, 3, rr.Runs)
	assert.Equal(t, 2*30, calls, "Results belongs to the first repeat")
	assert.Equal(t, int64(7), exp.Seed, "the experiment is not modified")

	models, splits := map[string]bool{}, map[string]bool{}
	for i, rep := range rr.Reports {
		assert.Equal(t, rr.Seeds[i], rep.Settings.Seed)
		models[rep.FineTune.ModelID] = true
		var held []string
		for _, r := range rep.Results {
			if r.Arm == ragvsft.ArmBase && r.Fact == ragvsft.FactHeldOut {
				held = append(held, r.QuestionID)
			}
		}
		splits[strings.Join(held, " ")] = true
	}
	assert.Len(t, models, 3, "each repeat fine-tunes with its own seed")
	assert.Len(t, splits, 3, "each repeat holds out other facts")

	require.Len(t, rr.Arms, 2)
	for _, a := range rr.Arms {
		var xs []float64
		for _, rep := range rr.Reports {
			s, _ := rep.Arm(a.Arm)
			xs = append(xs, s.Accuracy)
		}
		assert.Equal(t, 3, a.Accuracy.N)
		assert.InDelta(t, (xs[0]+xs[1]+xs[2])/3, a.Accuracy.Mean, 1e-12, a.Arm)
		assert.Equal(t, slices.Min(xs), a.Accuracy.Min)
		assert.Equal(t, slices.Max(xs), a.Accuracy.Max)
	}
	base := rr.Arms[0]
	assert.Equal(t, ragvsft.ArmBase, base.Arm)
	assert.Zero(t, base.HallucinationRate.N, "the local base abstains on everything: no hallucination rate")
	var md bytes.Buffer
	require.NoError(t, rr.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "Repeats: 3 complete runs of 3, seeds 7, 8, 9")
	assert.Contains(t, md.String(), "| base | 0.0% ± 0.0% (0.0% – 0.0%) | n/a |")
	assert.Contains(t, md.String(), "| facts | held-out | fine-tuned |")

	_, err = ragvsft.Repeat(context.Background(), exp, 0)
	assert.Error(t, err)
}

// A model fine-tuned elsewhere cannot have facts held out of its training.
func TestHoldOutFactsNeedsAFineTuner(t *testing.T) {
	exp := &ragvsft.Experiment{
		Dataset:      cities(t, 10),
		FineTuned:    &ragvsft.FineTuned{Model: ragvsft.NewLocalModel(), ModelID: "elsewhere"},
		Arms:         []ragvsft.Arm{ragvsft.ArmFineTuned},
		HoldOutFacts: 0.5,
	}
	_, err := exp.Run(context.Background())
	assert.ErrorIs(t, err, ragvsft.ErrBadHoldOut)
	exp.FineTuned, exp.FineTuner, exp.HoldOutFacts = nil, ragvsft.LocalFineTuner{}, 1
	_, err = exp.Run(context.Background())
	assert.ErrorIs(t, err, ragvsft.ErrBadHoldOut)
}

// Questions of a questions file whose doc_id names no training example are
// asked, and reported as unmapped: neither trained nor held out.
func TestHoldOutFactsUnmappedQuestions(t *testing.T) {
	ds := firstExamples(t, "companies.jsonl", 30)
	qs, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	var b bytes.Buffer
	for i, q := range qs {
		line := map[string]string{"id": "q-" + q.ID, "question": q.Text, "answer": q.Gold}
		if i < 20 {
			line["doc_id"] = q.DocID
		}
		require.NoError(t, json.NewEncoder(&b).Encode(line))
	}
	set, err := ragvsft.ReadQuestions(&b, "questions.jsonl")
	require.NoError(t, err)
	asking, err := ragvsft.WithQuestions(ds, set)
	require.NoError(t, err)
	rep, err := (&ragvsft.Experiment{
		Dataset:         asking,
		FineTuner:       ragvsft.LocalFineTuner{},
		Evaluator:       ragvsft.AutoEvaluator{},
		Arms:            []ragvsft.Arm{ragvsft.ArmFineTuned},
		Hyperparameters: ragvsft.Hyperparameters{Epochs: 3},
		HoldOutFacts:    0.5,
	}).Run(context.Background())
	require.NoError(t, err)
	assertSplitAddsUp(t, rep, ragvsft.SplitFacts, func(r ragvsft.Result) string { return r.Fact })
	sp, _ := rep.Split(ragvsft.SplitFacts)
	counts := map[string]int{}
	for _, g := range sp.Groups {
		counts[g.Name] = g.Questions
	}
	assert.Equal(t, 10, counts[ragvsft.FactUnmapped])
	assert.Equal(t, 20, counts[ragvsft.FactTrained]+counts[ragvsft.FactHeldOut])
	var md bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "| fine-tuned | unmapped |")
}
