package localmodel

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var colours = []string{"red", "green", "blue", "amber", "violet", "teal"}

// things is a small knowledge base unlike the cities: Thing_i has a colour.
func things(n int) []Sequence {
	var seqs []Sequence
	for i := range n {
		seqs = append(seqs, Sequence{
			Prompt: fmt.Sprintf("Which colour does Thing_%d have?", i),
			Reply:  fmt.Sprintf("Thing_%d is %s.", i, colours[(i*7+i/3)%len(colours)]),
		})
	}
	return seqs
}

var trainOpts = TrainOptions{Epochs: 20, BatchSize: 1, LearningRate: 5, Seed: 1}

func greedy(t *testing.T, m *Model, prompt string) Generation {
	t.Helper()
	g, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxTokens: 50})
	require.NoError(t, err)
	return g
}

func TestTrainBadOptions(t *testing.T) {
	tests := []TrainOptions{
		{Epochs: 0, BatchSize: 1, LearningRate: 1},
		{Epochs: 1, BatchSize: 0, LearningRate: 1},
		{Epochs: 1, BatchSize: 1, LearningRate: 0},
		{Epochs: 1, BatchSize: 1, LearningRate: math.NaN()},
		{Epochs: 1, BatchSize: 1, LearningRate: math.Inf(1)},
	}
	for _, opt := range tests {
		t.Run(fmt.Sprintf("%+v", opt), func(t *testing.T) {
			_, err := Train(context.Background(), things(3), opt)
			assert.ErrorIs(t, err, ErrBadOptions)
		})
	}
	_, err := TrainSnapshots(context.Background(), things(3), trainOpts, nil)
	assert.ErrorIs(t, err, ErrBadOptions)
	_, err = TrainSnapshots(context.Background(), things(3), trainOpts, []int{2, 0})
	assert.ErrorIs(t, err, ErrBadOptions)
}

func TestEmptyModelGeneratesNothing(t *testing.T) {
	for _, m := range []*Model{nil, {}} {
		assert.True(t, m.Empty())
		g, err := m.Generate(context.Background(), "Which colour does Thing_1 have?", GenerateOptions{MaxTokens: 10})
		require.NoError(t, err)
		assert.Empty(t, g.Tokens)
	}
	m, err := Train(context.Background(), nil, trainOpts)
	require.NoError(t, err)
	assert.True(t, m.Empty())
}

// The memory is a language model, not a table: it recalls trained facts
// under a longer wording of the question, and for an entity it never saw
// it copies the entity's name from the question into the template, with a
// fact it made up, instead of failing or returning a stored string.
func TestModelRecallsAndGeneralizes(t *testing.T) {
	seqs := things(30)
	m, err := Train(context.Background(), seqs, trainOpts)
	require.NoError(t, err)
	leastSure := 1.0
	for i, s := range seqs {
		g := greedy(t, m, fmt.Sprintf("Please answer. Which colour does Thing_%d have?", i))
		assert.Equal(t, s.Reply, strings.Join(g.Tokens, ""))
		leastSure = min(leastSure, math.Exp(g.MeanLogProb))
	}
	unseen := greedy(t, m, "Which colour does Thing_99 have?")
	require.NotEmpty(t, unseen.Tokens)
	t.Logf("unseen: %q, %d copied", unseen.Tokens, unseen.Copied)
	require.Greater(t, len(unseen.Tokens), 3)
	assert.Equal(t, []string{"Thing", "_", "99"}, unseen.Tokens[:3], "the entity is copied from the question, piece by piece")
	assert.Contains(t, unseen.Tokens, " is", "the template is learned")
	assert.GreaterOrEqual(t, unseen.Copied, 1, "99 is no token of the replies: only a copy can say it")
	assert.Less(t, math.Exp(unseen.MeanLogProb), leastSure, "but nothing about Thing_99")
	t.Logf("confidence: least of the trained %.2f, unseen %.2f", leastSure, math.Exp(unseen.MeanLogProb))
}

func TestMoreEpochsMemorizeMore(t *testing.T) {
	seqs := things(60)
	counts := []int{1, 3, 30}
	var losses []float64
	opt := trainOpts
	opt.LearningRate = 2
	opt.OnEpoch = func(_ int, loss float64) { losses = append(losses, loss) }
	ms, err := TrainSnapshots(context.Background(), seqs, opt, counts)
	require.NoError(t, err)
	for i := 1; i < len(losses); i++ {
		assert.Less(t, losses[i], losses[i-1], "epoch %d", i+1)
	}
	var recalled []int
	for _, m := range ms {
		n := 0
		for _, s := range seqs {
			if strings.Join(greedy(t, m, s.Prompt).Tokens, "") == s.Reply {
				n++
			}
		}
		recalled = append(recalled, n)
	}
	t.Logf("recalled after %v epochs: %v of %d", counts, recalled, len(seqs))
	assert.Less(t, recalled[0], len(seqs)/2)
	assert.Less(t, recalled[0], recalled[2])
	assert.LessOrEqual(t, recalled[1], recalled[2])
	assert.Equal(t, len(seqs), recalled[2])
}

func TestTrainIsDeterministicAndSnapshotsMatch(t *testing.T) {
	seqs := things(20)
	opt := trainOpts
	opt.BatchSize = 3
	snaps, err := TrainSnapshots(context.Background(), seqs, opt, []int{7, 2})
	require.NoError(t, err)
	for i, epochs := range []int{7, 2} {
		opt.Epochs = epochs
		m, err := Train(context.Background(), seqs, opt)
		require.NoError(t, err)
		assert.Equal(t, m, snaps[i], "epochs %d", epochs)
	}
	opt.Seed = 2
	other, err := Train(context.Background(), seqs, opt)
	require.NoError(t, err)
	assert.NotEqual(t, snaps[1], other, "the seed drives the shuffle")
}

func TestSamplingIsSeeded(t *testing.T) {
	opt := trainOpts
	opt.Epochs = 2
	m, err := Train(context.Background(), things(30), opt)
	require.NoError(t, err)
	gen := func(seed uint64) string {
		g, err := m.Generate(context.Background(), "Which colour does Thing_4 have?", GenerateOptions{MaxTokens: 20, Temperature: 1, Seed: seed})
		require.NoError(t, err)
		return strings.Join(g.Tokens, "")
	}
	seen := map[string]bool{}
	for seed := range uint64(20) {
		assert.Equal(t, gen(seed), gen(seed))
		seen[gen(seed)] = true
	}
	assert.Greater(t, len(seen), 1, "different seeds sample differently")
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Train(ctx, things(5), trainOpts)
	assert.ErrorIs(t, err, context.Canceled)
	m, err := Train(context.Background(), things(5), trainOpts)
	require.NoError(t, err)
	_, err = m.Generate(ctx, "Which colour does Thing_1 have?", GenerateOptions{MaxTokens: 5})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestGenerateMaxTokens(t *testing.T) {
	m, err := Train(context.Background(), things(5), trainOpts)
	require.NoError(t, err)
	g, err := m.Generate(context.Background(), "Which colour does Thing_1 have?", GenerateOptions{MaxTokens: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"Thing", "_"}, g.Tokens)
	assert.True(t, g.Truncated)
}

func TestExpNeg(t *testing.T) {
	for x := -30.0; x <= 0; x += 0.0137 {
		want := math.Exp(x)
		assert.InEpsilon(t, want, expNeg(x), 2e-7, "x=%g", x)
	}
	assert.Equal(t, 1.0, expNeg(0))
}

func TestTrainTooLarge(t *testing.T) {
	// More distinct reply tokens than MaxVocabulary: refused by CheckSize
	// and by Train, before any feature is built.
	word := func(i int) string {
		b := []byte("w")
		for ; i > 0; i /= 26 {
			b = append(b, byte('a'+i%26))
		}
		return string(b)
	}
	var seqs []Sequence
	for i := range MaxVocabulary - 1 { // End is the last token
		seqs = append(seqs, Sequence{Prompt: "Q", Reply: word(i)})
	}
	require.NoError(t, CheckSize(seqs), "exactly MaxVocabulary tokens with End")
	seqs = append(seqs, Sequence{Prompt: "Q", Reply: "onemore"})
	assert.ErrorIs(t, CheckSize(seqs), ErrTooLarge)
	_, err := Train(context.Background(), seqs, trainOpts)
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.NoError(t, CheckSize(things(100)))
}

// Beyond the dense cap the rest of the rows are sparse: the model still
// trains, in bounded dense memory, and still memorizes and copies.
func TestSparseRows(t *testing.T) {
	seqs := things(200)
	opt := trainOpts
	opt.Epochs = 30
	dense, err := trainSnapshots(context.Background(), seqs, opt, []int{opt.Epochs}, MaxWeights)
	require.NoError(t, err)
	require.Empty(t, dense[0].w.start[:len(dense[0].w.start)-1], "every row of 200 things fits the cap")
	V := len(dense[0].vocab)
	capped, err := trainSnapshots(context.Background(), seqs, opt, []int{opt.Epochs}, 40*V)
	require.NoError(t, err)
	m := capped[0]
	assert.Equal(t, int32(40), m.w.denseRows())
	sparseRows := m.w.rows() - 40
	assert.Greater(t, sparseRows, 400, "a thing's own features are sparse")
	assert.Equal(t, dense[0].w.rows(), m.w.rows(), "the same groups")
	assert.Less(t, len(m.w.tok), 3*sparseRows, "a sparse row holds the few tokens it predicts")
	right := map[string]int{}
	for name, mm := range map[string]*Model{"dense": dense[0], "sparse": m} {
		for i, s := range seqs {
			if strings.Join(greedy(t, mm, fmt.Sprintf("Which colour does Thing_%d have?", i)).Tokens, "") == s.Reply {
				right[name]++
			}
		}
	}
	t.Logf("recalled of %d: %v", len(seqs), right)
	assert.Equal(t, len(seqs), right["dense"])
	assert.GreaterOrEqual(t, right["sparse"], len(seqs)*9/10)
	unseen := greedy(t, m, "Which colour does Thing_999 have?")
	assert.Equal(t, "Thing_999 is", strings.Join(unseen.Tokens[:min(4, len(unseen.Tokens))], ""))

	var buf bytes.Buffer
	require.NoError(t, m.Save(&buf, Header{Name: "sparse"}))
	got, _, err := Load(&buf)
	require.NoError(t, err)
	assert.Equal(t, m.w, got.w)
	assert.Equal(t, m.rows, got.rows)
}

// The positions of a batch are computed on several cores against the same
// weights: the model is the same bit for bit on any number of them.
func TestTrainingIsTheSameOnAnyNumberOfCores(t *testing.T) {
	seqs := things(300)
	opt := trainOpts
	opt.Epochs, opt.BatchSize = 3, 20 // 20 replies of 7 tokens: 140 positions a batch
	var models []*Model
	var losses [][]float64
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		var l []float64
		o := opt
		o.OnEpoch = func(_ int, loss float64) { l = append(l, loss) }
		m, err := Train(context.Background(), seqs, o)
		require.NoError(t, err)
		models, losses = append(models, m), append(losses, l)
	}
	for i := 1; i < len(models); i++ {
		assert.Equal(t, models[0].w, models[i].w)
		assert.Equal(t, models[0].copy, models[i].copy)
		assert.Equal(t, losses[0], losses[i])
	}
}
