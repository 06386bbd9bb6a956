package ragvsfttest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/ragvsft/ragvsft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFineTuneOverTheWire runs a whole fine-tuning through the real client:
// upload, create, poll, events, then chat with the fine-tuned model, which
// answers from what the job really trained into the local model.
func TestFineTuneOverTheWire(t *testing.T) {
	const nCities, epochs = 20, 30
	data := ragvsft.CitiesJSONL(nCities, 42)
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(data), "cities.jsonl")
	require.NoError(t, err)

	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()
	f := upload(t, c, "cities.jsonl", string(data))
	created, err := c.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{
		Model:        "gpt-4o-mini-2024-07-18",
		TrainingFile: f.ID,
		Suffix:       openai.String("cities"),
		Seed:         openai.Int(7),
		Method: openai.FineTuningJobNewParamsMethod{Type: "supervised", Supervised: openai.SupervisedMethodParam{
			Hyperparameters: openai.SupervisedHyperparameters{NEpochs: openai.SupervisedHyperparametersNEpochsUnion{OfInt: openai.Int(epochs)}},
		}},
	})
	require.NoError(t, err)
	assert.Equal(t, openai.FineTuningJobStatusValidatingFiles, created.Status)
	assert.Equal(t, int64(7), created.Seed)

	j := waitJob(t, c, created.ID)
	require.Equal(t, openai.FineTuningJobStatusSucceeded, j.Status, "error: %+v", j.Error)
	assert.True(t, strings.HasPrefix(j.FineTunedModel, "ft:gpt-4o-mini-2024-07-18:ragvsft:cities:"), j.FineTunedModel)
	assert.Equal(t, int64(epochs), j.Hyperparameters.NEpochs.OfInt)
	assert.Equal(t, int64(1), j.Hyperparameters.BatchSize.OfInt, "auto resolved to a number")
	assert.Positive(t, j.Hyperparameters.LearningRateMultiplier.OfFloat)
	assert.Equal(t, j.Hyperparameters.NEpochs.OfInt, j.Method.Supervised.Hyperparameters.NEpochs.OfInt)
	assert.Positive(t, j.TrainedTokens)
	assert.Zero(t, j.TrainedTokens%epochs, "tokens x epochs")
	assert.GreaterOrEqual(t, j.FinishedAt, j.CreatedAt)

	require.Len(t, j.ResultFiles, 1)
	res, err := c.Files.Content(ctx, j.ResultFiles[0])
	require.NoError(t, err)
	csv, err := io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	require.NoError(t, err)
	assert.Equal(t, epochs+1, strings.Count(string(csv), "\n"), "a header and one row per step:\n%s", csv)

	// Events, newest first, paged five at a time by the client's auto-pager.
	pager := c.FineTuning.Jobs.ListEventsAutoPaging(ctx, j.ID, openai.FineTuningJobListEventsParams{Limit: openai.Int(5)})
	var events []openai.FineTuningJobEvent
	seen := map[string]bool{}
	for pager.Next() {
		e := pager.Current()
		assert.False(t, seen[e.ID], "event %s twice", e.ID)
		seen[e.ID] = true
		events = append(events, e)
	}
	require.NoError(t, pager.Err())
	require.NotEmpty(t, events)
	assert.Equal(t, "The job has successfully completed", events[0].Message)
	var losses []float64
	for _, e := range events {
		if e.Type == openai.FineTuningJobEventTypeMetrics {
			d, ok := e.Data.(map[string]any)
			require.True(t, ok, "metrics data: %#v", e.Data)
			losses = append([]float64{d["train_loss"].(float64)}, losses...)
		}
	}
	require.Len(t, losses, epochs)
	assert.Less(t, losses[len(losses)-1], losses[0]/2, "training loss falls: %v", losses)
	assert.Greater(t, s.Stats().Requests["GET /v1/fine_tuning/jobs/{id}/events"], epochs/5, "several pages")

	// The fine-tuned model recalls trained facts; the base model does not.
	qs, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	recalled, baseRecalled := 0, 0
	for _, q := range qs {
		ask := func(model string) string {
			resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:               model,
				Messages:            []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You're a helpful assistant"), openai.UserMessage(q.Text)},
				Temperature:         openai.Float(0),
				Seed:                openai.Int(42),
				MaxCompletionTokens: openai.Int(400),
			})
			require.NoError(t, err)
			require.Len(t, resp.Choices, 1)
			assert.Equal(t, model, resp.Model)
			assert.NotEmpty(t, resp.SystemFingerprint)
			assert.Positive(t, resp.Usage.PromptTokens)
			return resp.Choices[0].Message.Content
		}
		if ask(j.FineTunedModel) == q.Gold {
			recalled++
		}
		base := ask("gpt-4o-mini-2024-07-18")
		assert.Equal(t, "I don't know.", base)
		if base == q.Gold {
			baseRecalled++
		}
	}
	t.Logf("fine-tuned model recalled %d/%d facts after %d epochs", recalled, len(qs), epochs)
	assert.GreaterOrEqual(t, recalled, len(qs)*9/10)
	assert.Zero(t, baseRecalled)
	assert.Equal(t, 2*len(qs), s.Stats().ChatCompletions)

	m, err := c.Models.Get(ctx, j.FineTunedModel)
	require.NoError(t, err)
	assert.Equal(t, j.FineTunedModel, m.ID)
	assert.Equal(t, 1, s.Stats().JobsCreated)
}
