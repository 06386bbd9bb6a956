//go:build unix

package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// Two runs of one experiment with one cache, started a moment apart, pay
// for one fine-tuning job: the second waits for the first's claim on the
// job in the cache folder and reattaches to it.
func TestRunsSharingACacheCreateOneJob(t *testing.T) {
	onTestDay(t)
	if testing.Short() {
		t.Skip("builds the program and runs it twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bin := buildCities(t)
	// A file stays "uploaded" for a second: without the claim, the second
	// run finds no job while the first waits for its file, and creates one.
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{FileProcessingDelay: time.Second})
	t.Cleanup(srv.Close)
	cache := filepath.Join(t.TempDir(), "cache")
	var outs [2]bytes.Buffer
	var cmds [2]*exec.Cmd
	for i := range 2 {
		cmd := citiesCmd(ctx, t, bin, srv.URL, "-backend", "openai", "-yes", "-n", "10", "-poll", "20ms",
			"-cache", cache, "-out", filepath.Join(t.TempDir(), "run"))
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		require.NoError(t, cmd.Start())
		cmds[i] = cmd
		time.Sleep(300 * time.Millisecond) // "started 0–2 s apart"
	}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), outs[i].String())
	}
	st := srv.Stats()
	assert.Equal(t, 1, st.FilesUploaded, "one upload between them")
	assert.Equal(t, 1, st.JobsCreated, "one job between them")
	assert.Contains(t, outs[1].String(), "another process is starting the job", "the second waited for the first")
}
