package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// -holdout-facts prints the split, records it in config.json and
// report.json, and a resume cannot change it.
func TestHoldOutFactsFlag(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-n", "20", "-epochs", "30", "-holdout-facts", "0.5", "-out", dir, "-sweep", "")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Held-out facts: fine-tuned on 10 of 20 facts (training examples), 10 held out (HoldOutFacts 0.5, seed 42).")
	assert.Contains(t, out, "| fine-tuned | trained | 10 | 0 | 0 | 0 | 100.0% |")
	assert.Contains(t, out, "| fine-tuned | held-out | 0 | 10 | 0 | 0 | 0.0% |")
	assert.Contains(t, out, "Known and unknown facts:")

	rep := readReport(t, dir)
	assert.Equal(t, 0.5, rep.Settings.HoldOutFacts)
	_, ok := rep.Split(ragvsft.SplitFacts)
	assert.True(t, ok)
	var cfg config
	b, err := os.ReadFile(filepath.Join(dir, configFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &cfg))
	assert.Equal(t, 0.5, cfg.HoldOutFacts)

	out, err = runCities(t, "-resume", dir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "10 held out (HoldOutFacts 0.5")
	_, err = runCities(t, "-resume", dir, "-holdout-facts", "0.3")
	assert.ErrorContains(t, err, `-holdout-facts "0.3" (the run has "0.5")`)

	_, err = runCities(t, "-n", "20", "-holdout-facts", "1", "-out", filepath.Join(t.TempDir(), "bad"))
	assert.ErrorContains(t, err, "-holdout-facts must be a fraction in [0, 1)")
}

// -repeats runs the experiment with seeds -seed, -seed+1, ... and writes
// repeats.json and repeats.md beside the first run's report.
func TestRepeatsFlag(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-n", "12", "-epochs", "10", "-repeats", "2", "-holdout-facts", "0.25", "-out", dir, "-sweep", "")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Repeats: 2 complete runs of 2, seeds 42, 43;")
	var reps ragvsft.RepeatReport
	b, err := os.ReadFile(filepath.Join(dir, "repeats.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &reps))
	assert.Equal(t, []int64{42, 43}, reps.Seeds)
	require.Len(t, reps.Reports, 2)
	assert.NotEqual(t, reps.Reports[0].FineTune.ModelID, reps.Reports[1].FineTune.ModelID)
	assert.Equal(t, readReport(t, dir).FineTune.ModelID, reps.Reports[0].FineTune.ModelID, "report.json is the first run's")
	require.Len(t, reps.Arms, len(ragvsft.AllArms))
	_, err = os.Stat(filepath.Join(dir, "repeats.md"))
	assert.NoError(t, err)
}
