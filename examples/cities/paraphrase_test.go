package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// -paraphrases offline: the rule rewrites every training question twice,
// the report says so and lists the rewordings, config.json records the
// flags, and the wordings table shows each arm on the held-out wordings.
func TestParaphrasesFlag(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-data", companiesFile, "-questions", mixedQuestions(t), "-paraphrases", "2", "-out", dir, "-sweep", "")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Paraphrases: 2 per training question by RuleParaphraser; 360 written for 180 questions, fine-tuned on 540 examples.")
	assert.Contains(t, out, "Wordings: 180 questions seen in training, 180 held out.")
	split := out[strings.Index(out, "Wordings:"):]
	t.Logf("\n%s", split[:strings.Index(split, "\nRetrieval")])
	rep := readReport(t, dir)
	require.NotNil(t, rep.Paraphrase)
	assert.Len(t, rep.Paraphrase.Items, 180)
	assert.Equal(t, 2, rep.Settings.Paraphrases)
	var cfg config
	b, err := os.ReadFile(filepath.Join(dir, configFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &cfg))
	assert.Equal(t, 2, cfg.Paraphrases)
	assert.Equal(t, "rule", cfg.Paraphraser)

	out, err = runCities(t, "-resume", dir, "-paraphrases", "3")
	require.Error(t, err, out)
	assert.Contains(t, err.Error(), `-paraphrases "3" (the run has "2")`)
}

// -paraphraser model on the openai backend: the base model rewords every
// training question (ragvsfttest's paraphrasing mode), the uploaded
// training file holds the rewordings, the report prices the calls, and a
// second run through the same cache asks for no rewording and reuses the
// fine-tuning job: nothing is paid twice.
func TestParaphraserModelOnTheOpenAIBackend(t *testing.T) {
	onTestDay(t)
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: baseKey, JobStepDelay: time.Millisecond})
	t.Cleanup(srv.Close)
	t.Setenv("AZURE_OPENAI_ENDPOINT", "")
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", baseKey)
	t.Setenv(ragvsft.FineTunedAPIKeyEnv, "")
	cache := t.TempDir()
	runOnce := func() (string, ragvsft.Report) {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "run")
		out, err := runCities(t, "-backend", "openai", "-yes", "-n", "10", "-poll", "5ms", "-cache", cache,
			"-paraphrases", "2", "-paraphraser", "model", "-out", dir)
		require.NoError(t, err, out)
		return out, readReport(t, dir)
	}
	out, rep := runOnce()
	assert.Contains(t, out, ", 10 calls to paraphrase")
	assert.Contains(t, out, "with 2 rewordings each, about 3 times the trained tokens")
	ps := rep.Paraphrase
	require.NotNil(t, ps)
	assert.Equal(t, ragvsft.DefaultBaseModel, ps.Paraphraser)
	assert.Equal(t, 10, ps.Calls)
	assert.Equal(t, 10, srv.Stats().Paraphrasings)
	assert.Equal(t, 20, ps.Written)
	assert.Positive(t, ps.CostUSD)
	assert.Contains(t, out, "; paraphrases $")
	assert.Equal(t, 30, uploadedExamples(t, srv), "the training file holds each example and its two rewordings")
	jobs := srv.Stats().JobsCreated

	_, again := runOnce()
	assert.Equal(t, 10, srv.Stats().Paraphrasings, "the cache answered every rewording")
	assert.Equal(t, 10, again.Paraphrase.Cached)
	assert.Zero(t, again.Paraphrase.SpentUSD)
	assert.Equal(t, jobs, srv.Stats().JobsCreated, "the same training file: the earlier job is reused")
	assert.True(t, again.FineTune.Reused)
}

// uploadedExamples counts the lines of the fine-tune files uploaded to srv.
func uploadedExamples(t *testing.T, srv *ragvsfttest.OpenAIServer) int {
	t.Helper()
	get := func(path string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+baseKey)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return resp
	}
	resp := get("/files")
	var list struct {
		Data []struct {
			ID      string `json:"id"`
			Purpose string `json:"purpose"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	resp.Body.Close()
	lines := 0
	for _, f := range list.Data {
		if f.Purpose != "fine-tune" {
			continue
		}
		resp := get("/files/" + f.ID + "/content")
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines++
		}
		resp.Body.Close()
	}
	return lines
}
