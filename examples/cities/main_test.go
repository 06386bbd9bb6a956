package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// testDay is the day (RAGVSFT_TODAY) of the tests that use
// ragvsft.DefaultBaseModel's family, which shuts down on 2027-01-14, so that
// the real date does not change what they test.
const testDay = "2026-12-02"

// onTestDay pins the catalog's day for tb: the program, its ragvsfttest
// servers and the child processes it starts all read RAGVSFT_TODAY.
func onTestDay(tb testing.TB) { tb.Setenv("RAGVSFT_TODAY", testDay) }

func runCities(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, nil, &stdout, &stderr)
	return stdout.String() + stderr.String(), err
}

func readReport(t *testing.T, dir string) ragvsft.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var rep ragvsft.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	return rep
}

// The default run, as a newcomer types it: the article's file, four arms,
// a run folder that holds everything needed to inspect and rerun it.
func TestDefaultRunReproducesTheArticle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-out", dir)
	require.NoError(t, err, out)
	for _, arm := range []string{"| base |", "| fine-tuned |", "| rag |", "| fine-tuned+rag |", "| 30 |"} {
		assert.Contains(t, out, arm)
	}

	data, err := os.ReadFile(filepath.Join(dir, "dataset.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, ragvsft.CitiesJSONL(ragvsft.CitiesCount, ragvsft.CitiesSeed), data, "the dataset used is in the run folder, byte for byte")
	for _, f := range []string{"config.json", "report.md", "results.csv", "accuracy.png", "report.html", "epochs.json"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}

	rep := readReport(t, dir)
	assert.Equal(t, ragvsft.ReportSchemaVersion, rep.SchemaVersion)
	assert.True(t, rep.Complete)
	rag, _ := rep.Arm(ragvsft.ArmRAG)
	ft, _ := rep.Arm(ragvsft.ArmFineTuned)
	assert.GreaterOrEqual(t, rag.Accuracy, 0.99)
	assert.Less(t, ft.Accuracy, rag.Accuracy-0.5)
	// As gpt-3.5-turbo in the article: confident, wrong numbers for the
	// right city, not abstentions.
	for _, r := range rep.Results {
		if r.Arm == ragvsft.ArmFineTuned {
			city := strings.Fields(r.Gold)[0]
			require.True(t, strings.HasPrefix(r.Answer, city+" has about "), "%q for %s", r.Answer, city)
			require.NotEqual(t, r.Gold, r.Answer)
		}
	}

	var sweep []struct {
		Epochs   int     `json:"epochs"`
		Accuracy float64 `json:"accuracy"`
		Digits   float64 `json:"digit_accuracy"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "epochs.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &sweep))
	require.Len(t, sweep, 4)
	assert.Greater(t, sweep[3].Accuracy, sweep[1].Accuracy, "more epochs memorize more")
	assert.Equal(t, 1.0, sweep[3].Digits, "30 epochs: every digit")
	assert.Greater(t, sweep[2].Digits, sweep[1].Digits, "digits come gradually")
	assert.Greater(t, sweep[2].Digits, sweep[2].Accuracy, "10 epochs: partial numbers")

	// The reports carry the sweep: report.json's epochs, report.html's
	// section.
	rep = readReport(t, dir)
	require.Len(t, rep.Epochs, 4)
	for i, e := range rep.Epochs {
		assert.Equal(t, sweep[i].Epochs, e.Epochs)
		assert.InDelta(t, sweep[i].Accuracy, e.Summary.Accuracy, 1e-12)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), `<table id="epochs">`)
}

func TestDataFlagRunsAnotherKnowledgeBase(t *testing.T) {
	dir := t.TempDir()
	out, err := runCities(t, "-data", filepath.Join("..", "..", "testdata", "companies.jsonl"), "-out", dir, "-sweep", "3")
	require.NoError(t, err, out)
	assert.Contains(t, out, "auto scoring")
	rep := readReport(t, dir)
	assert.Equal(t, 180, rep.Settings.Questions, "-n does not cut a -data file unless given")
	rag, _ := rep.Arm(ragvsft.ArmRAG)
	base, _ := rep.Arm(ragvsft.ArmBase)
	assert.Zero(t, rag.Errors)
	assert.Greater(t, rag.Accuracy, 0.8)
	assert.Zero(t, base.Accuracy)
	row := regexp.MustCompile(`\n\| 3 \| (\d+) \| (\d+) \| (\d+) \|`).FindStringSubmatch(out)
	require.NotNil(t, row, "the sweep's row for 3 epochs")
	sum := 0
	for _, n := range row[1:] {
		v, err := strconv.Atoi(n)
		require.NoError(t, err)
		sum += v
	}
	assert.Equal(t, 180, sum, "the sweep scores every question with the run's evaluator: correct + wrong + abstained")
}

func TestBadInputIsAClearError(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(`{"messages": [{"role": "user", "content": "hi"}]}`+"\nnot json\n"), 0o644))
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"bad file", []string{"-data", bad}, []string{"bad.jsonl", "line 1", "line 2"}},
		{"missing file", []string{"-data", filepath.Join(dir, "nope.jsonl")}, []string{"nope.jsonl"}},
		{"k zero", []string{"-k", "0"}, []string{"-k must be positive"}},
		{"bad sweep", []string{"-sweep", "1,x"}, []string{`"x"`}},
		{"bad eval", []string{"-eval", "vibes"}, []string{"vibes"}},
		{"text answers, numeric rule", []string{"-data", filepath.Join("..", "..", "testdata", "companies.jsonl"), "-eval", "numeric"},
			[]string{"nothing was asked", "line 2: gold answer", "has no number", "-eval auto reads every answer type"}},
		{"stray argument", []string{"extra"}, []string{"extra"}},
		{"cache and no cache", []string{"-cache", dir, "-no-cache"}, []string{"-cache and -no-cache"}},
		{"poll zero", []string{"-poll", "0s"}, []string{"-poll must be positive"}},
		{"negative rpm", []string{"-rpm", "-1"}, []string{"-rpm and -tpm must not be negative"}},
		{"negative concurrency", []string{"-concurrency", "-2"}, []string{"-concurrency must not be negative"}},
		{"negative paraphrases", []string{"-paraphrases", "-1"}, []string{"-paraphrases must not be negative"}},
		{"paraphraser alone", []string{"-paraphraser", "rule"}, []string{"-paraphraser needs -paraphrases N"}},
		{"unknown paraphraser", []string{"-paraphrases", "2", "-paraphraser", "thesaurus"}, []string{`unknown paraphraser "thesaurus"`}},
		{"model paraphraser offline", []string{"-paraphrases", "2", "-paraphraser", "model"}, []string{"-paraphraser model needs -backend openai"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCities(t, append(tt.args, "-out", filepath.Join(dir, tt.name))...)
			require.Error(t, err, out)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NoFileExists(t, filepath.Join(dir, tt.name, "report.json"), "nothing is run on bad input")
		})
	}
}

func TestCancelledRunKeepsWhatFinished(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"-out", dir, "-sweep", ""}, nil, &stdout, &stderr)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), dir)
	rep := readReport(t, dir)
	assert.False(t, rep.Complete)
}
