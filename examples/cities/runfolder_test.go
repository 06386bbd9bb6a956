package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

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
