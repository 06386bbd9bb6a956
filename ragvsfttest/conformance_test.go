package ragvsfttest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conformanceDir holds the Node SDK conformance script and its lockfile.
const conformanceDir = "conformance"

// skipOrFail skips the test, or fails it when CI is set: in CI a missing
// tool is a broken setup, not a reason to pass.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format+" (CI is set, so this fails instead of skipping)", args...)
	}
	t.Skipf(format, args...)
}

// conformanceResults is the JSON line conformance.mjs prints.
type conformanceResults struct {
	OK                bool     `json:"ok"`
	SDK               string   `json:"sdk"`
	Node              string   `json:"node"`
	FineTunedModel    string   `json:"fine_tuned_model"`
	Checkpoints       []string `json:"checkpoints"`
	Events            int      `json:"events"`
	Recalled          string   `json:"recalled"`
	EmbeddingDims     int      `json:"embedding_dims"`
	FilesUploaded     int      `json:"files_uploaded"`
	JobsCreated       int      `json:"jobs_created"`
	JobsCancelled     int      `json:"jobs_cancelled"`
	ChatCompletions   int      `json:"chat_completions"`
	EmbeddingRequests int      `json:"embedding_requests"`
	RetryMS           int64    `json:"retry_ms"`
}

// TestNodeSDKConformance drives the server with the official OpenAI Node
// SDK (the npm package openai, pinned in conformance/package-lock.json): a
// client nobody here wrote, whose own parsing, pagination, streaming,
// base64 decoding and typed errors must all accept what the server sends.
// Run `npm ci` in ragvsfttest/conformance first.
func TestNodeSDKConformance(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed: the Node SDK conformance test needs Node.js 20 or later")
	}
	out, err := exec.Command(node, "--version").Output()
	require.NoError(t, err, "node --version")
	version := strings.TrimSpace(string(out))
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(version, "v"), ".", 2)[0])
	require.NoError(t, err, "node --version printed %q", version)
	if major < 20 {
		skipOrFail(t, "node %s is too old: the Node SDK conformance test needs Node.js 20 or later", version)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile(filepath.Join(conformanceDir, "package.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &pkg))
	pinned := pkg.Dependencies["openai"]
	var installed struct {
		Version string `json:"version"`
	}
	b, err = os.ReadFile(filepath.Join(conformanceDir, "node_modules", "openai", "package.json"))
	if err != nil {
		skipOrFail(t, "the OpenAI Node SDK is not installed: run `npm ci` in ragvsfttest/%s", conformanceDir)
	}
	require.NoError(t, json.Unmarshal(b, &installed))
	require.Equal(t, pinned, installed.Version, "node_modules is stale: run `npm ci` in ragvsfttest/%s", conformanceDir)

	s := newServer(t, ServerConfig{APIKey: testKey, JobStepDelay: 100 * time.Millisecond})
	// The script's retry step meets a rate limit, then a dropped connection.
	const retryAfter = 300 * time.Millisecond
	s.InjectFault("models/gpt-4.1-mini-2025-04-14", 1, Fault{Status: 429, RetryAfter: retryAfter})
	s.InjectFault("models/gpt-4.1-mini-2025-04-14", 1, Fault{Drop: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "conformance.mjs")
	cmd.Dir = conformanceDir
	cmd.WaitDelay = 5 * time.Second // don't wait on pipes a killed node left open
	// Later entries win: the server's URL and key replace any in the
	// environment, so no real key can reach the script.
	cmd.Env = append(os.Environ(), "OPENAI_BASE_URL="+s.URL, "OPENAI_API_KEY="+testKey)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	require.NoError(t, ctx.Err(), "conformance.mjs did not finish in time; stderr:\n%s", stderr.String())
	require.NoError(t, err, "conformance.mjs failed; stderr:\n%s", stderr.String())
	t.Logf("conformance.mjs passed in %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(stdout.String()))

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 1, "one JSON line on stdout:\n%s", stdout.String())
	var res conformanceResults
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &res), lines[0])
	assert.True(t, res.OK)
	assert.Equal(t, pinned, res.SDK, "the script ran the pinned SDK")
	assert.Equal(t, version, res.Node)
	assert.True(t, strings.HasPrefix(res.FineTunedModel, "ft:gpt-4.1-mini-2025-04-14:ragvsft:rivers:"), res.FineTunedModel)
	assert.Len(t, res.Checkpoints, keptCheckpoints)
	assert.Equal(t, 1536, res.EmbeddingDims)

	// The server saw what the script says it did.
	st := s.Stats()
	assert.Equal(t, 2, res.FilesUploaded, "training and validation files")
	assert.Equal(t, res.FilesUploaded, st.FilesUploaded)
	assert.Equal(t, 2, res.JobsCreated)
	assert.Equal(t, res.JobsCreated, st.JobsCreated)
	assert.Equal(t, 1, res.JobsCancelled)
	assert.Equal(t, res.JobsCancelled, st.JobsCancelled)
	assert.Greater(t, res.ChatCompletions, 2)
	assert.Equal(t, res.ChatCompletions, st.ChatCompletions)
	assert.Equal(t, res.EmbeddingRequests, st.Embeddings)
	assert.Greater(t, st.Requests["GET /v1/fine_tuning/jobs/{id}/events"], res.Events/5, "the SDK paged the events five at a time")
	assert.GreaterOrEqual(t, st.Requests["GET /v1/fine_tuning/jobs/{id}/checkpoints"], 3, "a page, then two pages of two")
	assert.Equal(t, 2, st.Requests["DELETE /v1/files/{id}"])
	assert.Equal(t, 2, st.Faults, "both injected faults met")
	assert.GreaterOrEqual(t, res.RetryMS, retryAfter.Milliseconds(), "the SDK waited as retry-after-ms said")
}
