package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// A second process on a run folder that one is running on, by -resume or
// by the same -out, is refused at once and touches nothing: the first
// finishes alone, every item asked and checkpointed once.
func TestSecondProcessOnARunFolderIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program and runs it three times")
	}
	const n, workers = 30, 4
	items := n * len(ragvsft.AllArms)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bin := buildCities(t)
	srv := newChatLog(t, 25*time.Millisecond)
	args := []string{"-backend", "openai", "-yes", "-n", fmt.Sprint(n), "-poll", "20ms", "-concurrency", fmt.Sprint(workers)}
	dir := filepath.Join(t.TempDir(), "run")
	ckpt := filepath.Join(dir, checkpointFile)
	first := citiesCmd(ctx, t, bin, srv.URL, append(args, "-out", dir)...)
	firstOut := startUntilCheckpointed(t, first, ckpt, items/10)

	for name, second := range map[string][]string{
		"resume":   {"-resume", dir, "-yes", "-poll", "20ms", "-concurrency", fmt.Sprint(workers)},
		"same out": append(args, "-out", dir),
	} {
		start := time.Now()
		out, err := citiesCmd(ctx, t, bin, srv.URL, second...).CombinedOutput()
		took := time.Since(start)
		require.Error(t, err, "%s: %s", name, out)
		assert.Contains(t, string(out), fmt.Sprintf("another process (PID %d) is running on %s", first.Process.Pid, dir), name)
		assert.NotContains(t, string(out), "resuming", name)
		t.Logf("%s: refused in %s", name, took.Round(time.Millisecond))
	}
	require.NoError(t, first.Wait(), firstOut.String())

	assert.Len(t, readLines(t, ckpt), items, "one checkpoint line per item")
	got := checkpointed(t, ckpt) // every line parses
	assert.Len(t, got, items)
	asked := srv.asked()
	assert.Len(t, asked, items)
	for it, times := range asked {
		assert.Equal(t, 1, times, "item %s asked %d times", it, times)
	}
	assert.Equal(t, 1, srv.Stats().JobsCreated)
	rep := readReport(t, dir)
	assert.True(t, rep.Complete)
	assert.Len(t, rep.Results, items)
}

// -resume believes config.json and dataset.jsonl only as they were when
// the run started (run.json): an edit to either is refused before anything
// is asked, naming the file and, for the configuration, the keys.
func TestResumeRefusesAnEditedRunFolder(t *testing.T) {
	done := finishedRun(t)
	editConfig := func(key string, value any) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			path := filepath.Join(dir, configFile)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			var cfg map[string]any
			require.NoError(t, json.Unmarshal(b, &cfg))
			require.Contains(t, cfg, key)
			cfg[key] = value
			b, err = json.MarshalIndent(cfg, "", "  ")
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, b, 0o600))
		}
	}
	tests := []struct {
		name string
		edit func(t *testing.T, dir string)
		want string
	}{
		{"k", editConfig("k", 3), "config.json differs in k"},
		{"seed", editConfig("seed", 7), "config.json differs in seed"},
		{"evaluator", editConfig("eval", "exact"), "config.json differs in eval"},
		{"a gold answer", func(t *testing.T, dir string) {
			path := filepath.Join(dir, datasetFile)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			line, rest, _ := bytes.Cut(b, []byte("\n"))
			var ex struct {
				Messages []map[string]any `json:"messages"`
			}
			require.NoError(t, json.Unmarshal(line, &ex))
			last := ex.Messages[len(ex.Messages)-1]
			require.Equal(t, "assistant", last["role"])
			last["content"] = "City_0 has about 1 inhabitant."
			line, err = json.Marshal(ex)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, append(append(line, '\n'), rest...), 0o600))
		}, "dataset.jsonl differs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := interrupted(t, done, 30, nil)
			tt.edit(t, dir)
			before, err := os.ReadFile(filepath.Join(dir, checkpointFile))
			require.NoError(t, err)
			out, err := runCities(t, "-resume", dir)
			require.Error(t, err, out)
			assert.ErrorIs(t, err, ragvsft.ErrRunFolderChanged)
			assert.Contains(t, err.Error(), dir)
			assert.Contains(t, err.Error(), tt.want)
			after, err := os.ReadFile(filepath.Join(dir, checkpointFile))
			require.NoError(t, err)
			assert.Equal(t, before, after, "nothing asked: the checkpoint is as it was, torn line included")
			assert.NoFileExists(t, filepath.Join(dir, "report.json"))
		})
	}

	t.Run("untouched", func(t *testing.T) {
		dir := interrupted(t, done, 30, nil)
		out, err := runCities(t, "-resume", dir)
		require.NoError(t, err, out)
		assert.Contains(t, out, "30 of 80 items are in its checkpoint, 50 to ask")
		requireSameReport(t, readReport(t, done), readReport(t, dir))
	})

	t.Run("a folder from before run.json", func(t *testing.T) {
		dir := interrupted(t, done, 30, nil)
		require.NoError(t, os.Remove(filepath.Join(dir, "run.json")))
		out, err := runCities(t, "-resume", dir)
		require.NoError(t, err, out)
		assert.Contains(t, out, "has no run.json")
		assert.FileExists(t, filepath.Join(dir, "run.json"), "recorded by the resume")
		requireSameReport(t, readReport(t, done), readReport(t, dir))

		editConfig("k", 3)(t, dir)
		_, err = runCities(t, "-resume", dir)
		require.ErrorIs(t, err, ragvsft.ErrRunFolderChanged)
	})
}
