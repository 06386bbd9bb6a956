//go:build unix

package ragvsft_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// Two runs of one experiment that share a lock folder (examples/cities:
// the cache) and start at the same moment, each with its own run folder,
// create one job between them: the second waits for the first's claim and
// reattaches to its job.
func TestOpenAIFineTunerConcurrentRunsCreateOneJob(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{APIKey: wireKey})
	lockDir := t.TempDir()
	req := ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: citiesData(t, 12), Suffix: "x", Seed: 42}
	type outcome struct {
		ft  *ragvsft.FineTuned
		err error
		out *syncBuffer
	}
	const runs = 2
	results := make(chan outcome, runs)
	start := make(chan struct{})
	for range runs {
		out := &syncBuffer{}
		f := newTuner(s, t.TempDir(), nil, out)
		f.LockDir = lockDir
		go func() {
			<-start
			ft, err := f.FineTune(context.Background(), req)
			results <- outcome{ft, err, out}
		}()
	}
	close(start)
	var got []outcome
	for range runs {
		got = append(got, <-results)
	}
	waited := 0
	for _, o := range got {
		require.NoError(t, o.err, o.out.String())
		if strings.Contains(o.out.String(), "another process is starting the job") {
			waited++
		}
	}
	t.Logf("%d of %d waited for the other's claim", waited, runs)
	st := s.Stats()
	assert.Equal(t, 1, st.JobsCreated, "one job between them")
	assert.Equal(t, 1, st.FilesUploaded, "one upload between them")
	assert.Equal(t, got[0].ft.JobID, got[1].ft.JobID)
	assert.Equal(t, got[0].ft.ModelID, got[1].ft.ModelID)

	c := rawClient(s)
	page, err := c.FineTuning.Jobs.List(context.Background(), openai.FineTuningJobListParams{})
	require.NoError(t, err)
	assert.Len(t, page.Data, 1, "GET /v1/fine_tuning/jobs lists one job")
	entries, err := os.ReadDir(lockDir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.True(t, strings.HasPrefix(entries[0].Name(), "finetune-") && strings.HasSuffix(entries[0].Name(), ".lock"), entries[0].Name())
}
