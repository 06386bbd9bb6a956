package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// writeJob writes a job for 20 cities and returns its path.
func writeJob(t *testing.T, edit func(*ragvsft.CommandJob)) string {
	t.Helper()
	dir := t.TempDir()
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(20, 42)), "cities.jsonl")
	require.NoError(t, err)
	var data bytes.Buffer
	require.NoError(t, ragvsft.WriteJSONL(&data, ds.Examples()))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "training.jsonl"), data.Bytes(), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "output"), 0o755))
	job := ragvsft.CommandJob{
		Version: ragvsft.CommandJobVersion, Key: "k", BaseModel: ragvsft.LocalBaseModel,
		TrainingFile: filepath.Join(dir, "training.jsonl"), TrainingExamples: 20,
		Hyperparameters: ragvsft.Hyperparameters{Epochs: 30, BatchSize: 1, LearningRateMultiplier: 0.05},
		Seed:            42, Suffix: "cities", OutputDir: filepath.Join(dir, "output"),
	}
	if edit != nil {
		edit(&job)
	}
	b, err := json.Marshal(job)
	require.NoError(t, err)
	path := filepath.Join(dir, "job.json")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

func TestRunTrainsAndSaves(t *testing.T) {
	path := writeJob(t, nil)
	res, err := run(context.Background(), path)
	require.NoError(t, err)
	ds, err := ragvsft.LoadJSONL(filepath.Join(filepath.Dir(path), "training.jsonl"))
	require.NoError(t, err)
	want, err := ragvsft.LocalFineTuner{}.FineTune(context.Background(), ragvsft.FineTuneRequest{
		Training: ds, Hyperparameters: ragvsft.Hyperparameters{Epochs: 30, BatchSize: 1, LearningRateMultiplier: 0.05},
		Suffix: "cities", Seed: 42,
	})
	require.NoError(t, err)
	assert.Equal(t, &ragvsft.CommandResult{
		Model: want.ModelID, AdapterPath: filepath.Join(filepath.Dir(path), "output"),
		TrainedTokens: want.TrainedTokens, Hyperparameters: want.Hyperparameters,
	}, res)

	f, err := os.Open(filepath.Join(res.AdapterPath, ragvsft.LocalModelFile))
	require.NoError(t, err)
	defer f.Close()
	saved, err := ragvsft.ReadLocalModel(f)
	require.NoError(t, err)
	assert.Equal(t, want.ModelID, saved.Name())
	q := ragvsft.ChatRequest{Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: ds.Examples()[3].Messages[1].Content}}}
	a, err := want.Model.Chat(context.Background(), q)
	require.NoError(t, err)
	b, err := saved.Chat(context.Background(), q)
	require.NoError(t, err)
	assert.Equal(t, a.Content, b.Content)
}

func TestRunRefuses(t *testing.T) {
	tests := []struct {
		name string
		job  func(t *testing.T) string
		want string
	}{
		{"no job", func(*testing.T) string { return "" }, "RAGVSFT_JOB_FILE is not set"},
		{"missing job", func(t *testing.T) string { return filepath.Join(t.TempDir(), "job.json") }, "reading the job: open "},
		{"newer job", func(t *testing.T) string { return writeJob(t, func(j *ragvsft.CommandJob) { j.Version = 2 }) }, "has version 2; I read version 1"},
		{"no training file", func(t *testing.T) string {
			return writeJob(t, func(j *ragvsft.CommandJob) { j.TrainingFile += ".missing" })
		}, "reading the training file: open "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(context.Background(), tt.job(t))
			assert.ErrorContains(t, err, tt.want)
		})
	}
}
