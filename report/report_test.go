package report_test

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// WriteFiles fits the hook the root package takes for writing a run
// folder's reports.
var _ func(string, *ragvsft.Report) error = report.WriteFiles

func TestWriteFiles(t *testing.T) {
	rep, _ := htmlTestReport(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "report.html"), []byte("an older report"), 0o600))
	require.NoError(t, report.WriteFiles(dir, rep))

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "%s is private", e.Name())
	}
	assert.ElementsMatch(t, []string{"results.csv", "accuracy.png", "report.html"}, names,
		"the three reports for people (a Run writes report.json and report.md) and no temporary file")

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return string(b)
	}
	assert.NotEqual(t, "an older report", read("report.html"), "the old report is replaced")
	assert.Equal(t, 1+len(rep.Results), strings.Count(read("results.csv"), "\n"))
	assert.Contains(t, read("report.html"), `id="view-data"`)
	f, err := os.Open(filepath.Join(dir, "accuracy.png"))
	require.NoError(t, err)
	defer f.Close()
	_, err = png.Decode(f)
	assert.NoError(t, err)
}

func TestWriteFilesNamesWhatFailed(t *testing.T) {
	err := report.WriteFiles(filepath.Join(t.TempDir(), "missing"), &ragvsft.Report{Arms: []ragvsft.ArmSummary{{Arm: ragvsft.ArmBase}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "results.csv")

	err = report.WriteFiles(t.TempDir(), &ragvsft.Report{})
	require.Error(t, err, "a report with no arms has no chart")
	assert.Contains(t, err.Error(), "accuracy.png")
}
