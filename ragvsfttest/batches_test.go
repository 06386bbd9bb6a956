package ragvsfttest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchLine is one request line of an input file.
func batchLine(customID, url, body string) string {
	return fmt.Sprintf(`{"custom_id":%q,"method":"POST","url":%q,"body":%s}`, customID, url, body) + "\n"
}

func chatBody(model, question string, extra string) string {
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}],"temperature":0,"seed":42%s}`, model, question, extra)
}

// uploadBatch uploads an input file with purpose batch.
func uploadBatch(t *testing.T, c *openai.Client, content string) string {
	t.Helper()
	f, err := c.Files.New(context.Background(), openai.FileNewParams{
		File:    openai.File(strings.NewReader(content), "batch.jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeBatch,
	})
	require.NoError(t, err)
	return f.ID
}

func newBatch(t *testing.T, c *openai.Client, fileID string, endpoint openai.BatchNewParamsEndpoint) *openai.Batch {
	t.Helper()
	b, err := c.Batches.New(context.Background(), openai.BatchNewParams{
		InputFileID: fileID, Endpoint: endpoint, CompletionWindow: openai.BatchNewParamsCompletionWindow24h,
		Metadata: map[string]string{"run": "test"},
	})
	require.NoError(t, err)
	return b
}

// waitBatch polls a batch until it ends and returns it with every status
// seen, in order.
func waitBatch(t *testing.T, c *openai.Client, id string) (*openai.Batch, []openai.BatchStatus) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var seen []openai.BatchStatus
	for {
		b, err := c.Batches.Get(context.Background(), id)
		require.NoError(t, err)
		if len(seen) == 0 || seen[len(seen)-1] != b.Status {
			seen = append(seen, b.Status)
		}
		switch b.Status {
		case openai.BatchStatusCompleted, openai.BatchStatusFailed, openai.BatchStatusExpired, openai.BatchStatusCancelled:
			return b, seen
		}
		require.True(t, time.Now().Before(deadline), "batch %s still %s", id, b.Status)
		time.Sleep(2 * time.Millisecond)
	}
}

// outputLine is a line of an output or error file, as the spec has it.
type outputLine struct {
	ID       string `json:"id"`
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		RequestID  string          `json:"request_id"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// readOutput downloads a batch's output or error file, by custom_id; an
// empty id is no file.
func readOutput(t *testing.T, c *openai.Client, fileID string) map[string]outputLine {
	t.Helper()
	out := map[string]outputLine{}
	if fileID == "" {
		return out
	}
	res, err := c.Files.Content(context.Background(), fileID)
	require.NoError(t, err)
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		var l outputLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "line %s", sc.Text())
		// Every key of the spec's BatchRequestOutput is present.
		var keys map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &keys))
		for _, k := range []string{"id", "custom_id", "response", "error"} {
			assert.Contains(t, keys, k)
		}
		assert.True(t, strings.HasPrefix(l.ID, "batch_req_"), l.ID)
		out[l.CustomID] = l
	}
	require.NoError(t, sc.Err())
	return out
}

func TestBatchCompletes(t *testing.T) {
	s := newServer(t, ServerConfig{BatchStepDelay: 100 * time.Millisecond, BatchInProgressDelay: 100 * time.Millisecond})
	c := newClient(s)
	ctx := context.Background()
	const model = "gpt-4.1-mini-2025-04-14"
	input := batchLine("a", "/v1/chat/completions", chatBody(model, "What is the population of Paris?", "")) +
		batchLine("b", "/v1/chat/completions", chatBody(model, "What is the capital of France?", `,"max_completion_tokens":50`)) +
		batchLine("bad", "/v1/chat/completions", chatBody(model, "Too hot", `,"temperature":3`))
	b := newBatch(t, c, uploadBatch(t, c, input), openai.BatchNewParamsEndpointV1ChatCompletions)
	assert.Equal(t, openai.BatchStatusValidating, b.Status)
	assert.Equal(t, "24h", b.CompletionWindow)
	assert.Equal(t, "test", b.Metadata["run"])
	assert.NotZero(t, b.ExpiresAt)

	b, seen := waitBatch(t, c, b.ID)
	assert.Equal(t, []openai.BatchStatus{openai.BatchStatusValidating, openai.BatchStatusInProgress, openai.BatchStatusFinalizing, openai.BatchStatusCompleted}, seen)
	assert.Equal(t, model, b.Model)
	assert.Equal(t, openai.BatchRequestCounts{Total: 3, Completed: 2, Failed: 1}, openai.BatchRequestCounts{Total: b.RequestCounts.Total, Completed: b.RequestCounts.Completed, Failed: b.RequestCounts.Failed})
	assert.NotZero(t, b.InProgressAt)
	assert.NotZero(t, b.FinalizingAt)
	assert.NotZero(t, b.CompletedAt)
	assert.Positive(t, b.Usage.InputTokens)
	assert.Equal(t, b.Usage.InputTokens+b.Usage.OutputTokens, b.Usage.TotalTokens)

	out := readOutput(t, c, b.OutputFileID)
	require.Len(t, out, 2)
	for _, id := range []string{"a", "b"} {
		l := out[id]
		require.NotNil(t, l.Response, id)
		assert.Nil(t, l.Error)
		assert.Equal(t, http.StatusOK, l.Response.StatusCode)
		assert.True(t, strings.HasPrefix(l.Response.RequestID, "req_"))
		var got openai.ChatCompletion
		require.NoError(t, json.Unmarshal(l.Response.Body, &got))
		assert.Equal(t, model, got.Model)
		assert.Equal(t, fingerprint(model), got.SystemFingerprint)
		require.Len(t, got.Choices, 1)
		assert.NotEmpty(t, got.Choices[0].Message.Content)
		assert.Positive(t, got.Usage.PromptTokens)
	}
	// A batch answer is the synchronous route's answer.
	sync, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the population of Paris?")},
		Temperature: openai.Float(0), Seed: openai.Int(42),
	})
	require.NoError(t, err)
	var a openai.ChatCompletion
	require.NoError(t, json.Unmarshal(out["a"].Response.Body, &a))
	assert.Equal(t, sync.Choices[0].Message.Content, a.Choices[0].Message.Content)

	errs := readOutput(t, c, b.ErrorFileID)
	require.Len(t, errs, 1)
	bad := errs["bad"]
	require.NotNil(t, bad.Response, "a request refused by the endpoint has a response, with its status")
	assert.Nil(t, bad.Error)
	assert.Equal(t, http.StatusBadRequest, bad.Response.StatusCode)
	var body struct {
		Error apiError `json:"error"`
	}
	require.NoError(t, json.Unmarshal(bad.Response.Body, &body))
	require.NotNil(t, body.Error.Param)
	assert.Equal(t, "temperature", *body.Error.Param)

	st := s.Stats()
	assert.Equal(t, 1, st.BatchesCreated)
	assert.Equal(t, 2, st.BatchRequests)
	assert.Equal(t, 1, st.Requests["POST /v1/batches"])
}

func TestBatchUnknownModel(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	b := newBatch(t, c, uploadBatch(t, c, batchLine("x", "/v1/chat/completions", chatBody("no-such-model", "Hi", ""))), openai.BatchNewParamsEndpointV1ChatCompletions)
	b, _ = waitBatch(t, c, b.ID)
	assert.Equal(t, openai.BatchStatusCompleted, b.Status)
	assert.Empty(t, b.OutputFileID, "no request succeeded: no output file")
	errs := readOutput(t, c, b.ErrorFileID)
	require.NotNil(t, errs["x"].Response)
	assert.Equal(t, http.StatusNotFound, errs["x"].Response.StatusCode)
	assert.Contains(t, string(errs["x"].Response.Body), "model_not_found")
}

func TestBatchEmbeddings(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	input := batchLine("e1", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"Paris"}`) +
		batchLine("e2", "/v1/embeddings", `{"model":"text-embedding-3-small","input":["Lyon","Nice"],"dimensions":8}`)
	b := newBatch(t, c, uploadBatch(t, c, input), openai.BatchNewParamsEndpointV1Embeddings)
	b, _ = waitBatch(t, c, b.ID)
	require.Equal(t, openai.BatchStatusCompleted, b.Status)
	out := readOutput(t, c, b.OutputFileID)
	var e openai.CreateEmbeddingResponse
	require.NoError(t, json.Unmarshal(out["e2"].Response.Body, &e))
	require.Len(t, e.Data, 2)
	assert.Len(t, e.Data[1].Embedding, 8)
	require.NoError(t, json.Unmarshal(out["e1"].Response.Body, &e))
	assert.Len(t, e.Data[0].Embedding, 1536)
	assert.Equal(t, 2, s.Stats().Embeddings, "each request is counted by the route that answered it")
}

func TestBatchInvalidInputFails(t *testing.T) {
	const url = "/v1/chat/completions"
	good := chatBody("gpt-4.1-mini", "Hi", "")
	tests := []struct {
		name  string
		input string
		code  string
		param string
		line  int64
	}{
		{"not JSON", batchLine("a", url, good) + "{not json\n", "invalid_json_line", "", 2},
		{"no custom_id", `{"method":"POST","url":"/v1/chat/completions","body":` + good + "}\n", "missing_required_parameter", "custom_id", 1},
		{"duplicate custom_id", batchLine("a", url, good) + batchLine("a", url, good), "duplicate_custom_id", "custom_id", 2},
		{"method GET", `{"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":` + good + "}\n", "invalid_method", "method", 1},
		{"url not the endpoint", batchLine("a", "/v1/embeddings", good), "mismatched_endpoint", "url", 1},
		{"no body", `{"custom_id":"a","method":"POST","url":"/v1/chat/completions"}` + "\n", "missing_required_parameter", "body", 1},
		{"no model", batchLine("a", url, `{"messages":[]}`), "missing_required_parameter", "body.model", 1},
		{"two models", batchLine("a", url, good) + batchLine("b", url, chatBody("gpt-4o-mini", "Hi", "")), "mismatched_model", "body.model", 2},
		{"empty", "\n", "empty_file", "", 0},
	}
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBatch(t, c, uploadBatch(t, c, tt.input), openai.BatchNewParamsEndpointV1ChatCompletions)
			b, seen := waitBatch(t, c, b.ID)
			assert.Subset(t, []openai.BatchStatus{openai.BatchStatusValidating, openai.BatchStatusFailed}, seen, "never in_progress")
			assert.NotZero(t, b.FailedAt)
			assert.Empty(t, b.OutputFileID)
			require.NotEmpty(t, b.Errors.Data)
			e := b.Errors.Data[0]
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.param, e.Param)
			assert.Equal(t, tt.line, e.Line)
			assert.NotEmpty(t, e.Message)
			if tt.line == 0 {
				assert.Contains(t, b.Errors.RawJSON(), `"line":null`)
			}
		})
	}
	assert.Zero(t, s.Stats().ChatCompletions, "an invalid file runs none of its requests")
}

func TestBatchCreateRefused(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()
	input := uploadBatch(t, c, batchLine("a", "/v1/chat/completions", chatBody("gpt-4.1-mini", "Hi", "")))
	ft := upload(t, c, "train.jsonl", trainingJSONL(10))
	tests := []struct {
		name   string
		params openai.BatchNewParams
		status int
		param  string
	}{
		{"unknown file", openai.BatchNewParams{InputFileID: "file-missing", Endpoint: "/v1/chat/completions", CompletionWindow: "24h"}, 404, "input_file_id"},
		{"file for fine-tuning", openai.BatchNewParams{InputFileID: ft.ID, Endpoint: "/v1/chat/completions", CompletionWindow: "24h"}, 400, "input_file_id"},
		{"endpoint not served", openai.BatchNewParams{InputFileID: input, Endpoint: "/v1/responses", CompletionWindow: "24h"}, 400, "endpoint"},
		{"window not 24h", openai.BatchNewParams{InputFileID: input, Endpoint: "/v1/chat/completions", CompletionWindow: "1h"}, 400, "completion_window"},
		{"no window", openai.BatchNewParams{InputFileID: input, Endpoint: "/v1/chat/completions"}, 400, "completion_window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Batches.New(ctx, tt.params)
			e := asAPIError(t, err)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.param, e.Param)
		})
	}
	_, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("{}"), "batch.txt", "text/plain"), Purpose: openai.FilePurposeBatch})
	assert.Equal(t, 400, asAPIError(t, err).StatusCode, "a batch file must be .jsonl")
	assert.Zero(t, s.Stats().BatchesCreated)
}

func TestBatchCancel(t *testing.T) {
	s := newServer(t, ServerConfig{BatchInProgressDelay: time.Minute})
	c := newClient(s)
	ctx := context.Background()
	input := batchLine("a", "/v1/chat/completions", chatBody("gpt-4.1-mini", "What is the population of Paris?", ""))
	b := newBatch(t, c, uploadBatch(t, c, input), openai.BatchNewParamsEndpointV1ChatCompletions)
	for b.Status != openai.BatchStatusInProgress || b.RequestCounts.Completed == 0 {
		var err error
		b, err = c.Batches.Get(ctx, b.ID)
		require.NoError(t, err)
		time.Sleep(2 * time.Millisecond)
	}
	got, err := c.Batches.Cancel(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.BatchStatusCancelling, got.Status)
	assert.NotZero(t, got.CancellingAt)
	b, seen := waitBatch(t, c, b.ID)
	assert.Subset(t, []openai.BatchStatus{openai.BatchStatusCancelling, openai.BatchStatusCancelled}, seen, "never in_progress again")
	assert.Equal(t, openai.BatchStatusCancelled, b.Status)
	assert.NotZero(t, b.CancelledAt)
	assert.Len(t, readOutput(t, c, b.OutputFileID), 1, "what was answered before the cancel is kept")
	assert.Equal(t, 1, s.Stats().BatchesCancelled)

	_, err = c.Batches.Cancel(ctx, b.ID)
	assert.Equal(t, 400, asAPIError(t, err).StatusCode, "a cancelled batch cannot be cancelled again")
	_, err = c.Batches.Cancel(ctx, "batch_missing")
	assert.Equal(t, 404, asAPIError(t, err).StatusCode)
}

func TestBatchInjectedEnds(t *testing.T) {
	input := ""
	for i := range 4 {
		input += batchLine(fmt.Sprint("q", i), "/v1/chat/completions", chatBody("gpt-4.1-mini", fmt.Sprint("What is the population of Town", i, "?"), ""))
	}
	tests := []struct {
		name     string
		faults   Faults
		status   openai.BatchStatus
		answered int
		expired  int
	}{
		{"expired", Faults{ExpireBatches: 1}, openai.BatchStatusExpired, 2, 2},
		{"cancelled", Faults{CancelBatches: 1}, openai.BatchStatusCancelled, 2, 0},
		{"failed", Faults{FailBatches: 1}, openai.BatchStatusFailed, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, ServerConfig{Faults: tt.faults})
			c := newClient(s)
			b := newBatch(t, c, uploadBatch(t, c, input), openai.BatchNewParamsEndpointV1ChatCompletions)
			b, _ = waitBatch(t, c, b.ID)
			assert.Equal(t, tt.status, b.Status)
			assert.Len(t, readOutput(t, c, b.OutputFileID), tt.answered)
			errs := readOutput(t, c, b.ErrorFileID)
			assert.Len(t, errs, tt.expired)
			for _, l := range errs {
				assert.Nil(t, l.Response)
				require.NotNil(t, l.Error)
				assert.Equal(t, "batch_expired", l.Error.Code)
			}
			if tt.status == openai.BatchStatusFailed {
				require.Len(t, b.Errors.Data, 1)
				assert.Equal(t, "token_limit_exceeded", b.Errors.Data[0].Code)
			}
			// The next batch is not faulted.
			b = newBatch(t, c, uploadBatch(t, c, input), openai.BatchNewParamsEndpointV1ChatCompletions)
			b, _ = waitBatch(t, c, b.ID)
			assert.Equal(t, openai.BatchStatusCompleted, b.Status)
		})
	}
}

func TestBatchList(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()
	input := uploadBatch(t, c, batchLine("a", "/v1/chat/completions", chatBody("gpt-4.1-mini", "Hi", "")))
	var ids []string
	for range 5 {
		ids = append(ids, newBatch(t, c, input, openai.BatchNewParamsEndpointV1ChatCompletions).ID)
	}
	var listed []string
	iter := c.Batches.ListAutoPaging(ctx, openai.BatchListParams{Limit: openai.Int(2)})
	for iter.Next() {
		listed = append(listed, iter.Current().ID)
	}
	require.NoError(t, iter.Err())
	assert.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, listed, "newest first, across pages")
	assert.Equal(t, 3, s.Stats().Requests["GET /v1/batches"])

	page, err := c.Batches.List(ctx, openai.BatchListParams{After: openai.String(ids[1])})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.Equal(t, ids[0], page.Data[0].ID)
	_, err = c.Batches.List(ctx, openai.BatchListParams{Limit: openai.Int(101)})
	assert.Equal(t, 400, asAPIError(t, err).StatusCode)

	res, err := http.Get(s.URL + "/batches")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

func TestBatchRequestFault(t *testing.T) {
	input := ""
	for i := range 3 {
		input += batchLine(fmt.Sprint("q", i), "/v1/chat/completions", chatBody("gpt-4.1-mini", fmt.Sprint("What is the population of Town", i, "?"), ""))
	}
	tests := []struct {
		name  string
		fault Fault
	}{
		{"status", Fault{Status: http.StatusServiceUnavailable}},
		{"dropped", Fault{Drop: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, ServerConfig{})
			c := newClient(s)
			fileID := uploadBatch(t, c, input)
			s.InjectFault("chat/completions", 1, tt.fault)
			b := newBatch(t, c, fileID, openai.BatchNewParamsEndpointV1ChatCompletions)
			b, _ = waitBatch(t, c, b.ID)
			assert.Equal(t, openai.BatchStatusCompleted, b.Status)
			assert.Equal(t, int64(2), b.RequestCounts.Completed)
			assert.Equal(t, int64(1), b.RequestCounts.Failed)
			assert.Len(t, readOutput(t, c, b.OutputFileID), 2)
			errs := readOutput(t, c, b.ErrorFileID)
			require.Len(t, errs, 1)
			l := errs["q0"]
			if tt.fault.Drop {
				assert.Nil(t, l.Response)
				require.NotNil(t, l.Error)
				assert.Equal(t, "server_error", l.Error.Code)
				return
			}
			require.NotNil(t, l.Response)
			assert.Equal(t, http.StatusServiceUnavailable, l.Response.StatusCode)
			assert.Contains(t, string(l.Response.Body), "server_error")
		})
	}
}
