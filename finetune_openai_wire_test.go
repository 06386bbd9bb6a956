package ragvsft_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
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
	s := newServer(t, ragvsfttest.ServerConfig{JobStepDelay: 200 * time.Millisecond})
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
	}})
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
