package ragvsfttest

import (
	"context"

	"github.com/ragvsft/ragvsft"
)

// setBackend fills the model, trainer and embedder from cfg, defaulting to
// the embedded local ones.
func (s *OpenAIServer) setBackend(cfg ServerConfig) {
	s.base = cfg.BaseModel
	if s.base == nil {
		s.base = ragvsft.NewLocalModel()
	}
	s.newFineTuner = cfg.NewFineTuner
	if s.newFineTuner == nil {
		s.newFineTuner = func(seed int64, onEpoch func(int, float64)) ragvsft.FineTuner {
			return &ragvsft.LocalFineTuner{Seed: seed, OnEpoch: onEpoch}
		}
	}
	s.embed = cfg.Embed
	if s.embed == nil {
		s.embed = ragvsft.NewLocalEmbeddingFunc()
	}
}

// embedFunc is the shape of chromem-go's EmbeddingFunc.
type embedFunc = func(ctx context.Context, text string) ([]float32, error)
