package ragvsft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlanFineTuneRefusesWhatOpenAIRejects(t *testing.T) {
	long := strings.Repeat("population census data ", 3000) // well over 4096 tokens
	withLine := func(set exampleSet, i int, msgs ...Message) exampleSet {
		set = append(exampleSet(nil), set...)
		set[i].Messages = msgs
		return set
	}
	for _, tc := range []struct {
		name  string
		req   FineTuneRequest
		file  string
		wants []string
	}{
		{"too few examples", FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: cityExamples(9)},
			"dataset", []string{"9 examples; OpenAI requires at least 10"}},
		{"no assistant turn", FineTuneRequest{BaseModel: "gpt-3.5-turbo",
			Training: withLine(cityExamples(12), 4, Message{Role: RoleUser, Content: "hi"})},
			"dataset", []string{"line 5: no assistant message"}},
		{"unknown role and empty content", FineTuneRequest{BaseModel: "gpt-3.5-turbo",
			Training: withLine(cityExamples(12), 0, Message{Role: "robot", Content: "x"}, Message{Role: RoleAssistant, Content: " "})},
			"dataset", []string{`line 1: message 1: unknown role "robot"`, "line 1: message 2: empty content"}},
		{"no messages", FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: withLine(cityExamples(10), 9)},
			"dataset", []string{"line 10: no messages"}},
		{"over the context limit", FineTuneRequest{BaseModel: "gpt-3.5-turbo-0613",
			Training: withLine(cityExamples(10), 2, Message{Role: RoleUser, Content: long}, Message{Role: RoleAssistant, Content: "ok"})},
			"dataset", []string{"line 3: ", "over gpt-3.5-turbo-0613's limit of 4096 per example"}},
		{"bad validation file", FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: cityExamples(10),
			Validation: withLine(cityExamples(10), 1, Message{Role: RoleUser, Content: "q"})},
			"dataset (validation)", []string{"line 2: no assistant message"}},
		{"small validation file", FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: cityExamples(10), Validation: cityExamples(3)},
			"dataset (validation)", []string{"3 examples; OpenAI requires at least 10"}},
		{"empty validation file", FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: cityExamples(10), Validation: exampleSet{}},
			"dataset (validation)", []string{"0 examples; OpenAI requires at least 10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EstimateFineTune(tc.req, nil)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.file, ve.File)
			assert.True(t, strings.HasPrefix(err.Error(), "ragvsft: "+tc.file+": "), err.Error())
			for _, w := range tc.wants {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	t.Run("all problems together, with lines", func(t *testing.T) {
		set := cityExamples(3)
		set[0].ID = "city-1"
		set[0].Messages = set[0].Messages[:2]
		set[2].Messages = set[2].Messages[:1]
		_, err := EstimateFineTune(FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: set}, nil)
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		require.Len(t, ve.Problems, 3)
		assert.Equal(t, "3 examples; OpenAI requires at least 10", ve.Problems[0].String())
		assert.Equal(t, "line 1: no assistant message", ve.Problems[1].String())
		assert.Equal(t, "city-1", ve.Problems[1].ID)
		assert.Equal(t, "line 3: no assistant message", ve.Problems[2].String())
	})
	t.Run("examples without lines are numbered as written", func(t *testing.T) {
		set := cityExamples(10)
		for i := range set {
			set[i].ID, set[i].Line = "", 0
		}
		set[6].Messages = set[6].Messages[:2]
		_, err := EstimateFineTune(FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: set}, nil)
		assert.EqualError(t, err, "ragvsft: dataset: line 7: no assistant message")
	})
	for _, tc := range []struct {
		name string
		req  FineTuneRequest
		want string
		is   error // the sentinel both backends share, if any
	}{
		{"no base model", FineTuneRequest{Training: cityExamples(10)}, "ragvsft: fine-tune: no base model", nil},
		{"no training data", FineTuneRequest{BaseModel: "gpt-3.5-turbo"}, "ragvsft: no training data: the request has no training set", ErrNoTrainingData},
		{"negative epochs", FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: cityExamples(10), Hyperparameters: Hyperparameters{Epochs: -1}}, "n_epochs -1 is negative", ErrBadHyperparameters},
		{"negative seed", FineTuneRequest{BaseModel: DefaultBaseModel, Training: cityExamples(10), Seed: -1}, "seed -1 is outside OpenAI's range 0 to 2147483647", nil},
		{"seed above 2147483647", FineTuneRequest{BaseModel: DefaultBaseModel, Training: cityExamples(10), Seed: 2147483648}, "seed 2147483648 is outside", nil},
		{"suffix of 65 characters", FineTuneRequest{BaseModel: DefaultBaseModel, Training: cityExamples(10), Suffix: strings.Repeat("é", 65)}, "has 65 characters; OpenAI allows at most 64", nil},
		{"suffix with a colon", FineTuneRequest{BaseModel: DefaultBaseModel, Training: cityExamples(10), Suffix: "a:b"}, "contains ':'", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EstimateFineTune(tc.req, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
				_, err = LocalFineTuner{}.FineTune(context.Background(), tc.req)
				assert.ErrorIs(t, err, tc.is, "the local backend refuses it with the same error")
			}
		})
	}
}

func TestJobKey(t *testing.T) {
	base := FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: cityExamples(10), Suffix: "cities", Seed: 42}
	plan := func(req FineTuneRequest) string {
		p, err := planFineTune(req, nil)
		require.NoError(t, err)
		require.Len(t, p.key, 64)
		return p.key
	}
	key := plan(base)
	assert.Equal(t, key, plan(base), "same request, same key")
	again := base
	again.Training = cityExamples(10)
	assert.Equal(t, key, plan(again), "equal content, same key")

	variants := map[string]func(*FineTuneRequest){
		"training content": func(r *FineTuneRequest) {
			set := cityExamples(10)
			set[3].Messages[2].Content = "City_4 has about 1 inhabitants."
			r.Training = set
		},
		"base model": func(r *FineTuneRequest) { r.BaseModel = "gpt-4o-mini" },
		"epochs":     func(r *FineTuneRequest) { r.Hyperparameters.Epochs = 3 },
		"batch size": func(r *FineTuneRequest) { r.Hyperparameters.BatchSize = 1 },
		"lr":         func(r *FineTuneRequest) { r.Hyperparameters.LearningRateMultiplier = 2 },
		"suffix":     func(r *FineTuneRequest) { r.Suffix = "other" },
		"seed":       func(r *FineTuneRequest) { r.Seed = 43 },
		"validation": func(r *FineTuneRequest) { r.Validation = cityExamples(10) },
	}
	seen := map[string]string{key: "base"}
	for name, change := range variants {
		t.Run(name, func(t *testing.T) {
			req := base
			change(&req)
			k := plan(req)
			prev, dup := seen[k]
			assert.False(t, dup, "same key as %s", prev)
			seen[k] = name
		})
	}
	t.Run("explicit auto values hash as auto", func(t *testing.T) {
		// Epochs 3 is what auto resolves to for 100 examples, but the job
		// sends 3 rather than "auto": a different job.
		r := base
		r.Training = cityExamples(100)
		auto := plan(r)
		r.Hyperparameters.Epochs = 3
		assert.NotEqual(t, auto, plan(r))
	})
}

func TestFineTuneRecord(t *testing.T) {
	key := strings.Repeat("ab", 32)
	t.Run("missing record is fresh", func(t *testing.T) {
		f := &OpenAIFineTuner{RunDir: t.TempDir()}
		rec, err := f.loadRecord(key)
		require.NoError(t, err)
		assert.Equal(t, &fineTuneRecord{Key: key}, rec)
	})
	t.Run("round trip", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		f := &OpenAIFineTuner{RunDir: dir}
		rec := &fineTuneRecord{Key: key, TrainingFileID: "file-1", JobID: "ftjob-1", Status: "running", LastEventID: "ev-3",
			Hyperparameters: Hyperparameters{Epochs: 3, BatchSize: 1, LearningRateMultiplier: 2}}
		require.NoError(t, f.saveRecord(rec))
		got, err := f.loadRecord(key)
		require.NoError(t, err)
		assert.Equal(t, rec.JobID, got.JobID)
		assert.Equal(t, rec.TrainingFileID, got.TrainingFileID)
		assert.Equal(t, rec.LastEventID, got.LastEventID)
		assert.Equal(t, rec.Hyperparameters, got.Hyperparameters)
		assert.False(t, got.UpdatedAt.IsZero())
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1, "no temporary file left behind")
		assert.Equal(t, "finetune-"+key+".json", entries[0].Name())
	})
	t.Run("no run dir keeps nothing", func(t *testing.T) {
		f := &OpenAIFineTuner{}
		require.NoError(t, f.saveRecord(&fineTuneRecord{Key: key, JobID: "ftjob-1"}))
		rec, err := f.loadRecord(key)
		require.NoError(t, err)
		assert.Empty(t, rec.JobID)
	})
	t.Run("corrupt record names the file", func(t *testing.T) {
		dir := t.TempDir()
		f := &OpenAIFineTuner{RunDir: dir}
		require.NoError(t, os.WriteFile(f.recordPath(key), []byte("{not json"), 0o644))
		_, err := f.loadRecord(key)
		require.Error(t, err)
		assert.Contains(t, err.Error(), f.recordPath(key))
	})
	t.Run("record of another key", func(t *testing.T) {
		dir := t.TempDir()
		f := &OpenAIFineTuner{RunDir: dir}
		require.NoError(t, os.WriteFile(f.recordPath(key), []byte(`{"key":"other"}`), 0o644))
		_, err := f.loadRecord(key)
		require.Error(t, err)
	})
}

func TestFineTuneJobError(t *testing.T) {
	var err error = &FineTuneJobError{JobID: "ftjob-1", Code: "invalid_training_file", Message: "bad line 3", Param: "training_file"}
	assert.Equal(t, "ragvsft: fine-tuning job ftjob-1 failed (invalid_training_file): bad line 3 [param training_file]", err.Error())
	wrapped := errors.Join(errors.New("context"), err)
	var je *FineTuneJobError
	require.ErrorAs(t, wrapped, &je)
	assert.Equal(t, "invalid_training_file", je.Code)
	assert.Equal(t, "ragvsft: fine-tuning job ftjob-2 failed", (&FineTuneJobError{JobID: "ftjob-2"}).Error())
}

func TestJobOptionsAtOpenAIsLimits(t *testing.T) {
	for _, req := range []FineTuneRequest{
		{BaseModel: DefaultBaseModel, Training: cityExamples(10), Seed: 2147483647, Suffix: strings.Repeat("é", 64)},
		{BaseModel: DefaultBaseModel, Training: cityExamples(10), Seed: 0, Suffix: ""},
	} {
		_, err := EstimateFineTune(req, nil)
		assert.NoError(t, err, "seed %d, suffix of %d bytes", req.Seed, len(req.Suffix))
	}
}

// The hyperparameters a job ran with are read from method.supervised, the
// deprecated top-level ones only when the server sends nothing else, and a
// value still "auto" keeps the resolved estimate.
func TestJobHyperparameters(t *testing.T) {
	resolved := Hyperparameters{Epochs: 3, BatchSize: 1, LearningRateMultiplier: 0.05}
	tests := []struct {
		name string
		body string
		want Hyperparameters
	}{
		{"method only", `{"method":{"type":"supervised","supervised":{"hyperparameters":{"n_epochs":7,"batch_size":4,"learning_rate_multiplier":0.3}}}}`,
			Hyperparameters{Epochs: 7, BatchSize: 4, LearningRateMultiplier: 0.3}},
		{"method wins over top level", `{"hyperparameters":{"n_epochs":2,"batch_size":2,"learning_rate_multiplier":2},` +
			`"method":{"type":"supervised","supervised":{"hyperparameters":{"n_epochs":7,"batch_size":4,"learning_rate_multiplier":0.3}}}}`,
			Hyperparameters{Epochs: 7, BatchSize: 4, LearningRateMultiplier: 0.3}},
		{"top level only", `{"hyperparameters":{"n_epochs":2,"batch_size":5,"learning_rate_multiplier":1.5}}`,
			Hyperparameters{Epochs: 2, BatchSize: 5, LearningRateMultiplier: 1.5}},
		{"still auto", `{"method":{"type":"supervised","supervised":{"hyperparameters":{"n_epochs":"auto","batch_size":"auto","learning_rate_multiplier":"auto"}}}}`,
			resolved},
		{"nothing", `{}`, resolved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var job openai.FineTuningJob
			require.NoError(t, json.Unmarshal([]byte(tt.body), &job))
			assert.Equal(t, tt.want, jobHyperparameters(&job, resolved))
		})
	}
}

func TestFineTuningUnavailableError(t *testing.T) {
	apiErr := &openai.Error{StatusCode: http.StatusForbidden, Message: "no more fine-tuning"}
	var err error = &FineTuningUnavailableError{BaseModel: DefaultBaseModel, TrainingFileID: "file-abc", RunDir: "runs/1", Status: 403, Message: apiErr.Message, err: apiErr}
	assert.Equal(t, "ragvsft: OpenAI refused to create a fine-tuning job for gpt-4.1-mini-2025-04-14 (HTTP 403): no more fine-tuning. "+
		"OpenAI is winding down self-serve fine-tuning: organizations that had never fine-tuned lost access on 2026-05-07, "+
		"those with no inference on a fine-tuned model in the previous 60 days on 2026-07-02, and no organization can create jobs from 2027-01-06; "+
		"models already fine-tuned keep answering until their base model shuts down. "+
		"The training file file-abc stays uploaded and recorded in runs/1: a rerun will not upload it again. "+
		"To measure a fine-tuned model anyway, serve one already fine-tuned (on OpenAI or elsewhere) behind an OpenAI-compatible endpoint "+
		"and name it (examples/cities: -finetuned-model NAME -finetuned-base-url URL), "+
		"or train one yourself with your own training command (ragvsft.CommandFineTuner; examples/cities: -train-command CMD)", err.Error())
	wrapped := fmt.Errorf("run: %w", err)
	assert.ErrorIs(t, wrapped, ErrFineTuningUnavailable)
	var got *openai.Error
	require.ErrorAs(t, wrapped, &got)
	assert.Same(t, apiErr, got)
	assert.NotErrorIs(t, &FineTuneJobError{JobID: "x"}, ErrFineTuningUnavailable)
	assert.True(t, strings.HasPrefix((&FineTuningUnavailableError{BaseModel: "m", Status: 403}).Error(),
		"ragvsft: OpenAI refused to create a fine-tuning job for m (HTTP 403). OpenAI is winding down"))
	assert.Contains(t, (&FineTuningUnavailableError{BaseModel: "m", Status: 403, TrainingFileID: "file-x"}).Error(),
		"The training file file-x stays uploaded. To measure", "no RunDir: no promise about a rerun")
}

func TestFineTuningRefusal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"403", &openai.Error{StatusCode: 403, Message: "This organization can no longer create fine-tuning jobs."}, true},
		{"403 wrapped", fmt.Errorf("x: %w", &openai.Error{StatusCode: 403}), true},
		{"403 for a restricted key", &openai.Error{StatusCode: 403, Message: "You have insufficient permissions for this operation. Missing scopes: api.fine_tuning.jobs.write."}, false},
		{"400", &openai.Error{StatusCode: 400, Message: "Model x is not available for fine-tuning or does not exist."}, false},
		{"429", &openai.Error{StatusCode: 429}, false},
		{"not an API error", errors.New("connection reset"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := fineTuningRefusal(tt.err)
			assert.Equal(t, tt.want, ok)
		})
	}
}
