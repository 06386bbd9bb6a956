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

// With -batch the base and rag arms go through the Batch API, in one batch
// recorded in the run folder, and are billed at the Batch price; the
// fine-tuned arms stay synchronous.
func TestBatchFlag(t *testing.T) {
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
	assert.Equal(t, 1, srv.Stats().BatchesCreated, "the base and rag arms' 20 calls in one batch")
	assert.Equal(t, 20, srv.Stats().BatchRequests)

	rep := readReport(t, dir)
	p, ok := ragvsft.DefaultCatalog().ChatPrice(ragvsft.DefaultBaseModel)
	require.True(t, ok)
	for _, r := range rep.Results {
		batched := r.Arm == ragvsft.ArmBase || r.Arm == ragvsft.ArmRAG
		assert.Equal(t, batched, r.Batch, "%s %s", r.Arm, r.QuestionID)
		assert.Empty(t, r.Error)
		if batched {
			assert.InDelta(t, p.BatchCost(r.Usage), r.CostUSD, 1e-15)
		}
	}
}

func TestBatchFlagNeedsOpenAI(t *testing.T) {
	_, err := runCities(t, "-backend", "local", "-batch", "-n", "10", "-out", filepath.Join(t.TempDir(), "run"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-batch needs -backend openai")
}
