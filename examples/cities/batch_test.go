package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// With -batch every arm goes through the Batch API, billed at the Batch
// price: the base and rag arms in one batch recorded in the run folder, the
// fine-tuned arms, once the job is done, in one of the fine-tuned model's,
// recorded apart.
func TestBatchFlag(t *testing.T) {
	onTestDay(t)
	if testing.Short() {
		t.Skip("runs the experiment against ragvsfttest")
	}
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{JobStepDelay: 5 * time.Millisecond})
	t.Cleanup(srv.Close)
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "test-key")
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-backend", "openai", "-yes", "-n", "10", "-poll", "20ms", "-batch", "-no-cache", "-out", dir)
	require.NoError(t, err, out)
	assert.FileExists(t, filepath.Join(dir, batchRecordFile))
	assert.FileExists(t, filepath.Join(dir, "batches-finetuned.json"))
	assert.FileExists(t, filepath.Join(dir, "batches-embeddings.json"))
	st := srv.Stats()
	assert.Equal(t, 4, st.BatchesCreated, "the documents' embeddings, the questions', the base and rag arms' 20 calls, the fine-tuned arms' 20")
	assert.Equal(t, 20+20+2, st.BatchRequests)
	assert.Equal(t, st.BatchRequests, st.ChatCompletions+st.Embeddings, "no synchronous call")

	rep := readReport(t, dir)
	p, ok := ragvsft.DefaultCatalog().ChatPrice(ragvsft.DefaultBaseModel)
	require.True(t, ok)
	pft, ok := ragvsft.DefaultCatalog().ChatPrice(rep.FineTune.ModelID)
	require.True(t, ok, "a fine-tune is priced by its base")
	for _, r := range rep.Results {
		assert.True(t, r.Batch, "%s %s", r.Arm, r.QuestionID)
		assert.Empty(t, r.Error)
		want := p.BatchCost(r.Usage)
		if r.Arm == ragvsft.ArmFineTuned || r.Arm == ragvsft.ArmFineTunedRAG {
			want = pft.BatchCost(r.Usage)
		}
		assert.InDelta(t, want, r.CostUSD, 1e-15, "%s %s", r.Arm, r.QuestionID)
	}

	require.NotNil(t, rep.Embedding)
	ep, ok := ragvsft.DefaultCatalog().ChatPrice(rep.Embedding.Model)
	require.True(t, ok)
	assert.Equal(t, rep.Embedding.Usage.PromptTokens, rep.Embedding.Usage.BatchPromptTokens, "every embedding batched")
	assert.InDelta(t, float64(rep.Embedding.Usage.PromptTokens)*ep.BatchInput/1e6, rep.Embedding.CostUSD, 1e-12)

	// Resumed, nothing is batched or paid again.
	out, err = runCities(t, "-resume", dir, "-yes", "-poll", "20ms")
	require.NoError(t, err, out)
	assert.Equal(t, 4, srv.Stats().BatchesCreated)
}

func TestBatchFlagNeedsOpenAI(t *testing.T) {
	_, err := runCities(t, "-backend", "local", "-batch", "-n", "10", "-out", filepath.Join(t.TempDir(), "run"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-batch needs -backend openai")
}
