//go:build unix

package main

import (
	"context"
	"fmt"
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
	onTestDay(t)
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
