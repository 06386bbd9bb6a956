package ragvsft_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
	"github.com/ragvsft/ragvsft/report"
)

var szabo = ragvsft.Question{ID: "q1", Text: "When was Radek Szabo born?", Gold: "Radek Szabo was born on 11 March 1974."}

// The judge is told the question's aliases: an answer in an accepted form
// that is not the gold's is judged correct over the wire, and the prompt
// carries the aliases one per line ("none" without any).
func TestJudgeSeesAliases(t *testing.T) {
	t.Parallel()
	rec, url, _ := newRecordingServer(t, ragvsfttest.ServerConfig{})
	m, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: url, Now: onWireDay}, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	judge := ragvsft.JudgeEvaluator{Model: m}
	q := ragvsft.Question{ID: "q2", Text: "Who founded Kexsox?", Gold: "Kexsox was founded by Ilse Houcourklend.",
		Aliases: []string{"Houcourklend", "Ilse\nH."}}
	tests := []struct {
		name    string
		q       ragvsft.Question
		answer  string
		section string
		correct bool
	}{
		{"alias accepted", q, "Houcourklend.", "<also_accepted>\nHoucourklend\nIlse H.\n</also_accepted>", true},
		{"no aliases", ragvsft.Question{ID: "q3", Text: q.Text, Gold: q.Gold}, "Houcourklend.", "<also_accepted>\nnone\n</also_accepted>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := judge.Evaluate(context.Background(), tt.q, tt.answer)
			require.NoError(t, err)
			assert.Equal(t, tt.correct, v.Correct, v.Reason)
			msgs := rec.last(t)["messages"].([]any)
			assert.Contains(t, msgs[1].(map[string]any)["content"], tt.section)
		})
	}
}

// The judge over the wire: an OpenAIModel asks ragvsfttest, whose judging
// mode answers by rule; each verdict comes back with its reason, the
// reference's verdict and the call's usage, and the request is the one
// the judge documents.
func TestJudgeOverTheWire(t *testing.T) {
	t.Parallel()
	rec, url, h := newRecordingServer(t, ragvsfttest.ServerConfig{})
	m, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: url, Now: onWireDay}, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	judge := ragvsft.JudgeEvaluator{Model: m}
	tests := []struct {
		name, answer string
		verdict      string
		correct      bool
		reason       string
		refCorrect   bool
	}{
		{"correct in other words", "He was born on March 11, 1974.", ragvsft.JudgeCorrect, true, "1974-03-11", true},
		{"wrong date", "Radek Szabo was born on 11 1905.", ragvsft.JudgeIncorrect, false, "1905", false},
		{"abstained", "I don't know.", ragvsft.JudgeAbstained, false, "declines", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := judge.Evaluate(context.Background(), szabo, tt.answer)
			require.NoError(t, err)
			assert.Equal(t, "judge", v.Type)
			assert.Equal(t, tt.correct, v.Correct)
			assert.Contains(t, v.Reason, tt.reason)
			assert.Equal(t, szabo.Gold, v.Expected)
			require.NotNil(t, v.Judge)
			assert.Equal(t, tt.verdict, v.Judge.Verdict)
			assert.Equal(t, ragvsft.DefaultBaseModel, v.Judge.Model)
			assert.Positive(t, v.Judge.Usage.PromptTokens)
			assert.Positive(t, v.Judge.Usage.CompletionTokens)
			require.NotNil(t, v.Judge.Reference, "the reference evaluator ran too")
			assert.Equal(t, tt.refCorrect, v.Judge.Reference.Correct)
			assert.Equal(t, "date", v.Judge.Reference.Type)

			body := rec.last(t)
			assert.Equal(t, 0.0, body["temperature"])
			assert.Equal(t, float64(ragvsft.DefaultSeed), body["seed"])
			assert.Equal(t, float64(ragvsft.DefaultJudgeMaxTokens), body["max_completion_tokens"])
			rf, ok := body["response_format"].(map[string]any)
			require.True(t, ok, "response_format sent: %v", body)
			assert.Equal(t, "json_schema", rf["type"])
			js := rf["json_schema"].(map[string]any)
			assert.Equal(t, ragvsft.JudgeSchemaName, js["name"])
			assert.Equal(t, true, js["strict"])
			var schema map[string]any
			require.NoError(t, json.Unmarshal([]byte(ragvsft.JudgeSchema), &schema))
			assert.Equal(t, schema, js["schema"])
			msgs := body["messages"].([]any)
			require.Len(t, msgs, 2)
			assert.Equal(t, ragvsft.DefaultJudgePrompts.System, msgs[0].(map[string]any)["content"])
			user := msgs[1].(map[string]any)["content"].(string)
			for _, part := range []string{"<question>\n" + szabo.Text + "\n</question>", "<gold>\n" + szabo.Gold + "\n</gold>", "<answer>\n" + tt.answer + "\n</answer>"} {
				assert.Contains(t, user, part)
			}
		})
	}
	assert.Equal(t, len(tests), h.Stats().Judgements)
}

// A judge's reply that is not exactly a verdict is an error naming the
// reply, never a verdict; the call's usage is kept.
func TestJudgeMalformedReplyIsAnError(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	reply := ""
	s := newServer(t, ragvsfttest.ServerConfig{JudgeReply: func(string, string) string {
		mu.Lock()
		defer mu.Unlock()
		return reply
	}})
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	judge := ragvsft.JudgeEvaluator{Model: m}
	tests := []struct{ name, reply, why string }{
		{"prose", "The answer is correct.", "not one JSON object"},
		{"fenced", "```json\n{\"verdict\": \"correct\", \"reason\": \"same date\"}\n```", "not one JSON object"},
		{"no reason", `{"verdict": "correct"}`, `no "reason"`},
		{"no verdict", `{"reason": "same date"}`, `no "verdict"`},
		{"blank reason", `{"verdict": "correct", "reason": " "}`, `blank "reason"`},
		{"unknown verdict", `{"verdict": "partly", "reason": "close"}`, `unknown verdict "partly"`},
		{"verdict in capitals", `{"verdict": "Correct", "reason": "same date"}`, `unknown verdict "Correct"`},
		{"another key", `{"verdict": "correct", "reason": "same date", "score": 1}`, "not one JSON object"},
		{"two objects", `{"verdict": "correct", "reason": "a"} {"verdict": "incorrect", "reason": "b"}`, "text after the JSON object"},
		{"an array", `[{"verdict": "correct", "reason": "a"}]`, "not one JSON object"},
	}
	for _, tt := range tests {
		mu.Lock()
		reply = tt.reply
		mu.Unlock()
		v, err := judge.Evaluate(context.Background(), szabo, "He was born on March 11, 1974.")
		require.Error(t, err, tt.name)
		assert.ErrorIs(t, err, ragvsft.ErrJudgeReply, tt.name)
		assert.Contains(t, err.Error(), tt.why, tt.name)
		assert.Contains(t, err.Error(), "question q1", tt.name)
		assert.False(t, v.Correct, tt.name)
		require.NotNil(t, v.Judge, tt.name)
		assert.Empty(t, v.Judge.Verdict, tt.name)
		assert.Positive(t, v.Judge.Usage.PromptTokens, "%s: the failed judgement was billed", tt.name)
	}
}

// judgeExperiment is the cities' base and rag arms, on the local model,
// scored by judge. The abstention patterns are off, so that the judge sees
// the base arm's refusals too and tells them itself.
func judgeExperiment(t *testing.T, judge ragvsft.Evaluator) *ragvsft.Report {
	t.Helper()
	exp := &ragvsft.Experiment{
		Dataset:    cities(t, 10),
		Base:       ragvsft.NewLocalModel(),
		BaseModel:  "local-base",
		Retriever:  newRetriever(t),
		Arms:       []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmRAG},
		Evaluator:  judge,
		Abstention: ragvsft.AbstentionPatterns{},
	}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Complete)
	rep.ApplyPrices(nil)
	return rep
}

// The judge in an experiment: every item is judged over the wire, its
// calls are priced from the catalog in the report's cost, the agreement
// with the reference is the 2x2 of the items' two verdicts, and a rerun
// through the same Cache asks the judge nothing.
func TestJudgeInAnExperimentIsPricedCachedAndAgreed(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	cache, err := ragvsft.OpenCache(t.TempDir())
	require.NoError(t, err)
	// A reference that differs from the judge's rule on some items.
	judge := ragvsft.JudgeEvaluator{Model: cache.Model("", m), Reference: evenOnly{}}

	rep := judgeExperiment(t, judge)
	require.Len(t, rep.Results, 20)
	assert.Equal(t, 20, s.Stats().Judgements, "every item judged once")
	require.NotNil(t, rep.Judge)
	js := *rep.Judge
	assert.Equal(t, ragvsft.DefaultBaseModel, js.Model)
	assert.Equal(t, 20, js.Judged)
	assert.Zero(t, js.Errors)
	assert.Zero(t, js.Cached)

	price, ok := ragvsft.DefaultCatalog().ChatPrice(ragvsft.DefaultBaseModel)
	require.True(t, ok)
	var want float64
	var usage ragvsft.Usage
	var tab [2][2]int // [judge correct][reference correct]
	verdicts := map[string]int{}
	for _, r := range rep.Results {
		require.Empty(t, r.Error)
		j := r.Verdict.Judge
		require.NotNil(t, j, "%s %s", r.Arm, r.QuestionID)
		require.NotNil(t, j.Reference)
		assert.Equal(t, "even-only", j.Reference.Type)
		verdicts[j.Verdict]++
		want += price.ChatCost(j.Usage)
		usage.PromptTokens += j.Usage.PromptTokens
		usage.CompletionTokens += j.Usage.CompletionTokens
		tab[b2i(r.Verdict.Correct)][b2i(j.Reference.Correct)]++
	}
	assert.Equal(t, map[string]int{ragvsft.JudgeCorrect: 10, ragvsft.JudgeAbstained: 10}, verdicts,
		"the rag arm states the populations, the base arm does not know them")
	base, _ := rep.Arm(ragvsft.ArmBase)
	assert.Equal(t, 10, base.Abstained, "the judge's abstained is the item's outcome")
	assert.Zero(t, base.Wrong)
	assert.Equal(t, usage, js.Usage)
	assert.Positive(t, js.CostUSD)
	assert.InDelta(t, want, js.CostUSD, 1e-12, "the judge's calls at the catalog's price")
	assert.InDelta(t, js.CostUSD, js.SpentUSD, 1e-12)
	assert.InDelta(t, js.CostUSD, rep.TotalCostUSD(), 1e-12, "the local arms bill nothing; the judge does")
	assert.Equal(t, ragvsft.PricingCatalog, rep.Pricing)

	a := js.Agreement
	require.NotNil(t, a)
	assert.Equal(t, 20, a.Items)
	assert.Equal(t, tab[1][1], a.BothCorrect)
	assert.Equal(t, tab[1][0], a.JudgeOnly)
	assert.Equal(t, tab[0][1], a.ReferenceOnly)
	assert.Equal(t, tab[0][0], a.BothWrong)
	assert.Positive(t, a.JudgeOnly, "the reference refuses some answers the judge accepts")
	assert.Positive(t, a.BothCorrect)
	n := 20.0
	po := float64(tab[1][1]+tab[0][0]) / n
	pj, pr := float64(tab[1][1]+tab[1][0])/n, float64(tab[1][1]+tab[0][1])/n
	pe := pj*pr + (1-pj)*(1-pr)
	assert.InDelta(t, po, a.Observed, 1e-12)
	assert.InDelta(t, pe, a.Chance, 1e-12)
	require.NotNil(t, a.Kappa)
	assert.InDelta(t, (po-pe)/(1-pe), *a.Kappa, 1e-12)

	var md strings.Builder
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "Agreement with the reference evaluator on 20 items: Cohen's kappa ")
	assert.Contains(t, md.String(), "; judge $")
	assert.Contains(t, md.String(), ragvsft.DefaultBaseModel+", 20 judgements")
	var html strings.Builder
	require.NoError(t, report.WriteHTML(&html, rep))
	assert.Contains(t, html.String(), "Cohen&#39;s kappa")
	var csv strings.Builder
	require.NoError(t, report.WriteCSV(&csv, rep))
	assert.Contains(t, csv.String(), "\njudge,")

	t.Run("a rerun through the cache asks the judge nothing", func(t *testing.T) {
		again := judgeExperiment(t, judge)
		assert.Equal(t, 20, s.Stats().Judgements, "no judge call made")
		require.NotNil(t, again.Judge)
		assert.Equal(t, 20, again.Judge.Cached)
		assert.InDelta(t, js.CostUSD, again.Judge.CostUSD, 1e-12, "the experiment's cost is the same")
		assert.Zero(t, again.Judge.SpentUSD, "this run paid nothing for judging")
		assert.Equal(t, *a, *again.Judge.Agreement)
		var md strings.Builder
		require.NoError(t, again.WriteMarkdown(&md))
		assert.Contains(t, md.String(), "20 judgements came from the cache: this run paid $0.0000 for judging.")
	})
}

// evenOnly is AutoEvaluator, but wrong about the questions with an odd
// last digit: a reference that disagrees with the judge on some items.
type evenOnly struct{}

func (evenOnly) Evaluate(ctx context.Context, q ragvsft.Question, answer string) (ragvsft.Verdict, error) {
	v, err := ragvsft.AutoEvaluator{}.Evaluate(ctx, q, answer)
	last := q.ID[len(q.ID)-1]
	v.Correct = v.Correct && (last-'0')%2 == 0
	v.Type = "even-only"
	return v, err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// With the default abstention patterns, a refusal is told before the
// evaluator is asked: the judge is not paid to read "I don't know.".
func TestJudgeIsNotAskedAboutRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	exp := &ragvsft.Experiment{
		Dataset:   cities(t, 10),
		Base:      ragvsft.NewLocalModel(),
		Retriever: newRetriever(t),
		Arms:      []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmRAG},
		Evaluator: ragvsft.JudgeEvaluator{Model: m},
	}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 10, s.Stats().Judgements, "only the rag arm's answers are judged")
	base, _ := rep.Arm(ragvsft.ArmBase)
	assert.Equal(t, 10, base.Abstained)
	require.NotNil(t, rep.Judge)
	assert.Equal(t, 10, rep.Judge.Judged)
}

// A judge whose reply is malformed leaves an error on the item, not a
// verdict, and the report counts it apart; its usage is still priced.
func TestJudgeMalformedReplyInAnExperiment(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{JudgeReply: func(verdict, reason string) string {
		return "Verdict: " + verdict + ". " + reason
	}})
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	rep := judgeExperiment(t, ragvsft.JudgeEvaluator{Model: m})
	for _, r := range rep.Results {
		assert.Contains(t, r.Error, "the judge's reply is not a verdict")
		assert.False(t, r.Verdict.Correct)
		require.NotNil(t, r.Verdict.Judge)
		assert.Nil(t, r.Verdict.Judge.Reference)
	}
	for _, a := range rep.Arms {
		assert.Equal(t, 10, a.Errors, "arm %s", a.Arm)
		assert.Zero(t, a.Answered, "arm %s", a.Arm)
	}
	require.NotNil(t, rep.Judge)
	assert.Equal(t, 20, rep.Judge.Errors)
	assert.Nil(t, rep.Judge.Agreement)
	assert.Positive(t, rep.Judge.CostUSD, "failed judgements were billed")
	var md strings.Builder
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "20 judgements failed")
	assert.Contains(t, md.String(), "no item got a verdict from both")
}

// The agreement of a judge that gives every item the same verdict as its
// reference, all of one class: kappa is undefined, reported as such.
func TestJudgeAgreementUndefined(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	m, err := ragvsft.NewOpenAIModel(wireConfig(s), ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	exp := &ragvsft.Experiment{
		Dataset:   cities(t, 5),
		Base:      ragvsft.NewLocalModel(),
		BaseModel: "local-base",
		Retriever: newRetriever(t),
		Arms:      []ragvsft.Arm{ragvsft.ArmRAG},
		Evaluator: ragvsft.JudgeEvaluator{Model: m},
	}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	a := rep.Judge.Agreement
	require.NotNil(t, a)
	require.Equal(t, 5, a.BothCorrect, "the rag arm gets every city right, by both")
	assert.Nil(t, a.Kappa)
	assert.Equal(t, 1.0, a.Observed)
	b, err := json.Marshal(a)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"kappa":null`)
	var md strings.Builder
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "Cohen's kappa undefined (both gave every item the same verdict")
	assert.False(t, math.IsNaN(a.Chance))
}

// A judge without a model, or a question without a gold answer, stops the
// run before anything is asked.
func TestJudgeCheckGold(t *testing.T) {
	t.Parallel()
	m := ragvsft.NewLocalModel()
	tests := []struct {
		name  string
		judge ragvsft.JudgeEvaluator
		q     ragvsft.Question
		want  string
	}{
		{"no model", ragvsft.JudgeEvaluator{}, szabo, "JudgeEvaluator.Model is nil"},
		{"no gold", ragvsft.JudgeEvaluator{Model: m}, ragvsft.Question{ID: "q", Text: "?", Gold: "  "}, "gold answer is empty"},
		{"negative budget", ragvsft.JudgeEvaluator{Model: m, MaxTokens: -1}, szabo, "MaxTokens must not be negative"},
		{"fine", ragvsft.JudgeEvaluator{Model: m}, szabo, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.judge.CheckGold(tt.q)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
