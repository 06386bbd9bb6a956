package ragvsft_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// fastBatches polls and collects on a test's time scale.
func fastBatches(record string) ragvsft.BatchOptions {
	return ragvsft.BatchOptions{Record: record, Window: 50 * time.Millisecond, PollInterval: 5 * time.Millisecond, MaxPollInterval: 20 * time.Millisecond}
}

func question(i int) ragvsft.ChatRequest {
	return ragvsft.ChatRequest{
		Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: fmt.Sprintf("What is the population of Town%d?", i)}},
		Seed:     42, MaxTokens: 50,
	}
}

// chatAll makes the calls concurrently and returns their results, collected
// on the test goroutine.
func chatAll(ctx context.Context, m ragvsft.Model, reqs []ragvsft.ChatRequest) ([]ragvsft.ChatResponse, []error) {
	resps, errs := make([]ragvsft.ChatResponse, len(reqs)), make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() { resps[i], errs[i] = m.Chat(ctx, req) })
	}
	wg.Wait()
	return resps, errs
}

func questions(n int) []ragvsft.ChatRequest {
	reqs := make([]ragvsft.ChatRequest, n)
	for i := range reqs {
		reqs[i] = question(i)
	}
	return reqs
}

func TestBatchModelAnswersAsSync(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	cfg := wireConfig(s)
	bm, err := ragvsft.NewBatchModel(cfg, ragvsft.DefaultBaseModel, fastBatches(""))
	require.NoError(t, err)
	sync, err := ragvsft.NewOpenAIModel(cfg, ragvsft.DefaultBaseModel)
	require.NoError(t, err)

	reqs := questions(40)
	reqs = append(reqs, question(7)) // the same request twice: one line, two answers
	resps, errs := chatAll(context.Background(), bm, reqs)
	for i, req := range reqs {
		require.NoError(t, errs[i], "call %d", i)
		want, err := sync.Chat(context.Background(), req)
		require.NoError(t, err)
		got := resps[i]
		assert.True(t, got.Batch)
		assert.False(t, want.Batch)
		got.Batch = false
		assert.Equal(t, want, got, "call %d: the batch answer is the synchronous one, usage, model and fingerprint included", i)
	}
	st := s.Stats()
	assert.Equal(t, 1, st.BatchesCreated, "41 concurrent calls, one batch")
	assert.Equal(t, 1, st.FilesUploaded)
	assert.Equal(t, 40, st.BatchRequests, "the duplicate was sent once")

	// The input file, as sent, is OpenAI's BatchRequestInput, one per line.
	c := rawClient(s)
	files, err := c.Files.List(context.Background(), openai.FileListParams{Purpose: openai.String("batch")})
	require.NoError(t, err)
	require.Len(t, files.Data, 1)
	assert.True(t, strings.HasSuffix(files.Data[0].Filename, ".jsonl"))
	res, err := c.Files.Content(context.Background(), files.Data[0].ID)
	require.NoError(t, err)
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 40)
	seen := map[string]bool{}
	asked := map[string]bool{}
	for i := range 40 {
		asked[reqs[i].Messages[0].Content] = true
	}
	for _, line := range lines {
		var l map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(line), &l))
		assert.Len(t, l, 4, "custom_id, method, url, body and nothing else: %s", line)
		var in struct {
			CustomID string `json:"custom_id"`
			Method   string `json:"method"`
			URL      string `json:"url"`
			Body     struct {
				Model               string  `json:"model"`
				Temperature         float64 `json:"temperature"`
				Seed                int64   `json:"seed"`
				MaxCompletionTokens int     `json:"max_completion_tokens"`
				Messages            []struct {
					Role, Content string
				} `json:"messages"`
			} `json:"body"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &in))
		assert.NotEmpty(t, in.CustomID)
		assert.False(t, seen[in.CustomID], "custom_id %s twice", in.CustomID)
		seen[in.CustomID] = true
		assert.Equal(t, "POST", in.Method)
		assert.Equal(t, "/v1/chat/completions", in.URL)
		assert.Equal(t, ragvsft.DefaultBaseModel, in.Body.Model)
		assert.Equal(t, int64(42), in.Body.Seed)
		assert.Equal(t, 50, in.Body.MaxCompletionTokens)
		assert.Contains(t, string(l["body"]), `"temperature":0`)
		require.Len(t, in.Body.Messages, 1)
		assert.Equal(t, "user", in.Body.Messages[0].Role)
		assert.True(t, asked[in.Body.Messages[0].Content], in.Body.Messages[0].Content)
	}
}

func TestBatchModelExperiment(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	cfg := wireConfig(s)
	bm, err := ragvsft.NewBatchModel(cfg, ragvsft.DefaultBaseModel, fastBatches(filepath.Join(t.TempDir(), "batches.json")))
	require.NoError(t, err)
	sync, err := ragvsft.NewOpenAIModel(cfg, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	run := func(m ragvsft.Model) *ragvsft.Report {
		exp := &ragvsft.Experiment{Dataset: citiesData(t, 40), Base: m, BaseModel: ragvsft.DefaultBaseModel, Arms: []ragvsft.Arm{ragvsft.ArmBase}}
		rep, err := exp.Run(context.Background())
		require.NoError(t, err)
		require.True(t, rep.Complete)
		rep.ApplyPrices(nil)
		return rep
	}
	batch, want := run(bm), run(sync)
	assert.Equal(t, 1, s.Stats().BatchesCreated, "Concurrency 0 puts every item in one batch")
	require.Len(t, batch.Results, 40)
	require.Len(t, want.Results, 40)
	for i, r := range batch.Results {
		w := want.Results[i]
		assert.Equal(t, w.QuestionID, r.QuestionID)
		assert.Equal(t, w.Answer, r.Answer, r.QuestionID)
		assert.Equal(t, w.Outcome, r.Outcome, r.QuestionID)
		assert.Equal(t, w.Usage, r.Usage, r.QuestionID)
		assert.True(t, r.Batch)
		assert.False(t, w.Batch)
		assert.Positive(t, r.CostUSD)
		assert.InDelta(t, w.CostUSD/2, r.CostUSD, 1e-12, "the Batch API bills half")
	}
	bs, _ := batch.Arm(ragvsft.ArmBase)
	ws, _ := want.Arm(ragvsft.ArmBase)
	assert.Equal(t, ws.Correct, bs.Correct)
	assert.InDelta(t, ws.CostUSD/2, bs.CostUSD, 1e-12)
}

func TestBatchModelEnds(t *testing.T) {
	tests := []struct {
		name     string
		faults   ragvsfttest.Faults
		sentinel error
		answered int
		detail   string
	}{
		{"expired", ragvsfttest.Faults{ExpireBatches: 1}, ragvsft.ErrBatchExpired, 3, ""},
		{"cancelled", ragvsfttest.Faults{CancelBatches: 1}, ragvsft.ErrBatchCancelled, 3, ""},
		{"failed", ragvsfttest.Faults{FailBatches: 1}, ragvsft.ErrBatchFailed, 0, "token_limit_exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, ragvsfttest.ServerConfig{Faults: tt.faults})
			bm, err := ragvsft.NewBatchModel(wireConfig(s), ragvsft.DefaultBaseModel, fastBatches(filepath.Join(t.TempDir(), "batches.json")))
			require.NoError(t, err)
			reqs := questions(6)
			resps, errs := chatAll(context.Background(), bm, reqs)
			c := rawClient(s)
			list, err := c.Batches.List(context.Background(), openai.BatchListParams{})
			require.NoError(t, err)
			require.Len(t, list.Data, 1)
			id := list.Data[0].ID
			var unanswered []ragvsft.ChatRequest
			for i, err := range errs {
				if err == nil {
					assert.NotEmpty(t, resps[i].Content)
					continue
				}
				assert.ErrorIs(t, err, tt.sentinel)
				assert.Contains(t, err.Error(), id, "the error names the batch")
				assert.Contains(t, err.Error(), tt.detail)
				unanswered = append(unanswered, reqs[i])
			}
			assert.Len(t, unanswered, 6-tt.answered, "the answers given before the end are kept")

			// Asked again, the unanswered go in a new batch; the answered
			// are not paid again.
			_, errs = chatAll(context.Background(), bm, reqs)
			for _, err := range errs {
				assert.NoError(t, err)
			}
			assert.Equal(t, 2, s.Stats().BatchesCreated)
			assert.Equal(t, 6, s.Stats().BatchRequests)
		})
	}
}

func TestBatchModelResume(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{BatchInProgressDelay: 300 * time.Millisecond})
	cfg := wireConfig(s)
	record := filepath.Join(t.TempDir(), "batches.json")
	reqs := questions(10)

	// The first process creates the batch and "dies" as soon as it is
	// recorded.
	first, err := ragvsft.NewBatchModel(cfg, ragvsft.DefaultBaseModel, fastBatches(record))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var errs []error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, errs = chatAll(ctx, first, reqs)
	}()
	var batchID string
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(record)
		if err != nil {
			return false
		}
		var rec struct {
			Batches []struct {
				BatchID   string   `json:"batch_id"`
				CustomIDs []string `json:"custom_ids"`
			} `json:"batches"`
		}
		if json.Unmarshal(b, &rec) != nil || len(rec.Batches) == 0 || rec.Batches[0].BatchID == "" {
			return false
		}
		assert.Len(t, rec.Batches[0].CustomIDs, 10)
		batchID = rec.Batches[0].BatchID
		return true
	}, 10*time.Second, time.Millisecond)
	cancel()
	<-done
	for _, err := range errs {
		require.ErrorIs(t, err, context.Canceled)
		assert.Contains(t, err.Error(), batchID)
	}
	raw := rawClient(s)
	b, err := raw.Batches.Get(context.Background(), batchID)
	require.NoError(t, err)
	assert.NotEqual(t, openai.BatchStatusCompleted, b.Status, "the crash came before the batch ended")

	// The next process finds the batch and pays nothing more.
	second, err := ragvsft.NewBatchModel(cfg, ragvsft.DefaultBaseModel, fastBatches(record))
	require.NoError(t, err)
	resps, errs := chatAll(context.Background(), second, reqs)
	sync, err := ragvsft.NewOpenAIModel(cfg, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	for i, err := range errs {
		require.NoError(t, err)
		want, err := sync.Chat(context.Background(), reqs[i])
		require.NoError(t, err)
		assert.Equal(t, want.Content, resps[i].Content)
	}
	st := s.Stats()
	assert.Equal(t, 1, st.BatchesCreated, "no second batch")
	assert.Equal(t, 1, st.FilesUploaded, "no second upload")

	// A third finds the answers of the ended batch in its files.
	third, err := ragvsft.NewBatchModel(cfg, ragvsft.DefaultBaseModel, fastBatches(record))
	require.NoError(t, err)
	resps2, errs := chatAll(context.Background(), third, reqs)
	for i, err := range errs {
		require.NoError(t, err)
		assert.Equal(t, resps[i], resps2[i])
	}
	assert.Equal(t, 1, s.Stats().BatchesCreated)
}

func TestBatchModelCreateResponseLost(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	// The batch is created, its response lost: a blind retry would pay
	// for the requests twice.
	s.InjectFault("batches", 1, ragvsfttest.Fault{Status: 500, AfterHandling: true})
	bm, err := ragvsft.NewBatchModel(wireConfig(s), ragvsft.DefaultBaseModel, fastBatches(""))
	require.NoError(t, err)
	_, errs := chatAll(context.Background(), bm, questions(5))
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, s.Stats().BatchesCreated)
	assert.Equal(t, 5, s.Stats().BatchRequests)
}

func TestBatchModelRequestError(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	bm, err := ragvsft.NewBatchModel(wireConfig(s), ragvsft.DefaultBaseModel, fastBatches(""))
	require.NoError(t, err)
	reqs := questions(5)
	reqs[2].Temperature = 3 // refused by the chat route: 400 on its line
	resps, errs := chatAll(context.Background(), bm, reqs)
	for i, err := range errs {
		if i == 2 {
			require.Error(t, err)
			assert.Contains(t, err.Error(), "400")
			assert.Contains(t, err.Error(), "[param temperature]")
			assert.False(t, errors.Is(err, ragvsft.ErrBatchFailed))
			continue
		}
		require.NoError(t, err, "call %d", i)
		assert.NotEmpty(t, resps[i].Content)
	}
	assert.Equal(t, 1, s.Stats().BatchesCreated)

	// Asked again, the refused request gets the same answer without a new
	// batch: the refusal is the request's, not the batch's.
	_, err = bm.Chat(context.Background(), reqs[2])
	require.Error(t, err)
	assert.Equal(t, 1, s.Stats().BatchesCreated)
}

func TestBatchModelUnknownModel(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	bm, err := ragvsft.NewBatchModel(wireConfig(s), "no-such-model", fastBatches(""))
	require.NoError(t, err)
	_, err = bm.Chat(context.Background(), question(1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404")
	assert.Contains(t, err.Error(), "model_not_found")
}

func TestBatchCost(t *testing.T) {
	p := ragvsft.Price{Input: 2, CachedInput: 0.5, Output: 8, BatchInput: 1, BatchOutput: 4}
	u := ragvsft.Usage{PromptTokens: 1_000_000, CachedPromptTokens: 500_000, CompletionTokens: 1_000_000}
	assert.InDelta(t, 5.0, p.BatchCost(u), 1e-9, "prompt at BatchInput, cached tokens too; output at BatchOutput")
	p.BatchInput, p.BatchOutput = 0, 0
	assert.InDelta(t, p.ChatCost(u), p.BatchCost(u), 1e-9, "no batch price: the synchronous one")
	info, ok := ragvsft.DefaultCatalog().Lookup(ragvsft.DefaultBaseModel)
	require.True(t, ok)
	assert.InDelta(t, info.Price.Input/2, info.Price.BatchInput, 1e-12)
	assert.InDelta(t, info.Price.Output/2, info.Price.BatchOutput, 1e-12)
}

// A request that fails inside the batch is that item's error; the run goes
// on, and a retry of the errors puts the failed request in a new batch.
func TestBatchModelExperimentItemError(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	bm, err := ragvsft.NewBatchModel(wireConfig(s), ragvsft.DefaultBaseModel, fastBatches(filepath.Join(t.TempDir(), "batches.json")))
	require.NoError(t, err)
	s.InjectFault("chat/completions", 1, ragvsfttest.Fault{Status: 500})
	exp := &ragvsft.Experiment{Dataset: citiesData(t, 10), Base: bm, BaseModel: ragvsft.DefaultBaseModel, Arms: []ragvsft.Arm{ragvsft.ArmBase}}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Complete)
	var failed []ragvsft.Result
	for _, r := range rep.Results {
		if r.Error != "" {
			failed = append(failed, r)
		}
	}
	require.Len(t, failed, 1)
	assert.Equal(t, ragvsft.OutcomeError, failed[0].Outcome)
	assert.Contains(t, failed[0].Error, "500")
	sum, _ := rep.Arm(ragvsft.ArmBase)
	assert.Equal(t, 9, sum.Answered)
	assert.Equal(t, 1, sum.Errors)

	exp.Results = resumeFrom(rep.Results, true, nil)
	rep, err = exp.Run(context.Background())
	require.NoError(t, err)
	sum, _ = rep.Arm(ragvsft.ArmBase)
	assert.Equal(t, 10, sum.Answered)
	assert.Equal(t, 2, s.Stats().BatchesCreated, "only the failed request asked again")
	assert.Equal(t, 10, s.Stats().BatchRequests)
}

// A record whose ended batch the server does not know (another account,
// another server) is no answer: the requests go in a new batch.
func TestBatchModelRecordOfAnotherServer(t *testing.T) {
	record := filepath.Join(t.TempDir(), "batches.json")
	reqs := questions(3)
	old := newServer(t, ragvsfttest.ServerConfig{})
	bm, err := ragvsft.NewBatchModel(wireConfig(old), ragvsft.DefaultBaseModel, fastBatches(record))
	require.NoError(t, err)
	_, errs := chatAll(context.Background(), bm, reqs)
	for _, err := range errs {
		require.NoError(t, err)
	}

	s := newServer(t, ragvsfttest.ServerConfig{})
	bm, err = ragvsft.NewBatchModel(wireConfig(s), ragvsft.DefaultBaseModel, fastBatches(record))
	require.NoError(t, err)
	_, errs = chatAll(context.Background(), bm, reqs)
	for _, err := range errs {
		require.NoError(t, err, "the recorded batch had ended: its requests are asked again")
	}
	assert.Equal(t, 1, s.Stats().BatchesCreated)
}

// With Batch, an OpenAIEmbedder's requests go in one batch on
// /v1/embeddings, its vectors are the synchronous ones, its tokens billed at
// the batch price; an embedder made after a crash with the same Record
// finds the batch instead of submitting it again.
func TestOpenAIEmbedderThroughTheBatchAPI(t *testing.T) {
	s := newServer(t, ragvsfttest.ServerConfig{})
	cfg := wireConfig(s)
	texts := make([]string, 250)
	for i := range texts {
		texts[i] = fmt.Sprintf("City_%d has a population of %d.", i, 1000+37*i)
	}
	direct, err := ragvsft.NewOpenAIEmbedder(cfg, "")
	require.NoError(t, err)
	want, err := direct.EmbedBatch(context.Background(), texts)
	require.NoError(t, err)
	before := s.Stats()

	record := filepath.Join(t.TempDir(), "embedding-batches.json")
	batched, err := ragvsft.NewOpenAIEmbedder(cfg, "")
	require.NoError(t, err)
	batched.BatchSize = 100
	opts := fastBatches(record)
	batched.Batch = &opts
	got, err := batched.EmbedBatch(context.Background(), texts)
	require.NoError(t, err)
	assert.Equal(t, want, got, "the same vectors, in order")
	st := s.Stats()
	assert.Equal(t, 1, st.BatchesCreated-before.BatchesCreated, "three requests, one batch")
	assert.Equal(t, 3, st.BatchRequests-before.BatchRequests)
	u := batched.Usage()
	assert.Equal(t, 3, u.Requests)
	assert.Equal(t, 250, u.Texts)
	assert.Positive(t, u.PromptTokens)
	assert.Equal(t, u.PromptTokens, u.BatchPromptTokens)
	b, err := os.ReadFile(record)
	require.NoError(t, err)
	assert.Contains(t, string(b), "batch_id")

	rep := &ragvsft.Report{Embedding: &ragvsft.EmbeddingSummary{Model: ragvsft.DefaultOpenAIEmbeddingModel, Usage: u}}
	rep.ApplyPrices(ragvsft.DefaultCatalog())
	p, ok := ragvsft.DefaultCatalog().ChatPrice(ragvsft.DefaultOpenAIEmbeddingModel)
	require.True(t, ok)
	require.Positive(t, p.BatchInput)
	assert.InDelta(t, float64(u.PromptTokens)*p.BatchInput/1e6, rep.Embedding.CostUSD, 1e-12, "billed at the batch price")
	assert.Less(t, p.BatchInput, p.Input)

	// A restarted process: the recorded batch answers, nothing is submitted.
	again, err := ragvsft.NewOpenAIEmbedder(cfg, "")
	require.NoError(t, err)
	again.BatchSize = 100
	again.Batch = &opts
	got, err = again.EmbedBatch(context.Background(), texts)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, st.BatchesCreated, s.Stats().BatchesCreated, "no second batch")
	assert.Equal(t, st.FilesUploaded, s.Stats().FilesUploaded, "no second upload")
}
