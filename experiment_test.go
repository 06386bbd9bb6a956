package ragvsft_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

func cities(t testing.TB, n int) *ragvsft.JSONLDataset {
	t.Helper()
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(n, ragvsft.CitiesSeed)), "cities.jsonl")
	require.NoError(t, err)
	return ds
}

func newRetriever(t testing.TB) *ragvsft.ChromemRetriever {
	t.Helper()
	r, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{})
	require.NoError(t, err)
	return r
}

// The article's experiment, offline: RAG knows the cities, the fine-tuned
// model at default hyperparameters mostly does not, the base model knows
// nothing.
func TestCitiesExperimentReproducesTheArticle(t *testing.T) {
	exp := &ragvsft.Experiment{
		Dataset:   cities(t, ragvsft.CitiesCount),
		Base:      ragvsft.NewLocalModel(),
		BaseModel: "local-base",
		FineTuner: ragvsft.LocalFineTuner{},
		Retriever: newRetriever(t),
	}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Complete)
	require.Len(t, rep.Results, 4*ragvsft.CitiesCount)

	acc := map[ragvsft.Arm]float64{}
	for _, s := range rep.Arms {
		assert.Equal(t, ragvsft.CitiesCount, s.Answered, "arm %s", s.Arm)
		assert.Zero(t, s.Errors, "arm %s", s.Arm)
		acc[s.Arm] = s.Accuracy
	}
	assert.Zero(t, acc[ragvsft.ArmBase], "the base model cannot know fake cities")
	assert.GreaterOrEqual(t, acc[ragvsft.ArmRAG], 0.99)
	assert.GreaterOrEqual(t, acc[ragvsft.ArmFineTunedRAG], 0.99)
	assert.Less(t, acc[ragvsft.ArmFineTuned], acc[ragvsft.ArmRAG]-0.5, "fine-tuning at default hyperparameters lands far below rag")

	require.NotNil(t, rep.Retrieval)
	assert.GreaterOrEqual(t, rep.Retrieval.HitAtK, 0.99)
	require.NotNil(t, rep.McNemar)
	assert.Less(t, rep.McNemar.PValue, 1e-6)
	require.NotNil(t, rep.FineTune)
	assert.Equal(t, 3, rep.FineTune.Hyperparameters.Epochs, "auto resolves to 3 epochs for 100 examples, as OpenAI does")

	for _, r := range rep.Results {
		if r.Arm == ragvsft.ArmRAG {
			assert.Len(t, r.Retrieved, ragvsft.DefaultK)
			if !r.Verdict.Correct {
				t.Logf("rag missed %s: %q (gold rank %d)", r.QuestionID, r.Answer, r.GoldRank)
			}
		}
		if r.Arm == ragvsft.ArmBase {
			assert.Equal(t, -1, r.GoldRank)
			assert.Empty(t, r.Retrieved)
		}
	}

	var md strings.Builder
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "| rag |")
	assert.Contains(t, md.String(), "McNemar")
}

// flakyModel wraps a real model and fails the questions it is told to, to
// check that failures are recorded apart and the run goes on.
type flakyModel struct {
	ragvsft.Model
	failOn string
	calls  atomic.Int32
}

func (m *flakyModel) Chat(ctx context.Context, req ragvsft.ChatRequest) (ragvsft.ChatResponse, error) {
	m.calls.Add(1)
	if strings.Contains(req.Messages[len(req.Messages)-1].Content, m.failOn) {
		return ragvsft.ChatResponse{}, errors.New("upstream said 503")
	}
	return m.Model.Chat(ctx, req)
}

func TestFailedItemsAreErrorsNotWrongAnswers(t *testing.T) {
	model := &flakyModel{Model: ragvsft.NewLocalModel(), failOn: "City_7?"}
	exp := &ragvsft.Experiment{
		Dataset:   cities(t, 20),
		Base:      model,
		Retriever: newRetriever(t),
		Arms:      []ragvsft.Arm{ragvsft.ArmRAG},
	}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	s, _ := rep.Arm(ragvsft.ArmRAG)
	assert.Equal(t, 1, s.Errors)
	assert.Equal(t, 19, s.Answered)
	assert.Equal(t, 19, s.Correct)
	for _, r := range rep.Results {
		if r.QuestionID == "line 7" {
			assert.Contains(t, r.Error, "503")
			assert.False(t, r.Verdict.Correct)
		}
	}
}

// slowModel adds latency to a real model so a cancellation lands mid-run.
type slowModel struct {
	ragvsft.Model
	delay time.Duration
	calls atomic.Int32
}

func (m *slowModel) Chat(ctx context.Context, req ragvsft.ChatRequest) (ragvsft.ChatResponse, error) {
	m.calls.Add(1)
	select {
	case <-time.After(m.delay):
	case <-ctx.Done():
		return ragvsft.ChatResponse{}, ctx.Err()
	}
	return m.Model.Chat(ctx, req)
}

func TestCancelMidRunReturnsPromptlyWithFinishedResults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var done atomic.Int32
	model := &slowModel{Model: ragvsft.NewLocalModel(), delay: 20 * time.Millisecond}
	exp := &ragvsft.Experiment{
		Dataset:     cities(t, 50),
		Base:        model,
		Retriever:   newRetriever(t),
		Arms:        []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmRAG},
		Concurrency: 2,
		Results: ragvsft.ResultFunc(func(ragvsft.Result) error {
			if done.Add(1) == 10 {
				cancel()
			}
			return nil
		}),
	}
	start := time.Now()
	rep, err := exp.Run(ctx)
	// Uncancelled, the run takes 100 calls x 20 ms / 2 workers = 1 s; a
	// generous bound keeps this from flaking on a loaded machine.
	assert.Less(t, time.Since(start), 10*time.Second, "returns promptly")
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, rep)
	assert.False(t, rep.Complete)
	assert.GreaterOrEqual(t, len(rep.Results), 10, "what was finished is kept")
	assert.Less(t, len(rep.Results), 100)
	// At most one call in flight per worker, and one more that the feeder
	// may hand out as the cancel lands.
	assert.LessOrEqual(t, int(model.calls.Load()), len(rep.Results)+2+1, "no work is handed out after the cancel")
	for _, r := range rep.Results {
		assert.Empty(t, r.Error, "a cancelled call is unfinished, not an error")
	}
}

// A run killed part way and resumed from its checkpoint asks only what was
// missing and ends with the report an uninterrupted run gives.
func TestResumeFromCheckpointAsksOnlyWhatIsMissing(t *testing.T) {
	ds := cities(t, 30)
	ft, err := ragvsft.LocalFineTuner{}.FineTune(context.Background(), ragvsft.FineTuneRequest{Training: ds, Seed: 42})
	require.NoError(t, err)
	newExp := func(m ragvsft.Model) *ragvsft.Experiment {
		return &ragvsft.Experiment{
			Dataset:   ds,
			Base:      m,
			FineTuned: &ragvsft.FineTuned{Model: m, ModelID: "same"},
			Retriever: newRetriever(t),
		}
	}

	whole, err := newExp(ft.Model).Run(context.Background())
	require.NoError(t, err)

	path := filepath.Join(t.TempDir(), "checkpoint.jsonl")
	cp, err := ragvsft.OpenCheckpoint(path)
	require.NoError(t, err)
	require.Empty(t, cp.Previous())
	first := &slowModel{Model: ft.Model}
	ctx, cancel := context.WithCancel(context.Background())
	exp := newExp(first)
	var mu sync.Mutex
	exp.Results = ragvsft.ResultFunc(func(r ragvsft.Result) error {
		mu.Lock()
		defer mu.Unlock()
		if first.calls.Load() >= 50 {
			cancel()
		}
		return cp.Append(r)
	})
	_, err = exp.Run(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, cp.Close())

	cp, err = ragvsft.OpenCheckpoint(path)
	require.NoError(t, err)
	defer cp.Close()
	prev := cp.Previous()
	require.NotEmpty(t, prev)
	second := &slowModel{Model: ft.Model}
	exp = newExp(second)
	exp.Results = cp
	resumed, err := exp.Run(context.Background())
	require.NoError(t, err)

	assert.EqualValues(t, 4*30-len(prev), second.calls.Load(), "only the missing items are asked")
	require.Len(t, resumed.Results, len(whole.Results))
	for i := range whole.Results {
		w, r := whole.Results[i], resumed.Results[i]
		assert.Equal(t, w.Arm, r.Arm)
		assert.Equal(t, w.QuestionID, r.QuestionID)
		assert.Equal(t, w.Answer, r.Answer)
		assert.Equal(t, w.Verdict, r.Verdict)
	}
	for i := range whole.Arms {
		w, r := whole.Arms[i], resumed.Arms[i]
		assert.Equal(t, w.Correct, r.Correct)
		assert.Equal(t, w.Answered, r.Answered)
		assert.Equal(t, w.CILow, r.CILow)
	}
	assert.Equal(t, whole.McNemar, resumed.McNemar)
}

// exampleSlice is a Dataset that is not a JSONLDataset: what a program that
// builds its knowledge base in memory would pass.
type exampleSlice []ragvsft.Example

func (e exampleSlice) Examples() []ragvsft.Example { return e }

// countingRetriever counts Index calls, to prove nothing is indexed (or
// spent) on a bad dataset.
type countingRetriever struct {
	*ragvsft.ChromemRetriever
	indexed atomic.Int32
}

func (r *countingRetriever) Index(ctx context.Context, docs []ragvsft.Document) error {
	r.indexed.Add(1)
	return r.ChromemRetriever.Index(ctx, docs)
}

func TestBadInMemoryDatasetIsRejectedBeforeAnythingIsSpent(t *testing.T) {
	good := cities(t, 3).Examples()
	bad := append(exampleSlice{}, good...)
	bad = append(bad, ragvsft.Example{ID: "robot", Messages: []ragvsft.Message{{Role: "robot", Content: "beep"}, {Role: ragvsft.RoleAssistant, Content: "boop"}}})
	retriever := &countingRetriever{ChromemRetriever: newRetriever(t)}
	exp := &ragvsft.Experiment{
		Dataset:   bad,
		Base:      ragvsft.NewLocalModel(),
		FineTuner: ragvsft.LocalFineTuner{},
		Retriever: retriever,
	}
	rep, err := exp.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"robot"`)
	t.Log(err)
	assert.Zero(t, retriever.indexed.Load(), "nothing was indexed")
	if rep != nil {
		assert.Empty(t, rep.Results)
	}

	// A user turn makes a question of it, so only the role is wrong now.
	bad[len(bad)-1].Messages = append([]ragvsft.Message{{Role: ragvsft.RoleUser, Content: "hi?"}}, bad[len(bad)-1].Messages...)
	_, err = exp.Run(context.Background())
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), `unknown role "robot"`)
	assert.Zero(t, retriever.indexed.Load(), "nothing was indexed")

	exp.Dataset = exampleSlice(good)
	rep, err = exp.Run(context.Background())
	require.NoError(t, err)
	assert.Len(t, rep.Results, 12)
}

// resumeFrom is a ResultStore holding previous in memory, as a Checkpoint
// opened with RetryErrors (retry) would; each new result goes to appended,
// if set.
func resumeFrom(previous []ragvsft.Result, retry bool, appended func(ragvsft.Result)) ragvsft.ResultStore {
	if retry {
		previous = slices.DeleteFunc(slices.Clone(previous), func(r ragvsft.Result) bool { return r.Error != "" })
	}
	return memoryStore{previous, appended}
}

type memoryStore struct {
	previous []ragvsft.Result
	appended func(ragvsft.Result)
}

func (m memoryStore) Previous() []ragvsft.Result { return m.previous }

func (m memoryStore) Append(r ragvsft.Result) error {
	if m.appended != nil {
		m.appended(r)
	}
	return nil
}
