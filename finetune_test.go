package ragvsft

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHyperparametersResolve(t *testing.T) {
	tests := []struct {
		name string
		in   Hyperparameters
		n    int
		want Hyperparameters
	}{
		{"article: 100 examples", Hyperparameters{}, 100, Hyperparameters{Epochs: 3, BatchSize: 1, LearningRateMultiplier: 0.05}},
		{"34 examples: 102 seen, still 3", Hyperparameters{}, 34, Hyperparameters{Epochs: 3, BatchSize: 1, LearningRateMultiplier: 0.05}},
		{"33 examples: 100/33", Hyperparameters{}, 33, Hyperparameters{Epochs: 3, BatchSize: 1, LearningRateMultiplier: 0.05}},
		{"20 examples: 100/20", Hyperparameters{}, 20, Hyperparameters{Epochs: 5, BatchSize: 1, LearningRateMultiplier: 0.05}},
		{"10 examples", Hyperparameters{}, 10, Hyperparameters{Epochs: 10, BatchSize: 1, LearningRateMultiplier: 0.05}},
		{"1 example: capped at 25", Hyperparameters{}, 1, Hyperparameters{Epochs: 25, BatchSize: 1, LearningRateMultiplier: 0.05}},
		{"0 examples treated as 1", Hyperparameters{}, 0, Hyperparameters{Epochs: 25, BatchSize: 1, LearningRateMultiplier: 0.05}},
		{"1000 examples: batch 2", Hyperparameters{}, 1000, Hyperparameters{Epochs: 3, BatchSize: 2, LearningRateMultiplier: 0.05}},
		{"8333 examples: 24999 seen", Hyperparameters{}, 8333, Hyperparameters{Epochs: 3, BatchSize: 17, LearningRateMultiplier: 0.1}},
		{"10000 examples: 25000/10000", Hyperparameters{}, 10000, Hyperparameters{Epochs: 2, BatchSize: 20, LearningRateMultiplier: 0.1}},
		{"40000 examples: at least 1", Hyperparameters{}, 40000, Hyperparameters{Epochs: 1, BatchSize: 80, LearningRateMultiplier: 0.2}},
		{"200000 examples: batch capped", Hyperparameters{}, 200000, Hyperparameters{Epochs: 1, BatchSize: 256, LearningRateMultiplier: 0.2}},
		{"set fields kept", Hyperparameters{Epochs: 30, BatchSize: 4, LearningRateMultiplier: 2}, 100, Hyperparameters{Epochs: 30, BatchSize: 4, LearningRateMultiplier: 2}},
		{"multiplier follows a set batch size", Hyperparameters{BatchSize: 64}, 100, Hyperparameters{Epochs: 3, BatchSize: 64, LearningRateMultiplier: 0.2}},
		{"batch 8 is the middle band", Hyperparameters{BatchSize: 8}, 100, Hyperparameters{Epochs: 3, BatchSize: 8, LearningRateMultiplier: 0.1}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.name), func(t *testing.T) {
			assert.Equal(t, tt.want, tt.in.Resolve(tt.n))
		})
	}
}
