package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// chatLog is an OpenAI-wire server that records which item each chat
// completion asked: the arm (fine-tuned model or not, context or not) and
// the question.
type chatLog struct {
	*ragvsfttest.OpenAIServer
	URL string

	mu    sync.Mutex
	items []string    // "arm|question", one per chat request, in arrival order
	times []time.Time // when each arrived
}

func newChatLog(t *testing.T, latency time.Duration) *chatLog {
	t.Helper()
	s := ragvsfttest.NewOpenAIHandler(ragvsfttest.ServerConfig{Faults: ragvsfttest.Faults{Latency: latency}})
	c := &chatLog{OpenAIServer: s}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			c.record(t, body)
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); s.Close() })
	c.URL = ts.URL + "/v1"
	return c
}

func (c *chatLog) record(t *testing.T, body []byte) {
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Errorf("chat request is not JSON: %v", err)
		return
	}
	user := req.Messages[len(req.Messages)-1].Content
	_, q, _ := strings.Cut(user, "QUESTION: ")
	q, _, _ = strings.Cut(q, "\n\n")
	arm := ragvsft.ArmBase
	switch ft, rag := strings.HasPrefix(req.Model, "ft:"), strings.Contains(user, "CONTEXT:"); {
	case ft && rag:
		arm = ragvsft.ArmFineTunedRAG
	case ft:
		arm = ragvsft.ArmFineTuned
	case rag:
		arm = ragvsft.ArmRAG
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = append(c.items, string(arm)+"|"+q)
	c.times = append(c.times, time.Now())
}

// span is the time from the first chat request to the last.
func (c *chatLog) span() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.times) == 0 {
		return 0
	}
	return c.times[len(c.times)-1].Sub(c.times[0])
}

// asked returns how many chat requests each item got so far.
func (c *chatLog) asked() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := map[string]int{}
	for _, it := range c.items {
		n[it]++
	}
	return n
}

// requests returns how many chat requests were made so far.
func (c *chatLog) requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// buildCities builds this program into a temporary folder.
func buildCities(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cities")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// citiesCmd is the built program run against server, in a folder of its own.
func citiesCmd(ctx context.Context, t *testing.T, bin, url string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENAI_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "OPENAI_BASE_URL="+url, "OPENAI_API_KEY=test-key")
	return cmd
}

// startUntilCheckpointed starts cmd and returns once its checkpoint at
// ckpt holds n lines, with the buffer its output goes to.
func startUntilCheckpointed(t *testing.T, cmd *exec.Cmd, ckpt string, n int) *bytes.Buffer {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(ckpt)
		return bytes.Count(b, []byte("\n")) >= n
	}, 60*time.Second, 5*time.Millisecond, "no checkpoint lines; output:\n%s", &out)
	return &out
}

// checkpointed returns the items of a checkpoint's complete lines.
func checkpointed(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	items := map[string]bool{}
	for line := range bytes.Lines(b) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			break // torn by the kill
		}
		var r ragvsft.Result
		require.NoError(t, json.Unmarshal(line, &r))
		items[string(r.Arm)+"|"+r.Question] = true
	}
	return items
}

// The "done when": a run killed with SIGKILL in the middle, then
// resumed, gives the report of an uninterrupted run, asks no checkpointed
// item again and trains once.
func TestKill9ThenResume(t *testing.T) {
	onTestDay(t)
	if testing.Short() {
		t.Skip("builds the program and runs it three times")
	}
	const n, workers = 30, 4
	items := n * len(ragvsft.AllArms)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	bin := buildCities(t)
	t.Logf("built in %s", time.Since(start).Round(time.Millisecond))
	srv := newChatLog(t, 25*time.Millisecond)
	args := []string{"-backend", "openai", "-yes", "-n", fmt.Sprint(n), "-poll", "20ms", "-concurrency", fmt.Sprint(workers)}

	// The run, killed once some answers are checkpointed.
	dir := filepath.Join(t.TempDir(), "run")
	killed := citiesCmd(ctx, t, bin, srv.URL, append(args, "-out", dir)...)
	ckpt := filepath.Join(dir, checkpointFile)
	startUntilCheckpointed(t, killed, ckpt, items/5)
	require.NoError(t, killed.Process.Kill()) // SIGKILL: no deferred code, no flush
	require.Error(t, killed.Wait())
	before := checkpointed(t, ckpt)
	require.Less(t, len(before), items, "the run finished before the kill; raise the latency")
	assert.NoFileExists(t, filepath.Join(dir, "report.json"))
	lists := srv.Stats().Requests["GET /v1/fine_tuning/jobs"]
	embeddings := srv.Stats().Embeddings

	// The resume.
	resumed := citiesCmd(ctx, t, bin, srv.URL, "-resume", dir, "-yes", "-poll", "20ms", "-concurrency", fmt.Sprint(workers))
	out, err := resumed.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), fmt.Sprintf("%d of %d items are in its checkpoint", len(before), items))
	assert.Contains(t, string(out), fmt.Sprintf("Index: 0 documents embedded, %d reused", n), "the index is not embedded again")
	st := srv.Stats()
	assert.Equal(t, 1, st.FilesUploaded, "one training file in all")
	assert.Equal(t, 1, st.JobsCreated, "one fine-tuning job in all")
	assert.Equal(t, lists, st.Requests["GET /v1/fine_tuning/jobs"], "the resume found its job in the run folder's record, without listing jobs")
	assert.Equal(t, embeddings, st.Embeddings, "documents are in the index, questions in the cache: nothing embedded again")

	// No item in the checkpoint was asked again; the others were asked by
	// the resume, and asked twice only if in flight at the kill.
	asked := srv.asked()
	require.Len(t, asked, items, "every item asked")
	var twice []string
	for it, times := range asked {
		switch {
		case before[it]:
			assert.Equal(t, 1, times, "checkpointed item %s asked again", it)
		case times == 2:
			// In flight at the kill: the killed process's request may reach
			// the server after askedBefore was read, so it is not checked
			// against it; their number is bounded below.
			twice = append(twice, it)
		default:
			assert.Equal(t, 1, times, "item %s", it)
		}
	}
	t.Logf("killed after %d of %d items were checkpointed; %d asked again (in flight at the kill)", len(before), items, len(twice))
	assert.LessOrEqual(t, len(twice), workers, "only answers in flight at the kill are asked again: %v", twice)
	got := readReport(t, dir)
	require.True(t, got.Complete)

	// An uninterrupted run of the same experiment on the same server (its
	// job is found by listing, so the fine-tuned model is the same), without
	// the cache: every answer is asked again.
	ref := filepath.Join(t.TempDir(), "ref")
	out, err = citiesCmd(ctx, t, bin, srv.URL, append(args, "-out", ref, "-no-cache")...).CombinedOutput()
	require.NoError(t, err, string(out))
	requireSameReport(t, readReport(t, ref), got)
	assert.Equal(t, 2*items+len(twice), srv.requests(), "the uninterrupted run asked every item")

	// A new run with the killed run's cache makes no model call at all.
	st = srv.Stats()
	warm := filepath.Join(t.TempDir(), "warm")
	out, err = citiesCmd(ctx, t, bin, srv.URL, append(args, "-out", warm, "-cache", filepath.Join(filepath.Dir(dir), "cache"))...).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, st.ChatCompletions, srv.Stats().ChatCompletions, "no chat completion")
	assert.Equal(t, st.Embeddings, srv.Stats().Embeddings, "no embedding")
	assert.Equal(t, 1, srv.Stats().JobsCreated)
	warmRep := readReport(t, warm)
	requireSameReport(t, got, warmRep)
	require.NotNil(t, warmRep.Embedding)
	assert.Zero(t, warmRep.Embedding.Usage.Texts, "the warm run paid for no embedding")
	assert.Equal(t, 2*n, warmRep.Embedding.Cached, "its documents and questions came from the cache")
	refRep := readReport(t, ref)
	require.NotNil(t, refRep.Embedding)
	assert.Equal(t, 2*n, refRep.Embedding.Usage.Texts, "without the cache every document and question is embedded")
	assert.Positive(t, refRep.Embedding.CostUSD)
	assert.Equal(t, ragvsft.PricingCatalog, got.Pricing)
	assert.Positive(t, got.FineTuneCostUSD)
	for _, a := range got.Arms {
		assert.Positive(t, a.CostUSD, "arm %s", a.Arm)
	}
}

// -rpm paces the chat requests of every worker together, and a 429 with
// Retry-After is waited out: every item is answered, none is an error.
func TestRateLimitFlags(t *testing.T) {
	onTestDay(t)
	if testing.Short() {
		t.Skip("paced on purpose")
	}
	tests := []struct {
		name    string
		args    []string
		fault   bool
		atLeast time.Duration
	}{
		// 40 chat requests at 1200 per minute: a second's worth (20) at
		// once, then 20 per second.
		{"rpm", []string{"-rpm", "1200"}, false, 900 * time.Millisecond},
		{"429 with retry-after", nil, true, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newChatLog(t, 0)
			if tt.fault {
				srv.InjectFault("chat/completions", 1, ragvsfttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 300 * time.Millisecond})
			}
			t.Setenv("OPENAI_BASE_URL", srv.URL)
			t.Setenv("OPENAI_API_KEY", "test-key")
			dir := filepath.Join(t.TempDir(), "run")
			out, err := runCities(t, append([]string{"-backend", "openai", "-yes", "-n", "10", "-poll", "20ms", "-out", dir}, tt.args...)...)
			require.NoError(t, err, out)
			rep := readReport(t, dir)
			for _, a := range rep.Arms {
				assert.Equal(t, 10, a.Answered, "arm %s", a.Arm)
				assert.Zero(t, a.Errors, "arm %s", a.Arm)
			}
			assert.GreaterOrEqual(t, srv.span(), tt.atLeast)
		})
	}
}
