package ragvsfttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/ragvsft/ragvsft"
)

// keptCheckpoints is how many epochs' checkpoints a job keeps: OpenAI keeps
// those of the last three epochs.
const keptCheckpoints = 3

// checkpoint is a fine-tuning job's checkpoint, as the API shows it
// (FineTuningJobCheckpoint).
type checkpoint struct {
	ID                       string            `json:"id"`
	Object                   string            `json:"object"`
	CreatedAt                int64             `json:"created_at"`
	FineTunedModelCheckpoint string            `json:"fine_tuned_model_checkpoint"`
	FineTuningJobID          string            `json:"fine_tuning_job_id"`
	StepNumber               int               `json:"step_number"`
	Metrics                  checkpointMetrics `json:"metrics"`
}

// checkpointMetrics holds the metrics the job measured at the checkpoint's
// step. The token accuracies and validation losses, which the spec also
// lists, are left out: the trainer does not measure them.
type checkpointMetrics struct {
	Step      float64 `json:"step"`
	TrainLoss float64 `json:"train_loss"`
}

// epochTrainer is the optional ability of a trainer (from
// ServerConfig.NewFineTuner) to return, from one training run, the model as
// it was after each of several epochs, as ragvsft.LocalFineTuner does. With
// it every checkpoint a job lists answers chat completions; without it only
// the last epoch's checkpoint is listed, since it is the only model trained.
type epochTrainer interface {
	FineTuneEpochs(ctx context.Context, req ragvsft.FineTuneRequest, epochs ...int) ([]*ragvsft.FineTuned, error)
}

var _ epochTrainer = ragvsft.LocalFineTuner{}

// train runs a job's training with trainer. It returns the final model and
// the models of the last epochs to keep as checkpoints, oldest first; the
// last of them is the final model.
func train(ctx context.Context, trainer ragvsft.FineTuner, req ragvsft.FineTuneRequest) (*ragvsft.FineTuned, []ragvsft.Model, error) {
	et, ok := trainer.(epochTrainer)
	if !ok || req.Hyperparameters.Epochs < 1 {
		res, err := trainer.FineTune(ctx, req)
		if err != nil {
			return nil, nil, err
		}
		return res, []ragvsft.Model{res.Model}, nil
	}
	var epochs []int
	for e := max(1, req.Hyperparameters.Epochs-keptCheckpoints+1); e <= req.Hyperparameters.Epochs; e++ {
		epochs = append(epochs, e)
	}
	fts, err := et.FineTuneEpochs(ctx, req, epochs...)
	if err != nil {
		return nil, nil, err
	}
	if len(fts) != len(epochs) {
		return nil, nil, fmt.Errorf("ragvsft: the trainer returned %d models for %d epoch counts %v", len(fts), len(epochs), epochs)
	}
	models := make([]ragvsft.Model, len(fts))
	for i, ft := range fts {
		models[i] = ft.Model
	}
	return fts[len(fts)-1], models, nil
}

// addCheckpointsLocked records a succeeded job's checkpoints, one per model
// of models (oldest first, as train returns them), from its last metrics
// events, and serves each checkpoint's model as
// "ft:BASE:ragvsft:SUFFIX:HASH:ckpt-step-N".
func (s *OpenAIServer) addCheckpointsLocked(j *job, suffix string, models []ragvsft.Model) {
	var metrics []event
	for _, e := range j.events {
		if e.Type == "metrics" {
			metrics = append(metrics, e)
		}
	}
	n := min(len(models), len(metrics))
	models, metrics = models[len(models)-n:], metrics[len(metrics)-n:]
	for i, e := range metrics {
		step, _ := number(e.Data["step"])
		loss, _ := number(e.Data["train_loss"])
		sum := sha256.Sum256(fmt.Appendf(nil, "%s:%d", j.view.ID, int(step)))
		name := fmt.Sprintf("ft:%s:ragvsft:%s:%s:ckpt-step-%d", j.view.Model, suffix, hex.EncodeToString(sum[:])[:8], int(step))
		j.checkpoints = append(j.checkpoints, checkpoint{
			ID:                       newID("ftckpt_", 24),
			Object:                   "fine_tuning.job.checkpoint",
			CreatedAt:                e.CreatedAt,
			FineTunedModelCheckpoint: name,
			FineTuningJobID:          j.view.ID,
			StepNumber:               int(step),
			Metrics:                  checkpointMetrics{Step: step, TrainLoss: loss},
		})
		s.models[name] = models[i]
		s.modelCreated[name] = e.CreatedAt
	}
}

// number reads a metric an event holds as a Go number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// listCheckpoints lists a job's checkpoints newest first, with OpenAI's
// after/limit cursor (limit 10 by default). A job has checkpoints once it
// has succeeded.
func (s *OpenAIServer) listCheckpoints(w http.ResponseWriter, r *http.Request) {
	listNewestFirst(s, w, r, 10, func(j *job) []checkpoint { return j.checkpoints }, func(c checkpoint) string { return c.ID })
}
