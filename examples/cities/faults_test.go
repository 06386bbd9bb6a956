package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// A faulty server: 30% of every request fails (500), the embedding of one
// document is refused twice before it succeeds, and the embedding of one
// question is refused until the server is mended. The index is still
// built (a batch is tried again while the others go on), the question is
// retrieved on its own when the batch of all questions fails, and its rag
// items and the chat calls that kept failing are recorded as errors; the
// run ends non-zero saying how to retry them. A resume with -retry-errors
// once the server is well asks exactly those items and nothing else.
// Before, the refused document's batch ended the run while indexing.
func TestFaultyServerRunsToTheEnd(t *testing.T) {
	onTestDay(t)
	local := ragvsft.NewLocalEmbeddingFunc(1536)
	var mu sync.Mutex
	docCalls := 0
	var questionRefused atomic.Bool
	questionRefused.Store(true)
	embed := func(ctx context.Context, text string) ([]float32, error) {
		switch {
		case strings.HasPrefix(text, "City_3 has"):
			mu.Lock()
			docCalls++
			n := docCalls
			mu.Unlock()
			if n <= 2 {
				return nil, errors.New("refused for the test")
			}
		case strings.Contains(text, "City_7?") && questionRefused.Load():
			return nil, errors.New("refused for the test")
		}
		return local(ctx, text)
	}
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: baseKey, JobStepDelay: time.Millisecond, Embed: embed,
		Faults: ragvsfttest.Faults{Rate: 0.3, Seed: 1}})
	t.Cleanup(srv.Close)
	t.Setenv("AZURE_OPENAI_ENDPOINT", "")
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", baseKey)
	t.Setenv(ragvsft.FineTunedAPIKeyEnv, "")
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-backend", "openai", "-yes", "-no-cache", "-n", "60", "-poll", "5ms", "-out", dir)
	require.Error(t, err, out)
	assert.NotContains(t, err.Error(), "building the index")
	assert.Contains(t, err.Error(), "-retry-errors")
	assert.Regexp(t, `Retrieval failed for \d+ questions: their rag items are errors`, out)
	rep := readReport(t, dir)
	require.Len(t, rep.Results, 240, "every item is in the report, answered or an error")
	errs := 0
	for _, r := range rep.Results {
		if r.Outcome == ragvsft.OutcomeError {
			errs++
		}
		if (r.Arm == ragvsft.ArmRAG || r.Arm == ragvsft.ArmFineTunedRAG) && r.QuestionID == "line 7" {
			assert.Contains(t, r.Error, "retrieving for question line 7", "%s %s", r.Arm, r.QuestionID)
		}
	}
	assert.GreaterOrEqual(t, rep.Retrieval.Failed, 1, "the refused question, and any whose retries all met the 30%")
	assert.Equal(t, 3, docCalls, "the refused document was tried again, not the run")
	t.Logf("%d of 240 items in error, %d questions without retrieval", errs, rep.Retrieval.Failed)

	srv.SetFaults(ragvsfttest.Faults{})
	questionRefused.Store(false)
	before := srv.Stats().Requests["POST /v1/chat/completions"]
	out, err = runCities(t, "-resume", dir, "-yes", "-retry-errors", "-poll", "5ms")
	require.NoError(t, err, out)
	rep = readReport(t, dir)
	for _, a := range rep.Arms {
		assert.Zero(t, a.Errors, "arm %s", a.Arm)
		assert.Equal(t, 60, a.Answered, "arm %s", a.Arm)
	}
	assert.Equal(t, errs, srv.Stats().Requests["POST /v1/chat/completions"]-before, "only the items in error are asked again")
}
