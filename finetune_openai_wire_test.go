package ragvsft_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// Tests in this file run openai-go against ragvsfttest's server: real HTTP,
// OpenAI's wire format, the embedded local model behind it.

const wireKey = "test-key-for-the-wire"

// wireDay is the day the wire tests run on, server and client alike, so
// that the catalog's shutdown dates do not change what they test.
var wireDay = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func onWireDay() time.Time { return wireDay }

func newServer(t *testing.T, cfg ragvsfttest.ServerConfig) *ragvsfttest.OpenAIServer {
	t.Helper()
	if cfg.JobStepDelay == 0 {
		cfg.JobStepDelay = 5 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = onWireDay
	}
	s := ragvsfttest.NewOpenAIServer(cfg)
	t.Cleanup(s.Close)
	return s
}

func wireConfig(s *ragvsfttest.OpenAIServer) ragvsft.OpenAIConfig {
	return ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: s.URL, Now: onWireDay}
}

// rawClient reads the server's state the way a user would, for assertions.
func rawClient(s *ragvsfttest.OpenAIServer) openai.Client {
	return openai.NewClient(option.WithBaseURL(s.URL), option.WithAPIKey(wireKey))
}

func citiesData(t *testing.T, n int) *ragvsft.JSONLDataset {
	t.Helper()
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(n, 42)), "cities.jsonl")
	require.NoError(t, err)
	return ds
}

// eventLog collects what a FineTuner delivers; safe for concurrent use.
type eventLog struct {
	mu     sync.Mutex
	events []ragvsft.FineTuneEvent
}

func (l *eventLog) add(e ragvsft.FineTuneEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.events))
	for i, e := range l.events {
		out[i] = e.ID
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newTuner(s *ragvsfttest.OpenAIServer, dir string, log *eventLog, out *syncBuffer) *ragvsft.OpenAIFineTuner {
	f := &ragvsft.OpenAIFineTuner{
		Config:          wireConfig(s),
		RunDir:          dir,
		PollInterval:    2 * time.Millisecond,
		MaxPollInterval: 20 * time.Millisecond,
	}
	if log != nil {
		f.OnEvent = log.add
	}
	if out != nil {
		f.Out = out
	}
	return f
}

// allEvents lists a job's events oldest first, straight from the server.
func allEvents(t *testing.T, s *ragvsfttest.OpenAIServer, jobID string) []string {
	t.Helper()
	c := rawClient(s)
	var ids []string
	iter := c.FineTuning.Jobs.ListEventsAutoPaging(context.Background(), jobID, openai.FineTuningJobListEventsParams{Limit: openai.Int(3)})
	for iter.Next() {
		ids = append(ids, iter.Current().ID)
	}
	require.NoError(t, iter.Err())
	slices.Reverse(ids)
	return ids
}

func jobStatus(t *testing.T, s *ragvsfttest.OpenAIServer, jobID string) openai.FineTuningJobStatus {
	t.Helper()
	c := rawClient(s)
	job, err := c.FineTuning.Jobs.Get(context.Background(), jobID)
	require.NoError(t, err)
	return job.Status
}

func TestOpenAIFineTunerEndToEnd(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{APIKey: wireKey})
	dir := t.TempDir()
	var log eventLog
	var out syncBuffer
	f := newTuner(s, dir, &log, &out)
	req := ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: citiesData(t, 20), Suffix: "cities", Seed: 42}

	est, err := f.Estimate(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, 20, est.Examples)
	assert.Equal(t, 5, est.Hyperparameters.Epochs, "auto epochs for 20 examples: 100/20")
	assert.Equal(t, est.TrainingTokens*5, est.BilledTokens)
	assert.Empty(t, s.Stats().Requests, "an estimate sends nothing")

	ft, err := f.FineTune(context.Background(), req)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(ft.ModelID, "ft:gpt-4.1-mini-2025-04-14:"), ft.ModelID)
	assert.Contains(t, ft.ModelID, ":cities:")
	assert.NotEmpty(t, ft.JobID)
	assert.Positive(t, ft.TrainedTokens)
	assert.Equal(t, 5, ft.Hyperparameters.Epochs)
	assert.Positive(t, ft.Hyperparameters.BatchSize)
	assert.Positive(t, ft.Hyperparameters.LearningRateMultiplier)

	st := s.Stats()
	assert.Equal(t, 1, st.FilesUploaded)
	assert.Equal(t, 1, st.JobsCreated)

	// Every event once, oldest first, as the server holds them.
	assert.Equal(t, allEvents(t, s, ft.JobID), log.ids())
	var metrics int
	for i, e := range log.events {
		assert.Equal(t, ft.JobID, e.JobID)
		if i > 0 {
			assert.False(t, e.CreatedAt.Before(log.events[i-1].CreatedAt), "chronological")
		}
		if e.Type == "metrics" {
			metrics++
			assert.Contains(t, e.Data, "train_loss")
		}
	}
	assert.Equal(t, 5, metrics, "one metrics event per epoch")
	for _, e := range log.events {
		assert.Equal(t, 1, strings.Count(out.String(), e.Message), "progress line for %q once", e.Message)
	}

	// The fine-tuned model answers over the wire, as itself.
	res, err := ft.Model.Chat(context.Background(), ragvsft.ChatRequest{
		Messages:  []ragvsft.Message{{Role: ragvsft.RoleUser, Content: "What is the population of City_1?"}},
		Seed:      42,
		MaxTokens: 50,
	})
	require.NoError(t, err)
	assert.NotEmpty(t, res.Content)
	assert.Equal(t, ft.ModelID, res.Model)
	assert.Positive(t, res.Usage.PromptTokens)
	assert.Positive(t, res.Usage.CompletionTokens)

	// The record holds the job.
	b, err := os.ReadFile(filepath.Join(dir, "finetune-"+recordKey(t, dir)+".json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), ft.JobID)
	assert.Contains(t, string(b), ft.ModelID)
	assert.NotContains(t, string(b), wireKey)

	// A rerun reuses the model from the record without a request.
	before := s.Stats()
	again, err := newTuner(s, dir, nil, nil).FineTune(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, ft.ModelID, again.ModelID)
	assert.Equal(t, ft.JobID, again.JobID)
	assert.Equal(t, ft.TrainedTokens, again.TrainedTokens)
	assert.Equal(t, before.Requests, s.Stats().Requests)
}

// recordKey returns the key of the only record in dir.
func recordKey(t *testing.T, dir string) string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "finetune-*.json"))
	require.NoError(t, err)
	require.Len(t, paths, 1)
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(paths[0]), "finetune-"), ".json")
}

// startAndStop runs FineTune until the job exists and is being waited for,
// then cancels its context, as a crash or a Ctrl-C would. It returns the
// job id.
func startAndStop(t *testing.T, f *ragvsft.OpenAIFineTuner, req ragvsft.FineTuneRequest) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var jobID string
	prev := f.OnEvent
	f.OnEvent = func(e ragvsft.FineTuneEvent) {
		if prev != nil {
			prev(e)
		}
		jobID = e.JobID
		cancel()
	}
	_, err := f.FineTune(ctx, req)
	f.OnEvent = prev
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "it keeps running; run again to reattach")
	require.NotEmpty(t, jobID)
	return jobID
}

func TestOpenAIFineTunerReattachAfterRestart(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{JobStepDelay: 100 * time.Millisecond})
	dir := t.TempDir()
	req := ragvsft.FineTuneRequest{BaseModel: "gpt-4o-mini", Training: citiesData(t, 12), Seed: 7}
	var log eventLog
	jobID := startAndStop(t, newTuner(s, dir, &log, nil), req)

	assert.NotEqual(t, openai.FineTuningJobStatusCancelled, jobStatus(t, s, jobID), "cancelling ctx leaves the job running")
	assert.Equal(t, 0, s.Stats().JobsCancelled)

	// A new process: a new FineTuner on the same run folder.
	ft, err := newTuner(s, dir, &log, nil).FineTune(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, jobID, ft.JobID)
	st := s.Stats()
	assert.Equal(t, 1, st.FilesUploaded, "no second upload")
	assert.Equal(t, 1, st.JobsCreated, "no second job")
	assert.Equal(t, allEvents(t, s, jobID), log.ids(), "each event once across the restart")
	assert.False(t, ft.Reused, "this process waited for the job it had started")

	// Once succeeded, the record alone gives the model back.
	again, err := newTuner(s, dir, nil, nil).FineTune(context.Background(), req)
	require.NoError(t, err)
	assert.True(t, again.Reused, "an earlier run paid for it")
	assert.Equal(t, ft.ModelID, again.ModelID)
}

func TestOpenAIFineTunerReattachByListWithoutRecord(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{JobStepDelay: 100 * time.Millisecond})
	req := ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: citiesData(t, 12), Suffix: "x"}
	jobID := startAndStop(t, newTuner(s, t.TempDir(), nil, nil), req)

	// Another machine: no record, same account.
	ft, err := newTuner(s, t.TempDir(), nil, nil).FineTune(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, jobID, ft.JobID)
	assert.Equal(t, 1, s.Stats().FilesUploaded)
	assert.Equal(t, 1, s.Stats().JobsCreated)

	// Without any RunDir the list still finds the succeeded job, and reuses
	// it without replaying its events.
	var log eventLog
	var out syncBuffer
	again, err := newTuner(s, "", &log, &out).FineTune(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, ft.ModelID, again.ModelID)
	assert.Equal(t, ft.TrainedTokens, again.TrainedTokens)
	assert.Equal(t, ft.Hyperparameters, again.Hyperparameters)
	assert.True(t, again.Reused)
	assert.Equal(t, 1, s.Stats().JobsCreated)
	assert.Empty(t, log.ids())
	assert.Contains(t, out.String(), "reusing model "+ft.ModelID)

	// A different request is a different job.
	other := req
	other.Seed = 99
	ft2, err := newTuner(s, "", nil, nil).FineTune(context.Background(), other)
	require.NoError(t, err)
	assert.NotEqual(t, jobID, ft2.JobID)
	assert.Equal(t, 2, s.Stats().JobsCreated)
}

func TestOpenAIFineTunerCancel(t *testing.T) {
	t.Parallel()
	// Stages long against a poll on a loaded machine (200 ms let the job
	// finish before its first event was handled under -race).
	s := newServer(t, ragvsfttest.ServerConfig{JobStepDelay: time.Second})
	dir := t.TempDir()
	req := ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: citiesData(t, 12)}
	f := newTuner(s, dir, nil, nil)
	var once sync.Once
	f.OnEvent = func(e ragvsft.FineTuneEvent) {
		once.Do(func() { require.NoError(t, f.Cancel(context.Background(), e.JobID)) })
	}
	_, err := f.FineTune(context.Background(), req)
	require.ErrorIs(t, err, ragvsft.ErrFineTuneCancelled)
	assert.Equal(t, 1, s.Stats().JobsCancelled)

	// A cancelled job is not reused: the next run starts a new one, on the
	// file already uploaded.
	ft, err := newTuner(s, dir, nil, nil).FineTune(context.Background(), req)
	require.NoError(t, err)
	assert.NotEmpty(t, ft.ModelID)
	assert.Equal(t, 2, s.Stats().JobsCreated)
	assert.Equal(t, 1, s.Stats().FilesUploaded)

	err = newTuner(s, dir, nil, nil).Cancel(context.Background(), "ftjob-nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ftjob-nope")
}

func TestOpenAIFineTunerFailedJob(t *testing.T) {
	t.Parallel()
	jerr := ragvsfttest.JobError{Code: "invalid_training_file", Message: "line 3 is not what we want", Param: "training_file"}
	s := newServer(t, ragvsfttest.ServerConfig{Faults: ragvsfttest.Faults{FailJobs: 1, JobError: jerr}})
	dir := t.TempDir()
	req := ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: citiesData(t, 10)}
	_, err := newTuner(s, dir, nil, nil).FineTune(context.Background(), req)
	var je *ragvsft.FineTuneJobError
	require.ErrorAs(t, err, &je)
	assert.NotEmpty(t, je.JobID)
	assert.Equal(t, jerr.Code, je.Code)
	assert.Equal(t, jerr.Message, je.Message)
	assert.Equal(t, jerr.Param, je.Param)
	assert.True(t, strings.HasPrefix(err.Error(), "ragvsft: "), err.Error())

	// The failure is not reused: a rerun creates a job that succeeds.
	ft, err := newTuner(s, dir, nil, nil).FineTune(context.Background(), req)
	require.NoError(t, err)
	assert.NotEqual(t, je.JobID, ft.JobID)
	assert.Equal(t, 2, s.Stats().JobsCreated)
	assert.Equal(t, 1, s.Stats().FilesUploaded)
}

func TestOpenAIFineTunerRefusesBadFileBeforeUpload(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	for name, ds := range map[string]ragvsft.Dataset{
		"too few": citiesData(t, 9),
		"no assistant turn": exampleDataset{{ID: "a", Line: 1, Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: "q"}}},
			{ID: "b", Line: 2, Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: "q"}, {Role: ragvsft.RoleAssistant, Content: "a"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := newTuner(s, t.TempDir(), nil, nil).FineTune(context.Background(), ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: ds})
			var ve *ragvsft.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Empty(t, s.Stats().Requests, "nothing reached the server")
		})
	}
}

type exampleDataset []ragvsft.Example

func (d exampleDataset) Examples() []ragvsft.Example { return d }

func TestOpenAIFineTunerSurvivesFaults(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	s.InjectFault("files", 1, ragvsfttest.Fault{Drop: true})
	s.InjectFault("fine_tuning/jobs", 1, ragvsfttest.Fault{Status: 503})
	s.InjectFault("fine_tuning/jobs", 2, ragvsfttest.Fault{Status: 429, RetryAfter: 20 * time.Millisecond})
	f := newTuner(s, t.TempDir(), nil, nil)
	f.Config.MaxRetries = 4
	ft, err := f.FineTune(context.Background(), ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: citiesData(t, 10)})
	require.NoError(t, err)
	assert.NotEmpty(t, ft.ModelID)
	st := s.Stats()
	assert.Equal(t, 1, st.FilesUploaded)
	assert.Equal(t, 1, st.JobsCreated)
	assert.Equal(t, 4, st.Faults)
}

func TestOpenAIFineTunerBadKey(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{APIKey: wireKey})
	f := newTuner(s, t.TempDir(), nil, nil)
	f.Config.APIKey = "sk-wrong-0123456789-secret"
	_, err := f.FineTune(context.Background(), ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: citiesData(t, 10)})
	require.ErrorIs(t, err, ragvsft.ErrOpenAIAuth)
	assert.NotContains(t, err.Error(), f.Config.APIKey)
	assert.NotContains(t, err.Error(), "secret")
	assert.Equal(t, 0, s.Stats().FilesUploaded)
	assert.Equal(t, 0, s.Stats().JobsCreated)
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, 401, apiErr.StatusCode)
}

// loseCreateResponse lets the first job creation reach the server, then
// loses its response, as a connection reset after the server acted does.
type loseCreateResponse struct {
	next http.RoundTripper
	lost atomic.Int32
}

func (l *loseCreateResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.next.RoundTrip(r)
	if err == nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/fine_tuning/jobs") && l.lost.Add(1) == 1 {
		res.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return res, err
}

func TestOpenAIFineTunerLostCreateResponse(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	f := newTuner(s, t.TempDir(), nil, nil)
	lose := &loseCreateResponse{next: http.DefaultTransport}
	f.Config.HTTPClient = &http.Client{Transport: lose}
	ft, err := f.FineTune(context.Background(), ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: citiesData(t, 10)})
	require.NoError(t, err)
	assert.NotEmpty(t, ft.ModelID)
	assert.Equal(t, int32(1), lose.lost.Load(), "the job was found by its key, not created again")
	assert.Equal(t, 1, s.Stats().JobsCreated)
}

func TestOpenAIFineTunerUnwritableRunDir(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err := newTuner(s, filepath.Join(file, "run"), nil, nil).FineTune(context.Background(),
		ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: citiesData(t, 10)})
	require.Error(t, err)
	assert.Empty(t, s.Stats().Requests, "nothing is sent when the record cannot be kept")
}

func TestOpenAIFineTunerExplicitHyperparametersAndValidation(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{})
	hp := ragvsft.Hyperparameters{Epochs: 2, BatchSize: 3, LearningRateMultiplier: 0.5}
	req := ragvsft.FineTuneRequest{BaseModel: "gpt-4o-mini", Training: citiesData(t, 12), Validation: citiesData(t, 10),
		Hyperparameters: hp, Suffix: "hp", Seed: 5}
	ft, err := newTuner(s, t.TempDir(), nil, nil).FineTune(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, hp, ft.Hyperparameters)
	assert.Equal(t, 2, s.Stats().FilesUploaded, "training and validation files")

	c := rawClient(s)
	job, err := c.FineTuning.Jobs.Get(context.Background(), ft.JobID)
	require.NoError(t, err)
	assert.NotEmpty(t, job.ValidationFile)
	assert.Equal(t, int64(5), job.Seed)
	assert.Equal(t, "2", job.Hyperparameters.NEpochs.RawJSON())
	assert.Equal(t, "3", job.Hyperparameters.BatchSize.RawJSON())
	assert.Equal(t, "0.5", job.Hyperparameters.LearningRateMultiplier.RawJSON())
	assert.Len(t, job.Metadata["ragvsft_key"], 64, "the job carries its key")
}

func TestOpenAIFineTunerUnderRandomFailures(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{Faults: ragvsfttest.Faults{
		Rate: 0.25, RateFault: ragvsfttest.Fault{Status: 500, RetryAfter: time.Millisecond}, Seed: 3,
	},
		// Processed by the time the upload answers: no poll of the file, so
		// the seeded faults fall on the same requests in every run.
		FileProcessingDelay: time.Nanosecond,
	})
	var log eventLog
	f := newTuner(s, t.TempDir(), &log, nil)
	f.Config.MaxRetries = 1 // so that some failures reach the fine-tuner itself
	ft, err := f.FineTune(context.Background(), ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: citiesData(t, 10)})
	require.NoError(t, err)
	assert.NotEmpty(t, ft.ModelID)
	st := s.Stats()
	assert.Positive(t, st.Faults)
	assert.Equal(t, 1, st.JobsCreated)
	s.SetFaults(ragvsfttest.Faults{})
	assert.Equal(t, allEvents(t, s, ft.JobID), log.ids(), "each event once despite failed polls")
}

// exchange is one request to the server and its answer, as the wire
// carried them.
type exchange struct {
	method, path string
	request      []byte
	status       int
	response     []byte
}

// wireLog records every exchange with a server; safe for concurrent use.
// before, if set, runs before each request is served, with the number of
// requests so far to the same method and path (1 for the first).
type wireLog struct {
	mu     sync.Mutex
	all    []exchange
	counts map[string]int
	before func(method, path string, n int)
}

func (l *wireLog) exchanges() []exchange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.all)
}

// teeWriter keeps a copy of what a handler writes.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

// recordedServer serves ragvsfttest's handler behind a wrapper that
// records each exchange, and returns a client config for it.
func recordedServer(t *testing.T, cfg ragvsfttest.ServerConfig, before func(method, path string, n int)) (*ragvsfttest.OpenAIServer, *wireLog, ragvsft.OpenAIConfig) {
	t.Helper()
	if cfg.JobStepDelay == 0 {
		cfg.JobStepDelay = 5 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = onWireDay
	}
	api := ragvsfttest.NewOpenAIHandler(cfg)
	log := &wireLog{counts: map[string]int{}, before: before}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		path := r.URL.Path
		if strings.HasPrefix(path, "/v1/files/file-") {
			path = "/v1/files/{id}"
		}
		log.mu.Lock()
		log.counts[r.Method+" "+path]++
		n := log.counts[r.Method+" "+path]
		log.mu.Unlock()
		if log.before != nil {
			log.before(r.Method, path, n)
		}
		tw := &teeWriter{ResponseWriter: w, status: http.StatusOK}
		api.ServeHTTP(tw, r)
		log.mu.Lock()
		log.all = append(log.all, exchange{r.Method, path, body, tw.status, tw.body.Bytes()})
		log.mu.Unlock()
	}))
	t.Cleanup(func() {
		srv.Close()
		api.Close()
	})
	return api, log, ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: srv.URL + "/v1", Now: onWireDay}
}

// tunerFor is newTuner for a config of recordedServer.
func tunerFor(cfg ragvsft.OpenAIConfig, dir string) *ragvsft.OpenAIFineTuner {
	return &ragvsft.OpenAIFineTuner{Config: cfg, RunDir: dir, PollInterval: 2 * time.Millisecond, MaxPollInterval: 20 * time.Millisecond}
}

// jobBodies returns the JSON bodies of the job creations in log.
func jobBodies(t *testing.T, log *wireLog) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range log.exchanges() {
		if e.method == http.MethodPost && e.path == "/v1/fine_tuning/jobs" {
			var m map[string]any
			require.NoError(t, json.Unmarshal(e.request, &m), "%s", e.request)
			out = append(out, m)
		}
	}
	return out
}

// The job is created with method.supervised and never with the deprecated
// top-level hyperparameters, "auto" or explicit, and what the job ran with
// is read back.
func TestOpenAIFineTunerSendsMethodSupervised(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hp   ragvsft.Hyperparameters
		want map[string]any
	}{
		{"auto", ragvsft.Hyperparameters{}, map[string]any{"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"}},
		{"explicit", ragvsft.Hyperparameters{Epochs: 2, BatchSize: 3, LearningRateMultiplier: 0.5},
			map[string]any{"n_epochs": 2.0, "batch_size": 3.0, "learning_rate_multiplier": 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, log, cfg := recordedServer(t, ragvsfttest.ServerConfig{}, nil)
			ft, err := tunerFor(cfg, t.TempDir()).FineTune(context.Background(),
				ragvsft.FineTuneRequest{BaseModel: ragvsft.DefaultBaseModel, Training: citiesData(t, 12), Hyperparameters: tt.hp, Seed: 3})
			require.NoError(t, err)
			bodies := jobBodies(t, log)
			require.Len(t, bodies, 1)
			body := bodies[0]
			assert.NotContains(t, body, "hyperparameters", "no deprecated top-level hyperparameters")
			assert.Equal(t, map[string]any{"type": "supervised", "supervised": map[string]any{"hyperparameters": tt.want}}, body["method"])
			assert.Equal(t, ragvsft.DefaultBaseModel, body["model"])
			assert.Equal(t, 3.0, body["seed"])
			assert.Equal(t, 0, s.Stats().DeprecatedHyperparameters)
			assert.Equal(t, tt.hp.Resolve(12), ft.Hyperparameters, "read back from the job")
		})
	}
}

// No job is created before the file is processed: with a file that stays
// "uploaded", the fine-tuner polls it until stopped and sends no job; the
// rerun reuses the recorded file.
func TestOpenAIFineTunerNoJobBeforeFileProcessed(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Stop each run at its third look at the file.
	var looks atomic.Int32
	s, log, cfg := recordedServer(t, ragvsfttest.ServerConfig{FileProcessingDelay: time.Hour}, func(method, path string, n int) {
		if method == http.MethodGet && path == "/v1/files/{id}" && looks.Add(1)%3 == 0 {
			cancel()
		}
	})
	dir := t.TempDir()
	req := ragvsft.FineTuneRequest{BaseModel: ragvsft.DefaultBaseModel, Training: citiesData(t, 10)}
	_, err := tunerFor(cfg, dir).FineTune(ctx, req)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "to be processed")
	st := s.Stats()
	assert.Equal(t, 1, st.FilesUploaded)
	assert.Zero(t, st.Requests["POST /v1/fine_tuning/jobs"], "no job on a file that is not processed")
	b, err := os.ReadFile(filepath.Join(dir, "finetune-"+recordKey(t, dir)+".json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"training_file_id": "file-`)

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	_, err = tunerFor(cfg, dir).FineTune(ctx, req)
	require.ErrorIs(t, err, context.Canceled)
	st = s.Stats()
	assert.Equal(t, 1, st.FilesUploaded, "the recorded file is reused")
	assert.Zero(t, st.Requests["POST /v1/fine_tuning/jobs"])
	for _, e := range log.exchanges() {
		if e.path == "/v1/files/{id}" {
			assert.Contains(t, string(e.response), `"status":"uploaded"`)
		}
	}
}

// With a file that takes a while to be processed, the job is created on
// the first poll that sees it processed, never before; the server would
// refuse it otherwise.
func TestOpenAIFineTunerWaitsForFileProcessed(t *testing.T) {
	t.Parallel()
	s, log, cfg := recordedServer(t, ragvsfttest.ServerConfig{FileProcessingDelay: 150 * time.Millisecond}, nil)
	ft, err := tunerFor(cfg, t.TempDir()).FineTune(context.Background(), ragvsft.FineTuneRequest{BaseModel: ragvsft.DefaultBaseModel, Training: citiesData(t, 10)})
	require.NoError(t, err)
	assert.NotEmpty(t, ft.ModelID)
	var statuses []string
	for _, e := range log.exchanges() {
		switch {
		case e.method == http.MethodPost && e.path == "/v1/files":
			statuses = append(statuses, "upload:"+fileStatus(t, e.response))
		case e.method == http.MethodGet && e.path == "/v1/files/{id}":
			statuses = append(statuses, fileStatus(t, e.response))
		case e.method == http.MethodPost && e.path == "/v1/fine_tuning/jobs":
			statuses = append(statuses, "create")
		}
	}
	require.GreaterOrEqual(t, len(statuses), 3, "%v", statuses)
	assert.Equal(t, "upload:uploaded", statuses[0])
	assert.Equal(t, []string{"processed", "create"}, statuses[len(statuses)-2:], "%v", statuses)
	for _, st := range statuses[1 : len(statuses)-2] {
		assert.Equal(t, "uploaded", st)
	}
	assert.Equal(t, 1, s.Stats().JobsCreated)
}

func fileStatus(t *testing.T, body []byte) string {
	t.Helper()
	var f struct {
		Status string `json:"status"`
	}
	require.NoError(t, json.Unmarshal(body, &f), "%s", body)
	return f.Status
}

// A base model the catalog knows to be shut down, or not fine-tunable, is
// refused before any request, by FineTune and Estimate alike.
func TestOpenAIFineTunerRefusesModelBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model    string
		catalog  ragvsft.Catalog
		shutdown string // "" for a model that is not fine-tunable
	}{
		{model: "gpt-3.5-turbo", shutdown: "2026-10-23"},
		{model: "gpt-3.5-turbo-0125", shutdown: "2026-10-23"},
		{model: "gpt-4.1-nano-2025-04-14", shutdown: "2026-10-23"},
		{model: "gpt-6-luna"},
		{model: "text-embedding-3-small"},
		{model: ragvsft.DefaultBaseModel, catalog: ragvsft.Catalog{"gpt-4.1-mini": {FineTunable: true, Shutdown: "2026-12-01"}}, shutdown: "2026-12-01"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, ragvsfttest.ServerConfig{})
			f := newTuner(s, t.TempDir(), nil, nil)
			f.Config.Catalog = tt.catalog
			req := ragvsft.FineTuneRequest{BaseModel: tt.model, Training: citiesData(t, 10)}
			_, ftErr := f.FineTune(context.Background(), req)
			_, estErr := f.Estimate(context.Background(), req)
			for _, err := range []error{ftErr, estErr} {
				if tt.shutdown == "" {
					require.ErrorIs(t, err, ragvsft.ErrNotFineTunable)
					assert.Contains(t, err.Error(), tt.model)
					continue
				}
				var sd *ragvsft.ModelShutDownError
				require.ErrorAs(t, err, &sd)
				assert.ErrorIs(t, err, ragvsft.ErrModelShutDown)
				assert.Equal(t, tt.shutdown, sd.Shutdown)
				assert.True(t, sd.FineTune)
				assert.Contains(t, err.Error(), tt.shutdown)
			}
			assert.Empty(t, s.Stats().Requests, "nothing reached the server")
		})
	}
}

// OpenAI's refusal to let the organization create jobs is a typed error
// that says what to do; it is not retried, and the file uploaded for it is
// reused by the next run: once refused again, then accepted.
func TestOpenAIFineTunerFineTuningUnavailable(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{RefuseFineTuning: true})
	dir := t.TempDir()
	req := ragvsft.FineTuneRequest{BaseModel: ragvsft.DefaultBaseModel, Training: citiesData(t, 10), Suffix: "cities"}
	run := func() error {
		f := newTuner(s, dir, nil, nil)
		f.Config.MaxRetries = 4 // retries allowed: the refusal must still be sent once
		_, err := f.FineTune(context.Background(), req)
		return err
	}

	err := run()
	require.ErrorIs(t, err, ragvsft.ErrFineTuningUnavailable)
	var fe *ragvsft.FineTuningUnavailableError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, ragvsft.DefaultBaseModel, fe.BaseModel)
	assert.Equal(t, http.StatusForbidden, fe.Status)
	assert.NotEmpty(t, fe.Message)
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)
	msg := err.Error()
	t.Logf("the refusal reads: %s", msg)
	assert.True(t, strings.HasPrefix(msg, "ragvsft: "), msg)
	for _, want := range []string{ragvsft.FineTuningClosedToNewOrgs, ragvsft.FineTuningClosedToInactiveOrgs, ragvsft.FineTuningClosed,
		"-finetuned-model NAME -finetuned-base-url URL", "OpenAI-compatible endpoint", "-train-command CMD", fe.TrainingFileID, dir} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, wireKey)
	st := s.Stats()
	assert.Equal(t, 1, st.FilesUploaded)
	assert.Equal(t, 0, st.JobsCreated)
	assert.Equal(t, 1, st.Requests["POST /v1/fine_tuning/jobs"], "the refusal is not retried")
	b, rerr := os.ReadFile(filepath.Join(dir, "finetune-"+recordKey(t, dir)+".json"))
	require.NoError(t, rerr)
	assert.Contains(t, string(b), fe.TrainingFileID, "the uploaded file is recorded")

	// A rerun with the same RunDir uploads nothing and is refused once more.
	err = run()
	require.ErrorIs(t, err, ragvsft.ErrFineTuningUnavailable)
	require.ErrorAs(t, err, &fe)
	st = s.Stats()
	assert.Equal(t, 1, st.FilesUploaded, "exactly one upload across two runs")
	assert.Equal(t, 0, st.JobsCreated)
	assert.Equal(t, 2, st.Requests["POST /v1/fine_tuning/jobs"])

	// The organization may create jobs again: the job runs on that file.
	s.SetRefuseFineTuning(false)
	require.NoError(t, run())
	st = s.Stats()
	assert.Equal(t, 1, st.FilesUploaded)
	assert.Equal(t, 1, st.JobsCreated)
	c := rawClient(s)
	page, lerr := c.FineTuning.Jobs.List(context.Background(), openai.FineTuningJobListParams{})
	require.NoError(t, lerr)
	require.Len(t, page.Data, 1)
	assert.Equal(t, fe.TrainingFileID, page.Data[0].TrainingFile)
}

// A recorded file that the server could not process is an error that says
// so, with the server's details, and no job is created on it.
func TestOpenAIFineTunerFileProcessingError(t *testing.T) {
	t.Parallel()
	s := newServer(t, ragvsfttest.ServerConfig{RefuseFineTuning: true})
	dir := t.TempDir()
	req := ragvsft.FineTuneRequest{BaseModel: ragvsft.DefaultBaseModel, Training: citiesData(t, 10)}
	_, err := newTuner(s, dir, nil, nil).FineTune(context.Background(), req)
	require.ErrorIs(t, err, ragvsft.ErrFineTuningUnavailable)

	// The record now names a file the server holds in status "error".
	c := rawClient(s)
	bad, err := c.Files.New(context.Background(), openai.FileNewParams{
		File:    openai.File(strings.NewReader("\xff\xfe"), "bad.jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeFineTune,
	})
	require.NoError(t, err)
	path := filepath.Join(dir, "finetune-"+recordKey(t, dir)+".json")
	var rec map[string]any
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rec))
	rec["training_file_id"] = bad.ID
	b, err = json.Marshal(rec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))

	s.SetRefuseFineTuning(false)
	_, err = newTuner(s, dir, nil, nil).FineTune(context.Background(), req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "training file "+bad.ID)
	assert.Contains(t, err.Error(), "could not be processed")
	assert.Contains(t, err.Error(), "UTF-8", "the server's status_details")
	st := s.Stats()
	assert.Equal(t, 0, st.JobsCreated)
	assert.Equal(t, 1, st.Requests["POST /v1/fine_tuning/jobs"], "only the refused one")
}
