package ragvsft

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckRunFiles(t *testing.T) {
	const (
		config  = `{"k": 3, "seed": 42, "eval": "auto", "sweep": [1, 3]}`
		dataset = `{"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":"1967825"}]}` + "\n"
	)
	tests := []struct {
		name   string
		edit   func(t *testing.T, dir string)
		refuse []string // in the error; none: the check passes
	}{
		{"untouched", func(*testing.T, string) {}, nil},
		{"config reformatted", func(t *testing.T, dir string) {
			writeRunFile(t, dir, "config.json", "{\n  \"sweep\": [1,3],\n  \"eval\": \"auto\",\n  \"seed\": 42,\n  \"k\": 3\n}\n")
		}, nil},
		{"k and seed", func(t *testing.T, dir string) {
			writeRunFile(t, dir, "config.json", `{"k": 5, "seed": 7, "eval": "auto", "sweep": [1, 3]}`)
		}, []string{"config.json differs in k, seed"}},
		{"key added and removed", func(t *testing.T, dir string) {
			writeRunFile(t, dir, "config.json", `{"k": 3, "seed": 42, "evaluator": "auto", "sweep": [1, 3]}`)
		}, []string{"config.json differs in eval, evaluator"}},
		{"a gold answer", func(t *testing.T, dir string) {
			writeRunFile(t, dir, "dataset.jsonl", `{"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":"1967826"}]}`+"\n")
		}, []string{"dataset.jsonl differs"}},
		{"dataset removed", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "dataset.jsonl")))
		}, []string{"dataset.jsonl is missing"}},
		{"both", func(t *testing.T, dir string) {
			writeRunFile(t, dir, "config.json", `{"k": 3, "seed": 42, "eval": "exact", "sweep": [1, 3]}`)
			writeRunFile(t, dir, "dataset.jsonl", "\n"+dataset)
		}, []string{"config.json differs in eval; dataset.jsonl differs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeRunFile(t, dir, "config.json", config)
			writeRunFile(t, dir, "dataset.jsonl", dataset)
			require.NoError(t, recordRunFiles(dir, "config.json", "dataset.jsonl"))
			st, err := os.Stat(filepath.Join(dir, "run.json"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

			tt.edit(t, dir)
			err = checkRunFiles(dir)
			if tt.refuse == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrRunFolderChanged)
			assert.Contains(t, err.Error(), dir)
			for _, s := range tt.refuse {
				assert.Contains(t, err.Error(), s)
			}
		})
	}
}

func TestCheckRunFilesWithoutRecord(t *testing.T) {
	dir := t.TempDir()
	err := checkRunFiles(dir)
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.NotErrorIs(t, err, ErrRunFolderChanged)
}

func TestRecordRunFilesNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	writeRunFile(t, dir, "config.json", `{"k": 3`)
	err := recordRunFiles(dir, "config.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "config.json"))
	err = recordRunFiles(dir, "dataset.jsonl")
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), filepath.Join(dir, "dataset.jsonl"))
	assert.NoFileExists(t, filepath.Join(dir, "run.json"))
}

func writeRunFile(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
}
