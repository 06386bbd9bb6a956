package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// comparable strips from a report what differs between two runs of the same
// experiment: timestamps and latencies.
func comparable(rep ragvsft.Report) ragvsft.Report {
	rep.Started, rep.Finished = time.Time{}, time.Time{}
	if rep.FineTune != nil {
		// Whether this run trained the model or reused an earlier run's
		// job may differ; the model may not.
		ft := *rep.FineTune
		ft.Reused = false
		rep.FineTune = &ft
	}
	arms := make([]ragvsft.ArmSummary, len(rep.Arms))
	// Where an answer came from (provider or cache) and what this run
	// paid for it may differ; the answers may not.
	for i, a := range rep.Arms {
		a.MeanLatency, a.Cached, a.SpentUSD = 0, 0, 0
		arms[i] = a
	}
	rep.Arms = arms
	if e := rep.Embedding; e != nil {
		// Likewise what the embeddings cost this run.
		rep.Embedding = &ragvsft.EmbeddingSummary{Model: e.Model}
	}
	results := make([]ragvsft.Result, len(rep.Results))
	for i, r := range rep.Results {
		r.Latency, r.Cached = 0, false
		results[i] = r
	}
	rep.Results = results
	return rep
}

func requireSameReport(t *testing.T, want, got ragvsft.Report) {
	t.Helper()
	w, g := comparable(want), comparable(got)
	require.Equal(t, len(w.Results), len(g.Results))
	for i := range w.Results {
		require.Equal(t, w.Results[i], g.Results[i], "result %d (%s %s)", i, w.Results[i].Arm, w.Results[i].QuestionID)
	}
	require.Equal(t, w, g)
}

// readLines returns the lines of a file.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	return lines
}

// interrupted copies a finished run folder as a run killed after its first
// keep results would have left it: the checkpoint cut there, with half a
// line torn off, and no report yet. edit, if set, changes the kept lines.
func interrupted(t *testing.T, finished string, keep int, edit func(i int, r *ragvsft.Result)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	require.NoError(t, os.CopyFS(dir, os.DirFS(finished)))
	for _, f := range []string{"report.json", "report.md", "results.csv", "accuracy.png", "report.html", "epochs.json"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			require.ErrorIs(t, err, fs.ErrNotExist)
		}
	}
	lines := readLines(t, filepath.Join(finished, checkpointFile))
	require.Greater(t, len(lines), keep)
	var b bytes.Buffer
	for i, l := range lines[:keep] {
		if edit != nil {
			var r ragvsft.Result
			require.NoError(t, json.Unmarshal([]byte(l), &r))
			edit(i, &r)
			enc, err := json.Marshal(r)
			require.NoError(t, err)
			l = string(enc)
		}
		b.WriteString(l + "\n")
	}
	b.WriteString(lines[keep][:len(lines[keep])/2]) // torn by the crash
	require.NoError(t, os.WriteFile(filepath.Join(dir, checkpointFile), b.Bytes(), 0o644))
	return dir
}

// finishedRun runs the default experiment on 20 cities once per test binary.
func finishedRun(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "done")
	out, err := runCities(t, "-out", dir, "-n", "20", "-sweep", "")
	require.NoError(t, err, out)
	require.Len(t, readLines(t, filepath.Join(dir, checkpointFile)), 80, "one checkpoint line per item")
	return dir
}

func TestResumeAsksOnlyWhatIsMissing(t *testing.T) {
	done := finishedRun(t)
	want := readReport(t, done)

	t.Run("interrupted run", func(t *testing.T) {
		dir := interrupted(t, done, 30, nil)
		out, err := runCities(t, "-resume", dir)
		require.NoError(t, err, out)
		assert.Contains(t, out, "30 of 80 items are in its checkpoint, 50 to ask")
		assert.Contains(t, out, "Index: 0 documents embedded, 20 reused", "the index in the run folder is reused")
		assert.Contains(t, out, "msg=asked done=50 of=50")
		requireSameReport(t, want, readReport(t, dir))
		assert.Len(t, readLines(t, filepath.Join(dir, checkpointFile)), 80, "the torn line is gone and each missing item appended once")
	})

	t.Run("finished run asks nothing", func(t *testing.T) {
		dir := interrupted(t, done, 79, nil)
		out, err := runCities(t, "-resume", dir)
		require.NoError(t, err, out)
		out, err = runCities(t, "-resume", dir)
		require.NoError(t, err, out)
		assert.Contains(t, out, "80 of 80 items are in its checkpoint, 0 to ask")
		requireSameReport(t, want, readReport(t, dir))
	})

	t.Run("index damaged by the crash is rebuilt", func(t *testing.T) {
		dir := interrupted(t, done, 30, nil)
		files, err := filepath.Glob(filepath.Join(dir, "index", "*", "*.gob"))
		require.NoError(t, err)
		require.NotEmpty(t, files)
		for _, f := range files[:2] {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(f, b[:len(b)/2], 0o644))
		}
		out, err := runCities(t, "-resume", dir)
		require.NoError(t, err, out)
		assert.Contains(t, out, "damaged, rebuilding it")
		assert.Contains(t, out, "Index: 20 documents embedded, 0 reused")
		requireSameReport(t, want, readReport(t, dir))
	})

	t.Run("errors are kept unless retried", func(t *testing.T) {
		broken := map[int]bool{3: true, 25: true, 61: true}
		dir := interrupted(t, done, 79, func(i int, r *ragvsft.Result) {
			if broken[i] {
				r.Answer, r.Verdict, r.Usage, r.Error = "", ragvsft.Verdict{}, ragvsft.Usage{}, "injected failure"
			}
		})
		out, err := runCities(t, "-resume", dir)
		require.Error(t, err, out)
		assert.Contains(t, err.Error(), "3 of 80 items are in error", "kept errors leave the run incomplete")
		rep := readReport(t, dir)
		errs := 0
		for _, a := range rep.Arms {
			errs += a.Errors
		}
		assert.Equal(t, 3, errs, "errors are counted apart and not retried by default")

		out, err = runCities(t, "-resume", dir, "-retry-errors")
		require.NoError(t, err, out)
		assert.Contains(t, out, "77 of 80 items are in its checkpoint, 3 to ask")
		requireSameReport(t, want, readReport(t, dir))
	})
}

func TestResumeRefusesToChangeTheExperiment(t *testing.T) {
	done := finishedRun(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"other k", []string{"-k", "3"}, []string{`-k "3" (the run has "5")`}},
		{"other n and seed", []string{"-n", "30", "-seed", "7"}, []string{`-n "30"`, `-seed "7"`}},
		{"other sweep", []string{"-sweep", "1,2"}, []string{`-sweep "1,2"`}},
		{"out", []string{"-out", "elsewhere"}, []string{"-out"}},
		{"other backend", []string{"-backend", "openai"}, []string{`-backend "openai"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := interrupted(t, done, 10, nil)
			out, err := runCities(t, append([]string{"-resume", dir}, tt.args...)...)
			require.Error(t, err, out)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NoFileExists(t, filepath.Join(dir, "report.json"))
		})
	}

	t.Run("same values are fine", func(t *testing.T) {
		dir := interrupted(t, done, 10, nil)
		out, err := runCities(t, "-resume", dir, "-k", "5", "-n", "20", "-eval", "auto", "-sweep", "")
		require.NoError(t, err, out)
	})
	t.Run("not a run folder", func(t *testing.T) {
		_, err := runCities(t, "-resume", t.TempDir())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "run folder")
	})
	t.Run("retry-errors alone", func(t *testing.T) {
		_, err := runCities(t, "-retry-errors")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "-resume")
	})
	t.Run("a new run never overwrites a checkpoint", func(t *testing.T) {
		dir := interrupted(t, done, 10, nil)
		_, err := runCities(t, "-out", dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "-resume "+dir)
		assert.True(t, strings.HasSuffix(readLines(t, filepath.Join(dir, checkpointFile))[9], "}"))
	})
}
