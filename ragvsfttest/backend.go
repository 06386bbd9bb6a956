package ragvsfttest

import (
	"context"
	"fmt"

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
			return ragvsft.LocalFineTuner{Seed: seed, OnEpoch: onEpoch}
		}
	}
	if cfg.Embed != nil {
		s.embed = func(ctx context.Context, text, model string, dims int) ([]float32, error) {
			v, err := cfg.Embed(ctx, text)
			if err != nil || dims == 0 {
				return v, err
			}
			if dims > len(v) {
				return nil, fmt.Errorf("%w: the embeddings have %d dimensions, fewer than %d", errDimensions, len(v), dims)
			}
			return shorten(v, dims), nil
		}
		return
	}
	s.embed = func(ctx context.Context, text, model string, dims int) ([]float32, error) {
		if dims == 0 {
			dims = nativeDims(model)
		}
		return ragvsft.NewLocalEmbeddingFunc(dims)(ctx, text)
	}
}

// nativeDims is the length of a model's embeddings: OpenAI's for its
// models, so code sized for them works, else the local default.
func nativeDims(model string) int {
	switch model {
	case "text-embedding-3-small", "text-embedding-ada-002":
		return 1536
	case "text-embedding-3-large":
		return 3072
	}
	return ragvsft.DefaultLocalEmbeddingDims
}

// embedFunc embeds text for model, with dims dimensions (0: the model's).
type embedFunc = func(ctx context.Context, text, model string, dims int) ([]float32, error)
