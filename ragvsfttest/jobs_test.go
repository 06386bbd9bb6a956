package ragvsfttest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/ragvsft/ragvsft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateJobRefused(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()
	train := upload(t, c, "train.jsonl", trainingJSONL(10))
	other, err := c.Files.New(ctx, openai.FileNewParams{
		File:    openai.File(strings.NewReader("{}"), "a.jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeAssistants,
	})
	require.NoError(t, err)

	tests := []struct {
		name   string
		params openai.FineTuningJobNewParams
		param  string
		code   string
	}{
		{"unknown training file", openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: "file-missing"}, "training_file", ""},
		{"training file with another purpose", openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: other.ID}, "training_file", ""},
		{"unknown validation file", openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: train.ID, ValidationFile: openai.String("file-missing")}, "validation_file", ""},
		{"model not fine-tunable", openai.FineTuningJobNewParams{Model: "text-embedding-3-small", TrainingFile: train.ID}, "model", "model_not_available"},
		{"unknown fine-tune as base", openai.FineTuningJobNewParams{Model: "ft:gpt-4o-mini-2024-07-18:ragvsft::xyz", TrainingFile: train.ID}, "model", "model_not_available"},
		{"epochs out of range", openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: train.ID,
			Hyperparameters: openai.FineTuningJobNewParamsHyperparameters{NEpochs: openai.FineTuningJobNewParamsHyperparametersNEpochsUnion{OfInt: openai.Int(51)}}},
			"hyperparameters.n_epochs", "invalid_value"},
		{"batch size in method out of range", openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: train.ID,
			Method: openai.FineTuningJobNewParamsMethod{Type: "supervised", Supervised: openai.SupervisedMethodParam{
				Hyperparameters: openai.SupervisedHyperparameters{BatchSize: openai.SupervisedHyperparametersBatchSizeUnion{OfInt: openai.Int(0)}}}}},
			"method.supervised.hyperparameters.batch_size", "invalid_value"},
		{"suffix too long", openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: train.ID, Suffix: openai.String(strings.Repeat("s", 65))}, "suffix", "string_above_max_length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.FineTuning.Jobs.New(ctx, tt.params)
			e := asAPIError(t, err)
			assert.Equal(t, http.StatusBadRequest, e.StatusCode)
			assert.Equal(t, "invalid_request_error", e.Type)
			assert.Equal(t, tt.param, e.Param)
			assert.Equal(t, tt.code, e.Code)
			assert.NotEmpty(t, e.Message)
		})
	}
	assert.Equal(t, 0, s.Stats().JobsCreated)
}

func TestJobFailsValidation(t *testing.T) {
	tests := []struct {
		name    string
		content string
		code    string
		message string
	}{
		{"empty", "\n", "invalid_n_examples", "Training file has 0 example(s)"},
		{"too few examples", trainingJSONL(9), "invalid_n_examples", "Training file has 9 example(s), but must have at least 10 examples"},
		{"not JSON", trainingJSONL(10) + "not json\n", "invalid_training_file", "Invalid file format: line 11: not valid JSON"},
		{"no assistant", trainingJSONL(3) + `{"messages":[{"role":"user","content":"hi"}]}` + "\n" + trainingJSONL(8), "invalid_training_file", "line 4: no assistant message"},
		{"bad role", `{"messages":[{"role":"robot","content":"hi"}]}` + "\n" + trainingJSONL(10), "invalid_training_file", "line 1: message 1: unknown role \"robot\""},
		{"no messages", `{"prompt":"a","completion":"b"}` + "\n", "invalid_training_file", "line 1: unknown key \"prompt\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, ServerConfig{})
			c := newClient(s)
			f := upload(t, c, "train.jsonl", tt.content)
			created, err := c.FineTuning.Jobs.New(context.Background(), openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: f.ID})
			require.NoError(t, err, "the file is read after the job is created, as OpenAI does")
			assert.Equal(t, openai.FineTuningJobStatusValidatingFiles, created.Status)
			j := waitJob(t, c, created.ID)
			assert.Equal(t, openai.FineTuningJobStatusFailed, j.Status)
			assert.Equal(t, tt.code, j.Error.Code)
			assert.Equal(t, "training_file", j.Error.Param)
			assert.Contains(t, j.Error.Message, tt.message)
			assert.Empty(t, j.FineTunedModel)
			assert.NotZero(t, j.FinishedAt)
		})
	}
}

func TestJobInjectedFailure(t *testing.T) {
	want := JobError{Code: "server_error", Message: "The job failed due to an internal error."}
	s := newServer(t, ServerConfig{Faults: Faults{FailJobs: 1}})
	c := newClient(s)
	f := upload(t, c, "train.jsonl", trainingJSONL(10))
	params := openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: f.ID}
	created, err := c.FineTuning.Jobs.New(context.Background(), params)
	require.NoError(t, err)
	j := waitJob(t, c, created.ID)
	assert.Equal(t, openai.FineTuningJobStatusFailed, j.Status)
	assert.Equal(t, want.Code, j.Error.Code)
	assert.Equal(t, want.Message, j.Error.Message)
	assert.Equal(t, int64(100/10), j.Hyperparameters.NEpochs.OfInt, "auto resolved before it failed")

	events, err := c.FineTuning.Jobs.ListEvents(context.Background(), j.ID, openai.FineTuningJobListEventsParams{})
	require.NoError(t, err)
	require.NotEmpty(t, events.Data)
	assert.Equal(t, want.Message, events.Data[0].Message, "newest first")
	assert.Equal(t, openai.FineTuningJobEventLevelError, events.Data[0].Level)

	custom := JobError{Code: "exceeded_quota", Message: "Quota exceeded.", Param: ""}
	s.SetFaults(Faults{FailJobs: 1, JobError: custom})
	created, err = c.FineTuning.Jobs.New(context.Background(), params)
	require.NoError(t, err)
	j = waitJob(t, c, created.ID)
	assert.Equal(t, custom.Code, j.Error.Code)
}

func TestJobCancel(t *testing.T) {
	s := newServer(t, ServerConfig{JobStepDelay: time.Hour})
	c := newClient(s)
	ctx := context.Background()
	f := upload(t, c, "train.jsonl", trainingJSONL(10))
	created, err := c.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: f.ID})
	require.NoError(t, err)
	assert.Equal(t, "auto", string(created.Hyperparameters.NEpochs.OfAuto), "not resolved while validating")

	j, err := c.FineTuning.Jobs.Cancel(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.FineTuningJobStatusCancelled, j.Status)
	assert.NotZero(t, j.FinishedAt)

	j, err = c.FineTuning.Jobs.Get(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.FineTuningJobStatusCancelled, j.Status)

	_, err = c.FineTuning.Jobs.Cancel(ctx, created.ID)
	e := asAPIError(t, err)
	assert.Equal(t, http.StatusBadRequest, e.StatusCode)
	assert.Contains(t, e.Message, "already completed")

	_, err = c.FineTuning.Jobs.Cancel(ctx, "ftjob-missing")
	assert.Equal(t, http.StatusNotFound, asAPIError(t, err).StatusCode)
	assert.Equal(t, 1, s.Stats().JobsCancelled)
}

func TestJobListPaging(t *testing.T) {
	s := newServer(t, ServerConfig{JobStepDelay: time.Hour})
	c := newClient(s)
	ctx := context.Background()
	f := upload(t, c, "train.jsonl", trainingJSONL(10))
	var ids []string
	for i := range 5 {
		j, err := c.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{
			Model: "gpt-4o-mini-2024-07-18", TrainingFile: f.ID,
			Metadata: map[string]string{"run": map[bool]string{true: "even", false: "odd"}[i%2 == 0]},
		})
		require.NoError(t, err)
		ids = append([]string{j.ID}, ids...) // newest first
	}

	page, err := c.FineTuning.Jobs.List(ctx, openai.FineTuningJobListParams{Limit: openai.Int(2)})
	require.NoError(t, err)
	assert.True(t, page.HasMore)
	var got []string
	for ; page != nil; page, err = page.GetNextPage() {
		require.NoError(t, err)
		for _, j := range page.Data {
			got = append(got, j.ID)
		}
	}
	assert.Equal(t, ids, got)
	assert.Equal(t, 3, s.Stats().Requests["GET /v1/fine_tuning/jobs"])

	even, err := c.FineTuning.Jobs.List(ctx, openai.FineTuningJobListParams{Metadata: map[string]string{"run": "even"}})
	require.NoError(t, err)
	require.Len(t, even.Data, 3)
	assert.False(t, even.HasMore)
}

func TestJobCancelWhileTraining(t *testing.T) {
	reached, release := make(chan struct{}), make(chan struct{})
	s := newServer(t, ServerConfig{
		// The real local trainer, held after its first epoch so that the
		// test cancels a job that is surely running.
		NewFineTuner: func(seed int64, onEpoch func(int, float64)) ragvsft.FineTuner {
			return ragvsft.LocalFineTuner{Seed: seed, OnEpoch: func(epoch int, loss float64) {
				onEpoch(epoch, loss)
				if epoch == 1 {
					close(reached)
					<-release
				}
			}}
		},
	})
	c := newClient(s)
	ctx := context.Background()
	f := upload(t, c, "cities.jsonl", string(ragvsft.CitiesJSONL(20, 42)))
	created, err := c.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: f.ID,
		Hyperparameters: openai.FineTuningJobNewParamsHyperparameters{NEpochs: openai.FineTuningJobNewParamsHyperparametersNEpochsUnion{OfInt: openai.Int(5)}}})
	require.NoError(t, err)
	<-reached
	j, err := c.FineTuning.Jobs.Get(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.FineTuningJobStatusRunning, j.Status)

	j, err = c.FineTuning.Jobs.Cancel(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.FineTuningJobStatusCancelled, j.Status)
	close(release)

	time.Sleep(50 * time.Millisecond) // let the trainer see the cancellation
	j, err = c.FineTuning.Jobs.Get(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.FineTuningJobStatusCancelled, j.Status, "training did not overwrite the cancellation")
	assert.Empty(t, j.FineTunedModel)
	events, err := c.FineTuning.Jobs.ListEvents(ctx, created.ID, openai.FineTuningJobListEventsParams{Limit: openai.Int(100)})
	require.NoError(t, err)
	assert.Equal(t, "Fine-tuning job cancelled", events.Data[0].Message)
	metrics := 0
	for _, e := range events.Data {
		if e.Type == openai.FineTuningJobEventTypeMetrics {
			metrics++
		}
	}
	assert.Equal(t, 1, metrics, "training stopped after the epoch it was in")
}

func TestCreateJobAfterClose(t *testing.T) {
	h := NewOpenAIHandler(ServerConfig{})
	h.Close()
	_, err := h.newJob(createJobRequest{Model: "gpt-4o-mini-2024-07-18", TrainingFile: "file-x"})
	assert.ErrorIs(t, err, errClosed)
}
