package ragvsft_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// watchedRetriever counts what a real retriever is asked to do.
type watchedRetriever struct {
	*ragvsft.ChromemRetriever
	indexed, retrieved atomic.Int32
}

func (r *watchedRetriever) Index(ctx context.Context, docs []ragvsft.Document) error {
	r.indexed.Add(1)
	return r.ChromemRetriever.Index(ctx, docs)
}

func (r *watchedRetriever) Retrieve(ctx context.Context, query string, k int) ([]ragvsft.Hit, error) {
	r.retrieved.Add(1)
	return r.ChromemRetriever.Retrieve(ctx, query, k)
}

func (r *watchedRetriever) RetrieveBatch(ctx context.Context, queries []string, k int) ([][]ragvsft.Hit, error) {
	r.retrieved.Add(int32(len(queries)))
	return r.ChromemRetriever.RetrieveBatch(ctx, queries, k)
}

type runConfig struct {
	K    int    `json:"k"`
	Note string `json:"note"`
}

// runExperiment is the base and rag arms over n cities on the local model.
func runExperiment(t *testing.T, n int, m ragvsft.Model, r ragvsft.Retriever) *ragvsft.Experiment {
	return &ragvsft.Experiment{
		Dataset:   cities(t, n),
		Base:      m,
		Retriever: r,
		Arms:      []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmRAG},
	}
}

// A run folder is private, locked, recorded, and resumed where it stopped;
// a finished run run again asks, indexes and retrieves nothing and writes
// the same report.
func TestRunFolderLifecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	raw := ragvsft.CitiesJSONL(12, ragvsft.CitiesSeed)
	var rendered []string
	opts := ragvsft.RunOptions{Render: func(d string, rep *ragvsft.Report) error {
		rendered = append(rendered, d)
		return os.WriteFile(filepath.Join(d, "extra.txt"), []byte("x"), 0o600)
	}}
	run, err := ragvsft.CreateRun(dir, ragvsft.RunFiles{Config: runConfig{K: 5, Note: "first"}, Dataset: raw}, opts)
	require.NoError(t, err)

	// A second process (here: a second lock) is refused while it runs.
	_, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{})
	require.ErrorIs(t, err, ragvsft.ErrRunFolderLocked)
	_, err = ragvsft.CreateRun(dir, ragvsft.RunFiles{Config: runConfig{}, Dataset: raw}, ragvsft.RunOptions{})
	require.ErrorIs(t, err, ragvsft.ErrRunFolderLocked)

	ctx, cancel := context.WithCancel(context.Background())
	model := &slowModel{Model: ragvsft.NewLocalModel()}
	seen := 0
	opts.OnResult = func(ragvsft.Result) {
		if seen++; seen == 9 {
			cancel()
		}
	}
	run.Close()
	run, err = ragvsft.OpenRun(dir, opts) // OnResult is the opener's
	require.NoError(t, err)
	exp := runExperiment(t, 12, model, newRetriever(t))
	plan, err := run.Plan(exp)
	require.NoError(t, err)
	assert.Equal(t, 24, plan.Items)
	assert.Equal(t, 0, plan.Kept)
	assert.Equal(t, []ragvsft.ArmItems{{Arm: ragvsft.ArmBase, Items: 12}, {Arm: ragvsft.ArmRAG, Items: 12}}, plan.ToAsk)
	assert.Equal(t, 12, plan.Retrievals)
	assert.Equal(t, 12, plan.Documents)
	assert.Nil(t, plan.FineTune, "no fine-tuned arm")

	rep, err := run.Execute(ctx, exp)
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, rep)
	assert.False(t, rep.Complete)
	require.NoError(t, run.Close())
	_, err = os.Stat(filepath.Join(dir, "report.json"))
	require.NoError(t, err, "a run cut short still writes what finished")

	for _, name := range []string{"config.json", "dataset.jsonl", "run.json", "checkpoint.jsonl", "report.json", "report.md", "lock"} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
	}
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	b, err := os.ReadFile(filepath.Join(dir, "dataset.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, raw, b)

	// Resumed: only what is missing is asked.
	run, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{Render: opts.Render})
	require.NoError(t, err)
	var cfg runConfig
	require.NoError(t, run.ReadConfig(&cfg))
	assert.Equal(t, runConfig{K: 5, Note: "first"}, cfg)
	ds, err := run.Dataset("cities.jsonl")
	require.NoError(t, err)
	assert.Len(t, ds.Examples(), 12)
	kept := len(run.Previous())
	require.GreaterOrEqual(t, kept, 9)
	second := &countingModel{Model: ragvsft.NewLocalModel()}
	exp = runExperiment(t, 12, second, newRetriever(t))
	plan, err = run.Plan(exp)
	require.NoError(t, err)
	assert.Equal(t, kept, plan.Kept)
	assert.Equal(t, 24-kept, plan.Asks())
	whole, err := run.Execute(context.Background(), exp)
	require.NoError(t, err)
	assert.True(t, whole.Complete)
	assert.EqualValues(t, 24-kept, second.calls.Load(), "only the missing items are asked")
	require.NoError(t, run.Close())
	assert.Equal(t, []string{dir, dir}, rendered)

	// Finished: asked again, nothing is asked, indexed or retrieved, and
	// the report is the same.
	run, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{})
	require.NoError(t, err)
	third := &countingModel{Model: ragvsft.NewLocalModel()}
	watched := &watchedRetriever{ChromemRetriever: newRetriever(t)}
	exp = runExperiment(t, 12, third, watched)
	plan, err = run.Plan(exp)
	require.NoError(t, err)
	assert.Zero(t, plan.Asks())
	assert.Zero(t, plan.Retrievals)
	again, err := run.Execute(context.Background(), exp)
	require.NoError(t, err)
	require.NoError(t, run.Close())
	assert.Zero(t, third.calls.Load())
	assert.Zero(t, watched.indexed.Load(), "nothing indexed")
	assert.Zero(t, watched.retrieved.Load(), "nothing retrieved")
	require.NotNil(t, again.Retrieval)
	assert.Equal(t, whole.Retrieval, again.Retrieval, "the retrieval summary comes from the kept hits")
	for i := range whole.Results {
		assert.Equal(t, whole.Results[i].Answer, again.Results[i].Answer)
		assert.Equal(t, whole.Results[i].Retrieved, again.Results[i].Retrieved)
	}

	// A folder with a checkpoint is not created again.
	_, err = ragvsft.CreateRun(dir, ragvsft.RunFiles{Config: runConfig{}, Dataset: raw}, ragvsft.RunOptions{})
	require.ErrorIs(t, err, ragvsft.ErrRunExists)
}

// An edit of the configuration or the data is refused on resume, naming
// what changed; the checkpoint is left as it was.
func TestOpenRunRefusesAnEditedFolder(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		edit       func([]byte) []byte
		want       string
	}{
		{"config", "config.json", func(b []byte) []byte { return bytes.Replace(b, []byte(`"k": 5`), []byte(`"k": 3`), 1) }, "config.json differs in k"},
		{"gold answer", "dataset.jsonl", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"assistant", "content": "`), []byte(`"assistant", "content": "9`), 1)
		}, "dataset.jsonl differs"},
		{"removed", "dataset.jsonl", nil, "dataset.jsonl is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			raw := ragvsft.CitiesJSONL(3, ragvsft.CitiesSeed)
			run, err := ragvsft.CreateRun(dir, ragvsft.RunFiles{Config: runConfig{K: 5}, Dataset: raw}, ragvsft.RunOptions{})
			require.NoError(t, err)
			_, err = run.Execute(context.Background(), runExperiment(t, 3, ragvsft.NewLocalModel(), newRetriever(t)))
			require.NoError(t, err)
			require.NoError(t, run.Close())
			path := filepath.Join(dir, tc.file)
			if tc.edit == nil {
				require.NoError(t, os.Remove(path))
			} else {
				b, err := os.ReadFile(path)
				require.NoError(t, err)
				edited := tc.edit(b)
				require.NotEqual(t, b, edited, "the edit applies")
				require.NoError(t, os.WriteFile(path, edited, 0o600))
			}
			before, err := os.ReadFile(filepath.Join(dir, "checkpoint.jsonl"))
			require.NoError(t, err)
			_, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{})
			require.ErrorIs(t, err, ragvsft.ErrRunFolderChanged)
			assert.Contains(t, err.Error(), tc.want)
			after, err := os.ReadFile(filepath.Join(dir, "checkpoint.jsonl"))
			require.NoError(t, err)
			assert.Equal(t, before, after)
			// The refusal released the lock: a second refusal is the same,
			// not ErrRunFolderLocked.
			_, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{})
			require.ErrorIs(t, err, ragvsft.ErrRunFolderChanged)
		})
	}
}

// Items in error end Execute with ErrItemsInError, reports written; a run
// opened with RetryErrors asks exactly those again.
func TestRunItemsInErrorAndRetry(t *testing.T) {
	dir := t.TempDir()
	run, err := ragvsft.CreateRun(dir, ragvsft.RunFiles{Config: runConfig{}, Dataset: ragvsft.CitiesJSONL(10, ragvsft.CitiesSeed)}, ragvsft.RunOptions{})
	require.NoError(t, err)
	flaky := &flakyModel{Model: ragvsft.NewLocalModel(), failOn: "City_7?"}
	rep, err := run.Execute(context.Background(), runExperiment(t, 10, flaky, newRetriever(t)))
	require.ErrorIs(t, err, ragvsft.ErrItemsInError)
	assert.Contains(t, err.Error(), "2 of 20")
	require.NotNil(t, rep)
	require.NoError(t, run.Close())
	_, err = os.Stat(filepath.Join(dir, "report.md"))
	require.NoError(t, err)

	// Without RetryErrors the errors are kept as they are.
	run, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{})
	require.NoError(t, err)
	plan, err := run.Plan(runExperiment(t, 10, flaky, newRetriever(t)))
	require.NoError(t, err)
	assert.Zero(t, plan.Asks())
	require.NoError(t, run.Close())

	run, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{RetryErrors: true})
	require.NoError(t, err)
	defer run.Close()
	healed := &countingModel{Model: ragvsft.NewLocalModel()}
	exp := runExperiment(t, 10, healed, newRetriever(t))
	plan, err = run.Plan(exp)
	require.NoError(t, err)
	assert.Equal(t, 2, plan.Asks())
	assert.Equal(t, 1, plan.Retrievals, "only the question in error is retrieved again")
	rep, err = run.Execute(context.Background(), exp)
	require.NoError(t, err)
	assert.EqualValues(t, 2, healed.calls.Load())
	for _, a := range rep.Arms {
		assert.Zero(t, a.Errors, a.Arm)
	}
}

// A failed Append stops the run with its error instead of paying for
// answers nobody keeps.
func TestRunStopsWhenResultsCannotBeKept(t *testing.T) {
	model := &countingModel{Model: ragvsft.NewLocalModel()}
	exp := runExperiment(t, 30, model, newRetriever(t))
	exp.Concurrency = 1
	exp.Results = ragvsft.ResultFunc(func(ragvsft.Result) error { return os.ErrPermission })
	_, err := exp.Run(context.Background())
	require.ErrorIs(t, err, os.ErrPermission)
	assert.Contains(t, err.Error(), "keeping the result of base/")
	assert.Less(t, model.calls.Load(), int32(5), "the run stopped at the first failure")
}

func TestCreateRunRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	_, err := ragvsft.CreateRun(dir, ragvsft.RunFiles{Config: runConfig{}}, ragvsft.RunOptions{})
	assert.ErrorContains(t, err, "no dataset")
	_, err = ragvsft.CreateRun(dir, ragvsft.RunFiles{Config: []int{1}, Dataset: []byte("x")}, ragvsft.RunOptions{})
	assert.ErrorContains(t, err, "JSON object")
	_, err = ragvsft.OpenRun(t.TempDir(), ragvsft.RunOptions{})
	assert.ErrorIs(t, err, ragvsft.ErrNotRunFolder)
}

// A finished run resumed trains nothing (every fine-tuned item is kept) and
// its report still names the fine-tuned model; one with fine-tuned items
// left trains again.
func TestResumedFinishedRunTrainsNothing(t *testing.T) {
	dir := t.TempDir()
	ds := cities(t, 10)
	newExp := func(ft ragvsft.FineTuner) *ragvsft.Experiment {
		return &ragvsft.Experiment{Dataset: ds, Base: ragvsft.NewLocalModel(), FineTuner: ft,
			Arms: []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmFineTuned}}
	}
	run, err := ragvsft.CreateRun(dir, ragvsft.RunFiles{Config: runConfig{}, Dataset: ragvsft.CitiesJSONL(10, ragvsft.CitiesSeed)}, ragvsft.RunOptions{})
	require.NoError(t, err)
	first := &countingFineTuner{}
	whole, err := run.Execute(context.Background(), newExp(first))
	require.NoError(t, err)
	require.NoError(t, run.Close())
	require.EqualValues(t, 1, first.jobs.Load())
	require.NotNil(t, whole.FineTune)

	run, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{})
	require.NoError(t, err)
	again := &countingFineTuner{}
	plan, err := run.Plan(newExp(again))
	require.NoError(t, err)
	assert.Nil(t, plan.FineTune, "nothing to fine-tune")
	rep, err := run.Execute(context.Background(), newExp(again))
	require.NoError(t, err)
	require.NoError(t, run.Close())
	assert.Zero(t, again.jobs.Load(), "no training")
	require.NotNil(t, rep.FineTune)
	assert.Equal(t, whole.FineTune.ModelID, rep.FineTune.ModelID)
	for i := range whole.Results {
		assert.Equal(t, whole.Results[i].SeenInTraining, rep.Results[i].SeenInTraining)
		assert.Equal(t, whole.Results[i].Answer, rep.Results[i].Answer)
	}

	// A fine-tuned item left to ask (a question more): the model is trained.
	run, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{RetryErrors: true})
	require.NoError(t, err)
	defer run.Close()
	plan, err = run.Plan(&ragvsft.Experiment{Dataset: cities(t, 11), Base: ragvsft.NewLocalModel(), FineTuner: again,
		Arms: []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmFineTuned}})
	require.NoError(t, err)
	assert.Equal(t, 2, plan.Asks(), "the new question, of both arms")
	assert.NotNil(t, plan.FineTune)
}
