package ragvsft

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
)

// Errors of the FineTuners of this package (LocalFineTuner, OpenAIFineTuner,
// CommandFineTuner), refused before anything is trained or uploaded; test
// them with errors.Is.
var (
	// ErrNoTrainingData: the request has no training set, or nothing in
	// it to train on (no assistant reply).
	ErrNoTrainingData = errors.New("ragvsft: no training data")
	// ErrBadHyperparameters: a hyperparameter is negative or not finite.
	ErrBadHyperparameters = errors.New("ragvsft: invalid hyperparameters")
)

// Hyperparameters are a fine-tuning job's settings, as OpenAI names them.
// A zero field means "auto": resolved from the training set's size as
// OpenAI resolves it (see Resolve).
type Hyperparameters struct {
	Epochs                 int     `json:"n_epochs"`
	LearningRateMultiplier float64 `json:"learning_rate_multiplier"`
	BatchSize              int     `json:"batch_size"`
}

// FineTuneRequest is one fine-tuning job.
type FineTuneRequest struct {
	// BaseModel is the model to fine-tune, e.g. "gpt-3.5-turbo".
	BaseModel string
	Training  Dataset
	// Validation is optional.
	Validation      Dataset
	Hyperparameters Hyperparameters
	Suffix          string
	// Seed makes the job reproducible; 0 lets the provider choose.
	Seed int64
}

// FineTuned is the outcome of a fine-tuning job.
type FineTuned struct {
	// Model answers as the fine-tuned model.
	Model Model `json:"-"`
	// ModelID is the provider's name of the fine-tuned model.
	ModelID string `json:"model_id"`
	// JobID is the provider's job id (a CommandFineTuner's job key),
	// empty for local training.
	JobID string `json:"job_id,omitempty"`
	// Hyperparameters are the resolved values the job ran with.
	Hyperparameters Hyperparameters `json:"hyperparameters"`
	TrainedTokens   int             `json:"trained_tokens"`
	// Reused is true when the model came from a job an earlier run already
	// paid for (see OpenAIFineTuner.RunDir): nothing was trained this time.
	Reused bool `json:"reused,omitempty"`
	// Endpoint is set for a model fine-tuned elsewhere (NewOpenAIFineTuned):
	// the host of the server that serves it, e.g. "gpu-1:8000" or
	// "RESOURCE.openai.azure.com", never its key. The run trained nothing
	// and paid for no training: JobID, Hyperparameters and TrainedTokens
	// are zero.
	Endpoint string `json:"endpoint,omitempty"`
}

// NewOpenAIFineTuned returns a model fine-tuned elsewhere (Unsloth, TRL,
// Axolotl, Together, Azure OpenAI, Vertex, an earlier OpenAI job...) and
// served behind an OpenAI-compatible chat endpoint (vLLM with a LoRA
// adapter, Ollama, a llama.cpp server, an Azure deployment, OpenAI itself),
// for Experiment.FineTuned: the fine-tuned arms ask model through cfg, and
// nothing is uploaded or trained. cfg is that endpoint's own configuration
// (base URL, key): the base arms may use another (Experiment.Base). model is
// the name the server knows it by: vLLM's --lora-modules NAME, Ollama's
// model, the Azure deployment, an "ft:" id.
//
// The report names the endpoint's host and the model; a price table that
// does not know the model reports its calls as unpriced, not as free. It
// fails only on a bad configuration (see NewOpenAIModel).
func NewOpenAIFineTuned(cfg OpenAIConfig, model string) (*FineTuned, error) {
	m, err := NewOpenAIModel(cfg, model)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: fine-tuned model %q: %w", model, err)
	}
	base := cmp.Or(cfg.BaseURL, DefaultOpenAIBaseURL)
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("ragvsft: fine-tuned model %q: base URL: %w", model, err)
	}
	return &FineTuned{Model: m, ModelID: model, Endpoint: u.Host}, nil
}

// FineTuner trains a Model on a Dataset.
type FineTuner interface {
	FineTune(ctx context.Context, req FineTuneRequest) (*FineTuned, error)
}

// OpenAI's rule for "auto" epochs, as published in its fine-tuning data
// preparation cookbook.
const (
	targetEpochs      = 3
	minTargetExamples = 100
	maxTargetExamples = 25000
	minDefaultEpochs  = 1
	maxDefaultEpochs  = 25
	maxAutoBatchSize  = 256
)

// Resolve returns h with every "auto" (zero) field resolved for a training
// set of nExamples examples, as OpenAI resolves it; set fields are kept.
//
//   - Epochs: 3, unless 3 passes would show fewer than 100 examples
//     (then min(25, 100/n)) or more than 25000 (then max(1, 25000/n)),
//     with integer division, as in OpenAI's cookbook: 3 for 100 examples.
//   - BatchSize: about 0.2% of the examples, rounded, at least 1 and at
//     most 256, as OpenAI documents.
//   - LearningRateMultiplier: 0.05, 0.1 or 0.2 by the resolved batch size
//     (below 8, below 64, 64 and above). OpenAI documents these three
//     values, larger for larger batches, but not the thresholds: those are
//     our approximation.
//
// nExamples below 1 is treated as 1.
func (h Hyperparameters) Resolve(nExamples int) Hyperparameters {
	n := max(nExamples, 1)
	if h.Epochs == 0 {
		h.Epochs = targetEpochs
		switch {
		case n*targetEpochs < minTargetExamples:
			h.Epochs = min(maxDefaultEpochs, minTargetExamples/n)
		case n*targetEpochs > maxTargetExamples:
			h.Epochs = max(minDefaultEpochs, maxTargetExamples/n)
		}
	}
	if h.BatchSize == 0 {
		h.BatchSize = min(max(int(math.Round(0.002*float64(n))), 1), maxAutoBatchSize)
	}
	if h.LearningRateMultiplier == 0 {
		switch {
		case h.BatchSize < 8:
			h.LearningRateMultiplier = 0.05
		case h.BatchSize < 64:
			h.LearningRateMultiplier = 0.1
		default:
			h.LearningRateMultiplier = 0.2
		}
	}
	return h
}
