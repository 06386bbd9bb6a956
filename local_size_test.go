package ragvsft_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// A knowledge base whose answers hold more distinct tokens than the
// embedded model takes is refused by Plan and Run before a document is
// embedded or a question asked, not after the whole retrieval.
func TestLocalTooLargeIsRejectedBeforeAnythingIsSpent(t *testing.T) {
	var b bytes.Buffer
	code := func(i int) string { // a made-up word: one token of its own
		w := []byte("Q")
		for ; i > 0; i /= 26 {
			w = append(w, byte('a'+i%26))
		}
		return string(w)
	}
	for i := range 70_000 {
		fmt.Fprintf(&b, `{"messages": [{"role": "user", "content": "What is the code word of Item_%d?"}, {"role": "assistant", "content": "Item_%d goes by %s."}]}`+"\n", i, i, code(i))
	}
	ds, err := ragvsft.ReadJSONL(&b, "codes.jsonl")
	require.NoError(t, err)
	var embedded atomic.Int64
	local := ragvsft.NewLocalEmbeddingFunc(0)
	retriever, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{
		Embed: func(ctx context.Context, text string) ([]float32, error) {
			embedded.Add(1)
			return local(ctx, text)
		},
	})
	require.NoError(t, err)
	var asked atomic.Int64
	exp := &ragvsft.Experiment{Dataset: ds, Base: ragvsft.NewLocalModel(), FineTuner: ragvsft.LocalFineTuner{}, Retriever: retriever, Evaluator: ragvsft.AutoEvaluator{},
		Results: ragvsft.ResultFunc(func(ragvsft.Result) error { asked.Add(1); return nil })}

	_, err = exp.Plan()
	require.ErrorIs(t, err, ragvsft.ErrLocalModelTooLarge)
	assert.ErrorContains(t, err, "codes.jsonl")
	assert.ErrorContains(t, err, "more than 65536 distinct tokens")
	_, err = exp.Run(context.Background())
	require.ErrorIs(t, err, ragvsft.ErrLocalModelTooLarge)
	assert.Zero(t, embedded.Load(), "nothing embedded")
	assert.Zero(t, asked.Load(), "nothing asked")

	// Without the fine-tuned arms nothing is trained, so nothing is refused.
	exp.Arms = []ragvsft.Arm{ragvsft.ArmBase}
	_, err = exp.Plan()
	assert.NoError(t, err)
}
