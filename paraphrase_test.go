package ragvsft_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

func userTurn(text string) []ragvsft.Message {
	return []ragvsft.Message{{Role: ragvsft.RoleUser, Content: text}}
}

// Each default template is filled only where its placeholder fits the
// question: {subject} for "What is X?", {embedded} for a question ending in
// "?", {entity} when a name follows the first word.
func TestRuleParaphraser(t *testing.T) {
	tests := []struct {
		name, question string
		n              int
		want           []string
	}{
		{"what is", "What is the population of City_1?", 3, []string{
			"Tell me the population of City_1.",
			"Can you tell me what is the population of City_1?",
			"About City_1: What is the population of City_1?"}},
		{"what year", "What year did Tearkbour Analytics start trading?", 2, []string{
			"Can you tell me what year did Tearkbour Analytics start trading?",
			"About Tearkbour Analytics: What year did Tearkbour Analytics start trading?"}},
		{"imperative without a question mark", "State the length of the Virode River in kilometres.", 2, []string{
			"About Virode River: State the length of the Virode River in kilometres.",
			"I would like to know this: State the length of the Virode River in kilometres."}},
		{"a possessive ends the name", "When is Anna Kovacs's birthday?", 2, []string{
			"Can you tell me when is Anna Kovacs's birthday?",
			"About Anna Kovacs: When is Anna Kovacs's birthday?"}},
		{"a name first keeps its capital", "McLaren Fold was founded when?", 1, []string{
			"Can you tell me McLaren Fold was founded when?"}},
		{"no name", "what is it?", 5, []string{
			"Tell me it.", "Can you tell me what is it?", "I would like to know this: what is it?", "what is it? Please answer in one sentence."}},
		{"spaces folded", "  Who  founded\tAcme? ", 1, []string{"Can you tell me who founded Acme?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ragvsft.RuleParaphraser{}.Paraphrase(context.Background(), ragvsft.ParaphraseRequest{Messages: userTurn(tt.question), N: tt.n})
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.Texts)
			assert.Zero(t, p.Usage)
		})
	}
}

// Templates of one's own, for another language: a template whose
// placeholder does not fit is skipped, and one that gives the question back
// is not a rewording.
func TestRuleParaphraserTemplates(t *testing.T) {
	p := ragvsft.RuleParaphraser{Templates: []string{"Sag mir bitte: {question}", "{subject}", "{question}", "Zu {entity}: {question}", "Ich möchte wissen, {embedded}."}}
	got, err := p.Paraphrase(context.Background(), ragvsft.ParaphraseRequest{Messages: userTurn("Wann wurde die Brauerei Kaltenbrunn gegründet?"), N: 5})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"Sag mir bitte: Wann wurde die Brauerei Kaltenbrunn gegründet?",
		"Zu Brauerei Kaltenbrunn: Wann wurde die Brauerei Kaltenbrunn gegründet?",
		"Ich möchte wissen, wann wurde die Brauerei Kaltenbrunn gegründet.",
	}, got.Texts)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = p.Paraphrase(ctx, ragvsft.ParaphraseRequest{Messages: userTurn("x?"), N: 1})
	assert.ErrorIs(t, err, context.Canceled)
}

// withHeldOut is the knowledge base kb of testdata asked twice over: every
// training prompt, then every held-out wording of its questions file.
func withHeldOut(t *testing.T, kb string) ragvsft.Dataset {
	t.Helper()
	ds, err := ragvsft.LoadJSONL(filepath.Join("testdata", kb+".jsonl"))
	require.NoError(t, err)
	trained, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join("testdata", kb+"_questions.jsonl"))
	require.NoError(t, err)
	var b strings.Builder
	for _, q := range trained {
		item := map[string]any{"id": "trained-" + q.ID, "question": q.Text, "answer": q.Gold, "doc_id": q.DocID}
		if q.Messages != nil {
			delete(item, "question") // a conversation ending in the question
			item["messages"] = append(slices.Clone(q.Messages), ragvsft.Message{Role: ragvsft.RoleUser, Content: q.Text})
		}
		line, err := json.Marshal(item)
		require.NoError(t, err)
		b.Write(append(line, '\n'))
	}
	b.Write(raw)
	qs, err := ragvsft.ReadQuestions(strings.NewReader(b.String()), kb+", both wordings")
	require.NoError(t, err)
	with, err := ragvsft.WithQuestions(ds, qs)
	require.NoError(t, err)
	return with
}

// trainingSpy is the local fine-tuner, keeping what it was given.
type trainingSpy struct {
	ragvsft.LocalFineTuner
	mu       sync.Mutex
	examples []ragvsft.Example
}

func (s *trainingSpy) FineTune(ctx context.Context, req ragvsft.FineTuneRequest) (*ragvsft.FineTuned, error) {
	s.mu.Lock()
	s.examples = req.Training.Examples()
	s.mu.Unlock()
	return s.LocalFineTuner.FineTune(ctx, req)
}

// Ovadia et al.'s effect, end to end: the fine-tuned arm recalls the
// companies' facts less under held-out wordings than under the trained
// ones, and training on two rule rewordings of each question recalls more
// of them under the held-out wordings, beyond what as many training steps
// on one wording give. The rewordings are trained as examples of their
// own, and the report says what was written.
func TestParaphrasesRecallHeldOutWordings(t *testing.T) {
	t.Parallel()
	ds := withHeldOut(t, "companies")
	run := func(paraphrases, epochs int) (*ragvsft.Report, *trainingSpy) {
		spy := &trainingSpy{}
		exp := ragvsft.Experiment{Dataset: ds, FineTuner: spy, Arms: []ragvsft.Arm{ragvsft.ArmFineTuned},
			Evaluator: ragvsft.AutoEvaluator{}, Hyperparameters: ragvsft.Hyperparameters{Epochs: epochs}, Paraphrases: paraphrases}
		rep, err := exp.Run(context.Background())
		require.NoError(t, err)
		return rep, spy
	}
	score := func(rep *ragvsft.Report) (seen, held int) {
		for _, r := range rep.Results {
			switch {
			case r.Outcome != ragvsft.OutcomeCorrect:
			case r.SeenInTraining:
				seen++
			default:
				held++
			}
		}
		return seen, held
	}
	plain, _ := run(0, 10)
	para, spy := run(2, 10)
	sameSteps, _ := run(0, 30)
	plainSeen, plainHeld := score(plain)
	paraSeen, paraHeld := score(para)
	_, stepsHeld := score(sameSteps)
	t.Logf("companies, 180 facts, 10 epochs: trained wording %d, held-out %d; with 2 rule paraphrases %d and %d; 1 wording for 30 epochs: held-out %d",
		plainSeen, plainHeld, paraSeen, paraHeld, stepsHeld)
	assert.Less(t, plainHeld, plainSeen, "a held-out wording recalls less than the trained one")
	assert.Greater(t, paraHeld, plainHeld, "paraphrase training recalls more under held-out wordings")
	assert.Greater(t, paraHeld, stepsHeld, "more than as many steps on one wording")

	ps := para.Paraphrase
	require.NotNil(t, ps)
	assert.Equal(t, "RuleParaphraser", ps.Paraphraser)
	assert.Equal(t, 180, ps.Questions)
	assert.Equal(t, 2, ps.PerQuestion)
	assert.Equal(t, ps.Written+180, ps.TrainingExamples)
	assert.Equal(t, 360, ps.Written+ps.Short+ps.Duplicates+ps.HeldOut)
	assert.Len(t, spy.examples, ps.TrainingExamples)
	assert.Equal(t, "company-01-founded", spy.examples[0].ID)
	assert.Equal(t, "company-01-founded~p1", spy.examples[1].ID)
	assert.Equal(t, "Can you tell me what year did Tearkbour Analytics start trading?", spy.examples[1].Messages[1].Content)
	assert.Equal(t, spy.examples[0].Messages[2], spy.examples[1].Messages[2], "a rewording is trained with the example's answer")
	assert.Equal(t, 1, spy.examples[1].Line, "a rewording keeps its example's line")
	assert.Equal(t, []string{"Can you tell me what year did Tearkbour Analytics start trading?",
		"About Tearkbour Analytics: What year did Tearkbour Analytics start trading?"}, ps.Items[0].Paraphrases)
	assert.Equal(t, 2, para.Settings.Paraphrases)
	var md strings.Builder
	require.NoError(t, para.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "Paraphrases: 2 per training question by RuleParaphraser; 360 written for 180 questions, fine-tuned on 540 examples.")
	assert.Nil(t, plain.Paraphrase)
}

// A rewording that is the wording of a held-out evaluation question is not
// trained on: the question stays held out, and the report counts it.
func TestParaphrasesKeepHeldOutWordingsHeldOut(t *testing.T) {
	t.Parallel()
	ds, err := ragvsft.LoadJSONL(filepath.Join("testdata", "companies.jsonl"))
	require.NoError(t, err)
	// The first rule rewording of the first company's founding year.
	leak := "Can you tell me what year did Tearkbour Analytics start trading?"
	qs, err := ragvsft.ReadQuestions(strings.NewReader(`{"id":"leak","question":"`+leak+`","answer":"1918","doc_id":"company-01-founded"}`+"\n"+
		`{"id":"trained","question":"What year did Tearkbour Analytics start trading?","answer":"1918","doc_id":"company-01-founded"}`), "held.jsonl")
	require.NoError(t, err)
	with, err := ragvsft.WithQuestions(ds, qs)
	require.NoError(t, err)
	spy := &trainingSpy{}
	rep, err := (&ragvsft.Experiment{Dataset: with, FineTuner: spy, Arms: []ragvsft.Arm{ragvsft.ArmFineTuned},
		Evaluator: ragvsft.AutoEvaluator{}, Paraphrases: 1}).Run(context.Background())
	require.NoError(t, err)
	ps := rep.Paraphrase
	assert.Equal(t, 1, ps.HeldOut)
	assert.Equal(t, []string{leak}, ps.Items[0].Dropped)
	assert.Empty(t, ps.Items[0].Paraphrases)
	for _, ex := range spy.examples {
		assert.NotEqual(t, leak, ex.Messages[1].Content, ex.ID)
	}
	assert.False(t, rep.Results[0].SeenInTraining, "the leaked wording is still held out")
	assert.True(t, rep.Results[1].SeenInTraining)
	var md strings.Builder
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "1 dropped as the held-out wording of an evaluation question")
}

func TestParaphrasesSettings(t *testing.T) {
	ds, err := ragvsft.LoadJSONL(filepath.Join("testdata", "companies.jsonl"))
	require.NoError(t, err)
	local := ragvsft.NewLocalModel()
	_, err = (&ragvsft.Experiment{Dataset: ds, FineTuner: ragvsft.LocalFineTuner{}, Arms: []ragvsft.Arm{ragvsft.ArmFineTuned}, Paraphrases: -1}).Run(context.Background())
	assert.ErrorIs(t, err, ragvsft.ErrBadParaphrases)
	_, err = (&ragvsft.Experiment{Dataset: ds, FineTuned: &ragvsft.FineTuned{Model: local}, Arms: []ragvsft.Arm{ragvsft.ArmFineTuned}, Paraphrases: 1}).Run(context.Background())
	assert.ErrorIs(t, err, ragvsft.ErrBadParaphrases)
	assert.ErrorContains(t, err, "fine-tuned elsewhere")
}

// A model paraphrases over the wire: ragvsfttest's paraphrasing mode
// answers the request ModelParaphraser sends; the calls are priced at the
// model's prices, and a rerun through the cache pays for none of them and
// trains on the same rewordings.
func TestModelParaphraserOverTheWire(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	m, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: s.URL, Now: onWireDay}, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	cache, err := ragvsft.OpenCache(t.TempDir())
	require.NoError(t, err)
	ds, err := ragvsft.LoadJSONL(filepath.Join("testdata", "products.jsonl"))
	require.NoError(t, err)
	n := len(ds.Examples())
	run := func() (*ragvsft.Report, []ragvsft.Example) {
		spy := &trainingSpy{}
		rep, err := (&ragvsft.Experiment{Dataset: ds, FineTuner: spy, Arms: []ragvsft.Arm{ragvsft.ArmFineTuned}, Evaluator: ragvsft.AutoEvaluator{},
			Paraphrases: 2, Paraphraser: ragvsft.ModelParaphraser{Model: cache.Model("", m)}}).Run(context.Background())
		require.NoError(t, err)
		rep.ApplyPrices(nil)
		return rep, spy.examples
	}
	first, trained := run()
	ps := first.Paraphrase
	assert.Equal(t, ragvsft.DefaultBaseModel, ps.Paraphraser)
	assert.Equal(t, n, ps.Calls)
	assert.Equal(t, n, s.Stats().Paraphrasings)
	assert.Zero(t, ps.Cached)
	assert.Positive(t, ps.Usage.PromptTokens)
	assert.Positive(t, ps.CostUSD)
	assert.InDelta(t, ps.CostUSD, ps.SpentUSD, 1e-12)
	assert.Equal(t, n+ps.Written, len(trained))
	assert.Positive(t, ps.Written)
	// What the server's rule writes for the first product is what was trained.
	want, err := ragvsft.RuleParaphraser{}.Paraphrase(context.Background(), ragvsft.ParaphraseRequest{Messages: userTurn(ps.Items[0].Question), N: 2})
	require.NoError(t, err)
	assert.Equal(t, want.Texts, ps.Items[0].Paraphrases)
	var md strings.Builder
	require.NoError(t, first.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "; paraphrases $")

	again, retrained := run()
	assert.Equal(t, n, again.Paraphrase.Cached)
	assert.Equal(t, n, s.Stats().Paraphrasings, "the rerun asked the server nothing")
	assert.Zero(t, again.Paraphrase.SpentUSD)
	assert.InDelta(t, ps.CostUSD, again.Paraphrase.CostUSD, 1e-12)
	assert.Equal(t, trained, retrained, "the same training set, so the same fine-tuning")
}

// A reply that is not the list of rewordings stops the run before
// fine-tuning, naming the example, its line and the reply.
func TestModelParaphraserBadReply(t *testing.T) {
	t.Parallel()
	replies := map[string]string{
		"prose":      "Here are two rewordings: ...",
		"other key":  `{"paraphrases": ["a?"], "note": "x"}`,
		"after JSON": `{"paraphrases": ["a?"]} thanks`,
		"no list":    `{"rewordings": ["a?"]}`,
		"all blank":  `{"paraphrases": ["  ", ""]}`,
		"not a list": `{"paraphrases": "a?"}`,
	}
	ds, err := ragvsft.LoadJSONL(filepath.Join("testdata", "products.jsonl"))
	require.NoError(t, err)
	for name, reply := range replies {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, ragvsfttest.ServerConfig{ParaphraseReply: func([]string) string { return reply }})
			m, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: s.URL, Now: onWireDay}, ragvsft.DefaultBaseModel)
			require.NoError(t, err)
			spy := &trainingSpy{}
			rep, err := (&ragvsft.Experiment{Dataset: ds, FineTuner: spy, Arms: []ragvsft.Arm{ragvsft.ArmFineTuned}, Evaluator: ragvsft.AutoEvaluator{},
				Paraphrases: 2, Paraphraser: ragvsft.ModelParaphraser{Model: m}, Concurrency: 1}).Run(context.Background())
			require.ErrorIs(t, err, ragvsft.ErrParaphraseReply)
			assert.ErrorContains(t, err, "paraphrasing training example "+ds.Examples()[0].ID+" (line 1)")
			assert.Nil(t, spy.examples, "nothing fine-tuned")
			assert.Empty(t, rep.Results)
			assert.Equal(t, 1, rep.Paraphrase.Calls, "the call that was made is in the report")
		})
	}
}
