package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// -train-command hands the training to the user's own command (here
// examples/train-local, which trains the embedded model), loads the result
// into the serving server as vLLM's runtime LoRA API does, and asks it
// there: no file is uploaded to and no job made on any OpenAI endpoint, and
// a resumed run trains nothing again.
func TestTrainCommandThenLoRA(t *testing.T) {
	onTestDay(t)
	t.Setenv("AZURE_OPENAI_ENDPOINT", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("OPENAI_API_KEY", "test-key")
	t.Setenv(ragvsft.FineTunedAPIKeyEnv, "")
	bin := filepath.Join(t.TempDir(), "train-local")
	out, err := exec.Command("go", "build", "-o", bin, "../train-local").CombinedOutput()
	require.NoError(t, err, string(out))

	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{})
	t.Cleanup(srv.Close)
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"-backend", "openai", "-yes", "-n", "20", "-epochs", "30", "-base-url", srv.URL,
		"-embedding-model", "local", "-train-command", bin, "-load-lora", "-finetuned-base-url", srv.URL}
	out2, err := runCities(t, append(args, "-out", dir)...)
	require.NoError(t, err, out2)
	assert.Contains(t, out2, "training by your command")

	rep := readReport(t, dir)
	for _, a := range rep.Arms {
		assert.Equal(t, 20, a.Answered, "arm %s", a.Arm)
		assert.Zero(t, a.Errors, "arm %s", a.Arm)
	}
	ft, _ := rep.Arm(ragvsft.ArmFineTuned)
	assert.GreaterOrEqual(t, ft.Accuracy, 0.9, "30 epochs of the local model memorize 20 cities; asked on the serving server")
	require.NotNil(t, rep.FineTune)
	assert.Contains(t, rep.FineTune.ModelID, "ft:local-base")
	st := srv.Stats()
	assert.Zero(t, st.FilesUploaded)
	assert.Zero(t, st.JobsCreated)
	records, _ := filepath.Glob(filepath.Join(dir, "finetune-*.json"))
	assert.Len(t, records, 1, "the command's record is in the run folder")

	t.Run("refused without the openai backend or beside -finetuned-model", func(t *testing.T) {
		_, err := runCities(t, "-backend", "local", "-train-command", bin, "-out", filepath.Join(t.TempDir(), "r"))
		assert.ErrorContains(t, err, "-train-command needs -backend openai")
		_, err = runCities(t, "-backend", "openai", "-train-command", bin, "-finetuned-model", "x", "-out", filepath.Join(t.TempDir(), "r"))
		assert.ErrorContains(t, err, "contradict")
		_, err = runCities(t, "-backend", "openai", "-load-lora", "-out", filepath.Join(t.TempDir(), "r"))
		assert.ErrorContains(t, err, "-load-lora needs -train-command")
	})

	t.Run("a rerun of the run folder trains nothing again", func(t *testing.T) {
		b, err := os.ReadFile(records[0])
		require.NoError(t, err)
		require.NoError(t, os.Remove(filepath.Join(dir, checkpointFile)))
		out, err := runCities(t, "-resume", dir, "-yes")
		require.NoError(t, err, out)
		after, err := os.ReadFile(records[0])
		require.NoError(t, err)
		assert.Contains(t, string(after), `"succeeded"`)
		assert.Equal(t, string(b), string(after), "the succeeded record is reused, not rewritten by a new training")
	})
}
