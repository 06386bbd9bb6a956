package ragvsfttest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/ragvsft/ragvsft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onlyFineTune hides a trainer's FineTuneEpochs: a trainer that cannot
// snapshot epochs.
type onlyFineTune struct{ ragvsft.FineTuner }

// runCheckpointJob trains a job on trainingJSONL(n) with the given epochs
// and batch size and returns it once it has succeeded.
func runCheckpointJob(t *testing.T, s *OpenAIServer, c *openai.Client, n, epochs, batch int) *openai.FineTuningJob {
	t.Helper()
	return runCheckpointJobOn(t, s, c, trainingJSONL(n), epochs, batch)
}

func runCheckpointJobOn(t *testing.T, s *OpenAIServer, c *openai.Client, jsonl string, epochs, batch int) *openai.FineTuningJob {
	t.Helper()
	f := upload(t, c, "towns.jsonl", jsonl)
	created, err := c.FineTuning.Jobs.New(context.Background(), openai.FineTuningJobNewParams{
		Model:        "gpt-4.1-mini-2025-04-14",
		TrainingFile: f.ID,
		Suffix:       openai.String("towns"),
		Seed:         openai.Int(3),
		Method: openai.FineTuningJobNewParamsMethod{Type: "supervised", Supervised: openai.SupervisedMethodParam{
			Hyperparameters: openai.SupervisedHyperparameters{
				NEpochs:   openai.SupervisedHyperparametersNEpochsUnion{OfInt: openai.Int(int64(epochs))},
				BatchSize: openai.SupervisedHyperparametersBatchSizeUnion{OfInt: openai.Int(int64(batch))},
			},
		}},
	})
	require.NoError(t, err)
	j := waitJob(t, c, created.ID)
	require.Equal(t, openai.FineTuningJobStatusSucceeded, j.Status, "error: %+v", j.Error)
	return j
}

// metricsByStep returns a job's train_loss per step from its metrics events.
func metricsByStep(t *testing.T, c *openai.Client, jobID string) map[int64]float64 {
	t.Helper()
	pager := c.FineTuning.Jobs.ListEventsAutoPaging(context.Background(), jobID, openai.FineTuningJobListEventsParams{})
	losses := map[int64]float64{}
	for pager.Next() {
		e := pager.Current()
		if e.Type != openai.FineTuningJobEventTypeMetrics {
			continue
		}
		d, ok := e.Data.(map[string]any)
		require.True(t, ok, "metrics data: %#v", e.Data)
		losses[int64(d["step"].(float64))] = d["train_loss"].(float64)
	}
	require.NoError(t, pager.Err())
	return losses
}

func TestCheckpoints(t *testing.T) {
	tests := []struct {
		name      string
		trainer   func(seed int64, onEpoch func(int, float64)) ragvsft.FineTuner
		n, epochs int
		batch     int
		wantSteps []int64 // newest first
	}{
		{name: "last three epochs", n: 12, epochs: 5, batch: 4, wantSteps: []int64{15, 12, 9}},
		{name: "partial last batch", n: 11, epochs: 3, batch: 4, wantSteps: []int64{9, 6, 3}},
		{name: "fewer epochs than kept", n: 10, epochs: 2, batch: 10, wantSteps: []int64{2, 1}},
		{name: "trainer without snapshots", n: 10, epochs: 4, batch: 5, wantSteps: []int64{8},
			trainer: func(seed int64, onEpoch func(int, float64)) ragvsft.FineTuner {
				return onlyFineTune{ragvsft.LocalFineTuner{Seed: seed, OnEpoch: onEpoch}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, ServerConfig{NewFineTuner: tt.trainer})
			c := newClient(s)
			ctx := context.Background()
			j := runCheckpointJob(t, s, c, tt.n, tt.epochs, tt.batch)
			losses := metricsByStep(t, c, j.ID)
			require.Len(t, losses, tt.epochs, "one metrics event per epoch")

			page, err := c.FineTuning.Jobs.Checkpoints.List(ctx, j.ID, openai.FineTuningJobCheckpointListParams{})
			require.NoError(t, err)
			assert.False(t, page.HasMore)
			require.Len(t, page.Data, len(tt.wantSteps))
			hash := j.FineTunedModel[strings.LastIndex(j.FineTunedModel, ":")+1:]
			seen := map[string]bool{}
			for i, cp := range page.Data {
				assert.Equal(t, tt.wantSteps[i], cp.StepNumber)
				assert.Equal(t, float64(cp.StepNumber), cp.Metrics.Step)
				want, ok := losses[cp.StepNumber]
				require.True(t, ok, "no metrics event at step %d: %v", cp.StepNumber, losses)
				assert.Equal(t, want, cp.Metrics.TrainLoss, "the loss of the checkpoint's epoch")
				assert.Equal(t, j.ID, cp.FineTuningJobID)
				assert.Equal(t, "fine_tuning.job.checkpoint", string(cp.Object))
				assert.True(t, strings.HasPrefix(cp.ID, "ftckpt_"), cp.ID)
				assert.GreaterOrEqual(t, cp.CreatedAt, j.CreatedAt)
				prefix := "ft:gpt-4.1-mini-2025-04-14:ragvsft:towns:"
				suffix := fmt.Sprintf(":ckpt-step-%d", cp.StepNumber)
				assert.True(t, strings.HasPrefix(cp.FineTunedModelCheckpoint, prefix) && strings.HasSuffix(cp.FineTunedModelCheckpoint, suffix), cp.FineTunedModelCheckpoint)
				h := strings.TrimSuffix(strings.TrimPrefix(cp.FineTunedModelCheckpoint, prefix), suffix)
				assert.Len(t, h, 8)
				assert.NotEqual(t, hash, h, "a checkpoint has its own name, as in OpenAI's example")
				assert.False(t, seen[h], "hash %s twice", h)
				seen[h] = true

				_, err := c.Models.Get(ctx, cp.FineTunedModelCheckpoint)
				assert.NoError(t, err, "the checkpoint's model is listed")
			}
			assert.Positive(t, page.Data[len(page.Data)-1].Metrics.TrainLoss)
		})
	}
}

// TestCheckpointModelsAnswerAsTheirEpoch proves each checkpoint's model is
// the model as it was after its epoch: it answers as the local trainer's
// model trained for that many epochs, and differently from the final model.
func TestCheckpointModelsAnswerAsTheirEpoch(t *testing.T) {
	const n, epochs, batch = 12, 8, 1
	// Populations no copy of the town's number can guess (trainingJSONL's
	// 1000+i ends in the town's number).
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"messages":[{"role":"user","content":"What is the population of Town%d?"},{"role":"assistant","content":"The population of Town%d is %d."}]}`+"\n", i, i, 1000+(i*7919)%9000)
	}
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()
	j := runCheckpointJobOn(t, s, c, b.String(), epochs, batch)
	page, err := c.FineTuning.Jobs.Checkpoints.List(ctx, j.ID, openai.FineTuningJobCheckpointListParams{})
	require.NoError(t, err)
	require.Len(t, page.Data, 3)

	ds, err := ragvsft.ReadJSONL(strings.NewReader(b.String()), "towns.jsonl")
	require.NoError(t, err)
	qs, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	ask := func(model string, q string) string {
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:               model,
			Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage(q)},
			Temperature:         openai.Float(0),
			MaxCompletionTokens: openai.Int(100),
		})
		require.NoError(t, err, "chat with %s", model)
		require.Len(t, resp.Choices, 1)
		return resp.Choices[0].Message.Content
	}
	differs := 0
	for i, cp := range page.Data {
		epoch := epochs - i
		direct, err := ragvsft.LocalFineTuner{}.FineTune(ctx, ragvsft.FineTuneRequest{
			Training: ds, Seed: j.Seed,
			Hyperparameters: ragvsft.Hyperparameters{Epochs: epoch, BatchSize: batch},
		})
		require.NoError(t, err)
		for _, q := range qs {
			want, err := direct.Model.Chat(ctx, ragvsft.ChatRequest{Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: q.Text}}, MaxTokens: 100})
			if err != nil {
				require.ErrorIs(t, err, ragvsft.ErrNoAnswer)
			}
			got := ask(cp.FineTunedModelCheckpoint, q.Text)
			assert.Equal(t, want.Content, got, "epoch %d, %q", epoch, q.Text)
			if i == 0 {
				assert.Equal(t, ask(j.FineTunedModel, q.Text), got, "the last checkpoint is the final model")
			} else if got != ask(j.FineTunedModel, q.Text) {
				differs++
			}
		}
	}
	assert.Positive(t, differs, "an earlier checkpoint answers as an earlier model")
}

func TestCheckpointsListing(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()

	_, err := c.FineTuning.Jobs.Checkpoints.List(ctx, "ftjob-unknown", openai.FineTuningJobCheckpointListParams{})
	assert.Equal(t, 404, asAPIError(t, err).StatusCode)

	j := runCheckpointJob(t, s, c, 10, 4, 10)
	all, err := c.FineTuning.Jobs.Checkpoints.List(ctx, j.ID, openai.FineTuningJobCheckpointListParams{})
	require.NoError(t, err)
	require.Len(t, all.Data, 3)

	first, err := c.FineTuning.Jobs.Checkpoints.List(ctx, j.ID, openai.FineTuningJobCheckpointListParams{Limit: openai.Int(2)})
	require.NoError(t, err)
	assert.True(t, first.HasMore)
	require.Len(t, first.Data, 2)
	assert.Equal(t, all.Data[:2], first.Data)
	rest, err := c.FineTuning.Jobs.Checkpoints.List(ctx, j.ID, openai.FineTuningJobCheckpointListParams{After: openai.String(first.Data[1].ID)})
	require.NoError(t, err)
	assert.False(t, rest.HasMore)
	require.Len(t, rest.Data, 1)
	assert.Equal(t, all.Data[2].ID, rest.Data[0].ID)

	pager := c.FineTuning.Jobs.Checkpoints.ListAutoPaging(ctx, j.ID, openai.FineTuningJobCheckpointListParams{Limit: openai.Int(1)})
	var steps []int64
	for pager.Next() {
		steps = append(steps, pager.Current().StepNumber)
	}
	require.NoError(t, pager.Err())
	assert.Equal(t, []int64{4, 3, 2}, steps)

	_, err = c.FineTuning.Jobs.Checkpoints.List(ctx, j.ID, openai.FineTuningJobCheckpointListParams{Limit: openai.Int(0)})
	assert.Equal(t, 400, asAPIError(t, err).StatusCode, "limit 0")

	// A job still running or cancelled has none.
	f := upload(t, c, "towns.jsonl", trainingJSONL(10))
	created, err := c.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{Model: "gpt-4.1-mini-2025-04-14", TrainingFile: f.ID})
	require.NoError(t, err)
	_, err = c.FineTuning.Jobs.Cancel(ctx, created.ID)
	require.NoError(t, err)
	none, err := c.FineTuning.Jobs.Checkpoints.List(ctx, created.ID, openai.FineTuningJobCheckpointListParams{})
	require.NoError(t, err)
	assert.Empty(t, none.Data)
	assert.False(t, none.HasMore)
}
