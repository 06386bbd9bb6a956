package ragvsft

import "context"

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
	// JobID is the provider's job id, empty for local training.
	JobID string `json:"job_id,omitempty"`
	// Hyperparameters are the resolved values the job ran with.
	Hyperparameters Hyperparameters `json:"hyperparameters"`
	TrainedTokens   int             `json:"trained_tokens"`
}

// FineTuner trains a Model on a Dataset.
type FineTuner interface {
	FineTune(ctx context.Context, req FineTuneRequest) (*FineTuned, error)
}
