package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// -eval judge on the openai backend: the judge is the base model (no
// -judge-model) on its endpoint, every answer is judged, the report prices
// the judge and gives its agreement with -eval auto, and a rerun through
// the cache asks the judge nothing.
func TestJudgeOnTheOpenAIBackend(t *testing.T) {
	onTestDay(t)
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: baseKey, Models: []string{loraName}})
	t.Cleanup(srv.Close)
	t.Setenv("AZURE_OPENAI_ENDPOINT", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("OPENAI_API_KEY", baseKey)
	t.Setenv(ragvsft.FineTunedAPIKeyEnv, "")
	cache := t.TempDir()
	runJudged := func() ragvsft.Report {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "run")
		out, err := runCities(t, "-backend", "openai", "-yes", "-n", "10", "-model", ragvsft.DefaultBaseModel, "-base-url", srv.URL,
			"-embedding-model", "local", "-finetuned-model", loraName, "-cache", cache, "-eval", "judge", "-out", dir)
		require.NoError(t, err, out)
		assert.Contains(t, out, "judge ("+ragvsft.DefaultBaseModel+") scoring")
		md, err := os.ReadFile(filepath.Join(dir, "report.md"))
		require.NoError(t, err)
		assert.Contains(t, string(md), "Agreement with the reference evaluator on ")
		assert.Contains(t, string(md), "; judge $")
		return readReport(t, dir)
	}
	rep := runJudged()
	require.NotNil(t, rep.Judge)
	// The server's adapter is its base model: the fine-tuned arms answer
	// as the base and rag arms do, and the same judgement is not asked
	// twice.
	// The closed-book arms' "I don't know." are abstentions by the
	// patterns, not sent to the judge: the two rag arms' 20 answers are.
	judged := srv.Stats().Judgements
	assert.Equal(t, 10, judged, "every distinct answer judged once")
	assert.Equal(t, 20-judged, rep.Judge.Cached)
	assert.Equal(t, ragvsft.DefaultBaseModel, rep.Judge.Model)
	assert.Equal(t, 20, rep.Judge.Judged)
	assert.Positive(t, rep.Judge.CostUSD, "the judge is priced from the catalog")
	require.NotNil(t, rep.Judge.Agreement)
	assert.Equal(t, 20, rep.Judge.Agreement.Items, "the judge's rule is -eval auto's, plus abstention")
	assert.Equal(t, 20, rep.Judge.Agreement.BothCorrect)
	assert.Nil(t, rep.Judge.Agreement.Kappa, "both call every judged answer correct: kappa is undefined")
	for _, r := range rep.Results {
		if r.Arm == ragvsft.ArmRAG || r.Arm == ragvsft.ArmFineTunedRAG {
			assert.Equal(t, "judge", r.Verdict.Type, "%s %s", r.Arm, r.QuestionID)
		} else {
			assert.Equal(t, ragvsft.OutcomeAbstained, r.Outcome, "%s %s", r.Arm, r.QuestionID)
		}
	}

	again := runJudged()
	assert.Equal(t, judged, srv.Stats().Judgements, "the cache answered every judgement")
	assert.Equal(t, 20, again.Judge.Cached)
	assert.Zero(t, again.Judge.SpentUSD)
}

// The local backend's model cannot judge: -eval judge needs a judge served
// elsewhere, and runs offline with one at -judge-base-url, asking before it
// spends.
func TestJudgeOnTheLocalBackend(t *testing.T) {
	onTestDay(t)
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: baseKey})
	t.Cleanup(srv.Close)
	t.Setenv("AZURE_OPENAI_ENDPOINT", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("OPENAI_API_KEY", baseKey)

	dir := filepath.Join(t.TempDir(), "run")
	_, err := runCities(t, "-backend", "local", "-n", "5", "-sweep", "", "-eval", "judge", "-judge-base-url", srv.URL, "-out", dir)
	require.ErrorIs(t, err, errNotConfirmed, "a paid judge is confirmed first")
	assert.Zero(t, srv.Stats().Judgements)

	dir = filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-backend", "local", "-n", "5", "-sweep", "1", "-eval", "judge", "-judge-model", "gpt-4o-mini",
		"-judge-base-url", srv.URL, "-no-cache", "-yes", "-out", dir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "20 calls to the judge gpt-4o-mini")
	assert.Contains(t, out, "The sweep is scored by -eval auto, not by the judge.")
	assert.Equal(t, 15, srv.Stats().Judgements, "four arms of five, less the base arm's five refusals, and nothing for the sweep")
	assert.NotContains(t, out, baseKey)

	_, err = runCities(t, "-resume", dir, "-judge-model", "gpt-4.1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `-judge-model "gpt-4.1" (the run has "gpt-4o-mini")`)
}

func TestJudgeFlagsRefusedWhereTheyMeanNothing(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"local model as judge", []string{"-backend", "local", "-eval", "judge"}, "the embedded local model cannot judge"},
		{"judge model without the judge", []string{"-judge-model", "gpt-4o-mini"}, "-judge-model and -judge-base-url need -eval judge"},
		{"judge endpoint without the judge", []string{"-judge-base-url", "http://127.0.0.1:1/v1"}, "need -eval judge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			_, err := runCities(t, append(tt.args, "-out", dir)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NoDirExists(t, dir, "refused before the run folder is made")
		})
	}
}
