package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// A run that finishes with items in error writes its report but does not
// exit as if it were complete: a script or CI job must see it failed.
func TestItemsInErrorFailTheRun(t *testing.T) {
	onTestDay(t)
	srv := newChatLog(t, 0)
	// 400 is not retried: three items end in error.
	srv.InjectFault("chat/completions", 3, ragvsfttest.Fault{Status: http.StatusBadRequest})
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "test-key")
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-backend", "openai", "-yes", "-no-cache", "-n", "10", "-poll", "20ms", "-out", dir)
	require.Error(t, err, out)
	assert.Contains(t, err.Error(), "3 of 40 items are in error")
	assert.Contains(t, err.Error(), "-resume "+dir+" -retry-errors")
	rep := readReport(t, dir)
	errs := 0
	for _, a := range rep.Arms {
		errs += a.Errors
	}
	assert.Equal(t, 3, errs, "the report is written all the same")
}

// The run folder and every file in it are the user's alone: answers,
// prompts and the dataset may be private.
func TestRunFolderIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-backend", "local", "-n", "10", "-no-cache", "-sweep", "", "-out", dir)
	require.NoError(t, err, out)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm(), dir)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		info, err := e.Info()
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), e.Name())
	}
}

// SIGTERM (docker stop, systemd, a CI timeout) stops the run as Ctrl-C
// does: what finished is reported, and the exit status says it stopped.
func TestSIGTERMWritesTheReport(t *testing.T) {
	onTestDay(t)
	if testing.Short() {
		t.Skip("builds the program")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bin := buildCities(t)
	srv := newChatLog(t, 50*time.Millisecond)
	dir := filepath.Join(t.TempDir(), "run")
	cmd := citiesCmd(ctx, t, bin, srv.URL, "-backend", "openai", "-yes", "-n", "30", "-poll", "20ms", "-concurrency", "2", "-out", dir)
	out := startUntilCheckpointed(t, cmd, filepath.Join(dir, checkpointFile), 5)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.Error(t, cmd.Wait(), "a stopped run is not a finished one")
	assert.FileExists(t, filepath.Join(dir, "report.json"), out.String())
	assert.Contains(t, out.String(), "-resume "+dir)
	rep := readReport(t, dir)
	assert.NotEmpty(t, rep.Results)
	assert.Less(t, len(rep.Results), 120, "the run stopped before the end")
}
