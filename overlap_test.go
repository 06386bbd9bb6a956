package ragvsft_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// waitingFineTuner is the local fine-tuner that does not return before
// the experiment has told it, through release, that every base and rag
// item is answered: a run that asked them only after fine-tuning would
// never release it, and fails after the deadline.
type waitingFineTuner struct {
	ragvsft.LocalFineTuner
	release chan struct{}
	fail    error
}

func (f *waitingFineTuner) FineTune(ctx context.Context, req ragvsft.FineTuneRequest) (*ragvsft.FineTuned, error) {
	select {
	case <-f.release:
	case <-time.After(20 * time.Second):
		return nil, errors.New("the base and rag arms were not asked while fine-tuning ran")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.fail != nil {
		return nil, f.fail
	}
	return f.LocalFineTuner.FineTune(ctx, req)
}

func overlapExperiment(t *testing.T, ft *waitingFineTuner) *ragvsft.Experiment {
	t.Helper()
	ds := cities(t, 20)
	var mu sync.Mutex
	answered := 0
	exp := &ragvsft.Experiment{Dataset: ds, Base: ragvsft.NewLocalModel(), FineTuner: ft, Retriever: newRetriever(t), Concurrency: 3}
	exp.Results = ragvsft.ResultFunc(func(r ragvsft.Result) error {
		mu.Lock()
		defer mu.Unlock()
		if r.Arm == ragvsft.ArmBase || r.Arm == ragvsft.ArmRAG {
			if answered++; answered == 2*20 {
				close(ft.release)
			}
		}
		return nil
	})
	return exp
}

// The base and rag arms are asked while the fine-tuning runs; the
// fine-tuned arms once it is done; the report is the same as ever.
func TestArmsOverlapTheFineTuning(t *testing.T) {
	t.Parallel()
	ft := &waitingFineTuner{release: make(chan struct{})}
	rep, err := overlapExperiment(t, ft).Run(context.Background())
	require.NoError(t, err)
	assert.True(t, rep.Complete)
	require.NotNil(t, rep.FineTune)
	for i, a := range ragvsft.AllArms {
		for j := range 20 {
			r := rep.Results[i*20+j]
			assert.Equal(t, a, r.Arm, "arm-major order, whatever order the items were asked in")
			assert.Equal(t, ragvsft.OutcomeCorrect == r.Outcome, r.Verdict.Correct)
		}
	}
	s, _ := rep.Arm(ragvsft.ArmRAG)
	assert.Equal(t, 20, s.Correct)
}

// A fine-tuning that fails still leaves the base and rag arms' answers,
// already paid for, in the report (and, through Results, in a
// checkpoint); the run returns the fine-tuning's error.
func TestFailedFineTuningKeepsTheOtherArms(t *testing.T) {
	t.Parallel()
	ft := &waitingFineTuner{release: make(chan struct{}), fail: errors.New("job failed: the training file is invalid")}
	rep, err := overlapExperiment(t, ft).Run(context.Background())
	require.Error(t, err)
	assert.ErrorContains(t, err, "ragvsft: fine-tuning: job failed: the training file is invalid")
	assert.False(t, rep.Complete)
	assert.Nil(t, rep.FineTune)
	require.Len(t, rep.Results, 40)
	for _, r := range rep.Results {
		assert.False(t, r.Arm == ragvsft.ArmFineTuned || r.Arm == ragvsft.ArmFineTunedRAG, r.Arm)
	}
}
