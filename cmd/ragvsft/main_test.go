package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

var companies = filepath.Join("..", "..", "testdata", "companies.jsonl")

// ragvsft runs the command in-process, offline.
func cli(t *testing.T, args ...string) (string, int) {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("AZURE_OPENAI_API_KEY", "")
	t.Setenv("AZURE_OPENAI_ENDPOINT", "")
	var out bytes.Buffer
	code := run(context.Background(), args, nil, &out, &out)
	return out.String(), code
}

func reportOf(t *testing.T, dir string) *ragvsft.Report {
	t.Helper()
	r, err := readReport(dir)
	require.NoError(t, err)
	return r
}

// ragvsft run on a knowledge base writes the run folder and its reports;
// resume of a finished run asks nothing; compare of two runs pairs them.
func TestRunResumeCompare(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a")
	out, code := cli(t, "run", "-data", companies, "-out", dir)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "ragvsft: 180 questions from "+companies)
	assert.NotContains(t, out, "Memorization with epochs", "no sweep unless asked")
	for _, f := range []string{"report.json", "report.md", "results.csv", "accuracy.png", "report.html", "checkpoint.jsonl", "run.json"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	rep := reportOf(t, dir)
	assert.True(t, rep.Complete)
	assert.Len(t, rep.Results, 720)

	out, code = cli(t, "resume", dir)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "720 of 720 items are in its checkpoint, 0 to ask")

	other := filepath.Join(t.TempDir(), "b")
	out, code = cli(t, "run", "-data", companies, "-epochs", "30", "-out", other)
	require.Equal(t, 0, code, out)
	out, code = cli(t, "compare", dir, other)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "| fine-tuned | 180 |")
	assert.Contains(t, out, "only B right")
	assert.Regexp(t, `\| rag \| 180 \| \d+ \| \d+ \| 0 \| 0 \| 1 \|`, out, "the rag arm does not depend on the epochs")
}

// resume with no folder picks the newest run under runs/.
func TestResumeLatest(t *testing.T) {
	t.Chdir(t.TempDir())
	_, code := cli(t, "resume")
	assert.Equal(t, 1, code, "no run to resume")
	out, code := cli(t, "run", "-data", filepath.Join("..", "x.jsonl"))
	assert.Equal(t, 1, code, out)
	src, err := filepath.Abs(filepath.Join(oldWD, companies))
	require.NoError(t, err)
	out, code = cli(t, "run", "-data", src, "-n", "20", "-out", filepath.Join("runs", "first"))
	require.Equal(t, 0, code, out)
	out, code = cli(t, "resume")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "resuming the latest run, "+filepath.Join("runs", "first"))
}

var oldWD, _ = os.Getwd()

// beforeShutdowns is the day (RAGVSFT_TODAY) of the tests that use
// ragvsft.DefaultBaseModel's family, which shuts down on 2027-01-14.
const beforeShutdowns = "2026-12-02"

// A malformed RAGVSFT_TODAY is refused before anything is done, naming
// the variable and the value.
func TestMalformedTodayIsRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	src, err := filepath.Abs(filepath.Join(oldWD, companies))
	require.NoError(t, err)
	t.Setenv("RAGVSFT_TODAY", "2027-13-01")
	for _, args := range [][]string{{"run", "-data", src}, {"estimate", "-data", src}} {
		out, code := cli(t, args...)
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, `RAGVSFT_TODAY="2027-13-01" is not a day as YYYY-MM-DD`, args[0])
	}
	assert.NoDirExists(t, "runs")
}

// validate names every bad line of a bad file and accepts good ones of
// both kinds.
func TestValidate(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(`{"messages":[{"role":"user","content":"Q?"},{"role":"assistant","content":"A."}]}`+"\n"+
		"not json\n"+`{"messages":[{"role":"robot","content":"Q?"},{"role":"assistant","content":"A."}]}`+"\n"), 0o600))
	out, code := cli(t, "validate", bad)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "line 2")
	assert.Contains(t, out, "line 3")
	assert.Contains(t, out, "robot")

	out, code = cli(t, "validate", companies, filepath.Join("..", "..", "testdata", "companies_questions.jsonl"))
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "a valid chat fine-tuning file: 180 examples")
	assert.Contains(t, out, "a valid questions file: 180 questions")

	_, code = cli(t, "validate")
	assert.Equal(t, 2, code)
}

// estimate prints what an OpenAI run would cost with no key and no
// request (the base URL points nowhere), and leaves no run folder.
func TestEstimate(t *testing.T) {
	t.Setenv("RAGVSFT_TODAY", beforeShutdowns)
	t.Chdir(t.TempDir())
	src, err := filepath.Abs(filepath.Join(oldWD, companies))
	require.NoError(t, err)
	t.Setenv("OPENAI_BASE_URL", "")
	out, code := cli(t, "estimate", "-data", src, "-model", "gpt-4.1-mini")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "Cost estimate: fine-tuning gpt-4.1-mini on 180 examples")
	assert.Contains(t, out, "720 chat completions")
	assert.NoDirExists(t, "runs")
}

// cache stats and clear; view -print; help and unknown commands.
func TestSmallCommands(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	require.NoError(t, os.MkdirAll(filepath.Join(cache, "chat"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(cache, "chat", "x.json"), []byte("{}"), 0o600))
	out, code := cli(t, "cache", "stats", "-cache", cache)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "1 entries")
	out, code = cli(t, "cache", "clear", "-cache", cache)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "pass -yes")
	assert.DirExists(t, cache)
	// A run using the cache (here: this process's open Cache) keeps it.
	inUse, err := ragvsft.OpenCache(cache)
	require.NoError(t, err)
	out, code = cli(t, "cache", "stats", "-cache", cache)
	assert.Contains(t, out, "1 entries", "the lock is no entry")
	out, code = cli(t, "cache", "clear", "-cache", cache, "-yes")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "a run is using")
	assert.FileExists(t, filepath.Join(cache, "chat", "x.json"))
	require.NoError(t, inUse.Close())
	out, code = cli(t, "cache", "clear", "-cache", cache, "-yes")
	assert.Equal(t, 0, code, out)
	assert.NoDirExists(t, cache)

	_, code = cli(t, "view", "-print", t.TempDir())
	assert.Equal(t, 1, code, "no report there")

	for _, args := range [][]string{{"-h"}, {"run", "-h"}, {"resume", "-h"}, {"validate", "-h"}, {"estimate", "-h"}, {"view", "-h"}, {"compare", "-h"}, {"cache", "-h"}} {
		out, code := cli(t, args...)
		assert.Equal(t, 0, code, "%v: %s", args, out)
	}
	out, code = cli(t, "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, out, `unknown command "frobnicate"`)
	_, code = cli(t)
	assert.Equal(t, 2, code)
}

// The command builds and runs as a binary.
func TestBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ragvsft")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	cmd := exec.Command(bin, "validate", companies)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	assert.True(t, strings.Contains(string(b), "180 examples"), string(b))
	err = exec.Command(bin, "nope").Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.ExitCode())
}
