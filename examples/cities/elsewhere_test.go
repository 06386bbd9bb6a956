package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

const (
	baseKey = "sk-base-0123456789abcdefBASESECRET"
	loraKey = "sk-lora-0123456789abcdefLORASECRET"
	// loraName is what vLLM started with --lora-modules cities-lora=PATH
	// calls its adapter.
	loraName = "cities-lora"
)

// loraServer is an OpenAI-compatible server whose model knows the first n
// generated cities, as a vLLM serving an adapter trained on them elsewhere
// would; it accepts only key.
func loraServer(t *testing.T, n int, key string) *ragvsfttest.OpenAIServer {
	t.Helper()
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(n, ragvsft.CitiesSeed)), "cities.jsonl")
	require.NoError(t, err)
	ft, err := ragvsft.LocalFineTuner{}.FineTune(context.Background(), ragvsft.FineTuneRequest{
		BaseModel: "local", Training: ds, Hyperparameters: ragvsft.Hyperparameters{Epochs: 30},
	})
	require.NoError(t, err)
	s := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: key, BaseModel: ft.Model, Models: []string{loraName}})
	t.Cleanup(s.Close)
	return s
}

// noUploadNoJob asserts a server was asked to store and train nothing.
func noUploadNoJob(t *testing.T, name string, st ragvsfttest.Stats) {
	t.Helper()
	assert.Zero(t, st.FilesUploaded, "%s: files uploaded", name)
	assert.Zero(t, st.JobsCreated, "%s: jobs created", name)
	for route, n := range st.Requests {
		assert.False(t, strings.Contains(route, "/files") || strings.Contains(route, "/fine_tuning"), "%s: %d requests to %s", name, n, route)
	}
}

// -finetuned-model with -finetuned-base-url: the fine-tuned arms ask the
// adapter's server with its own key, the others ask the base server (at
// -base-url, not OPENAI_BASE_URL); no file is uploaded and no job made on
// either; config.json records the flags but no key, and -resume asks the
// missing items of each arm at the endpoint the run was started with.
func TestFineTunedModelElsewhere(t *testing.T) {
	onTestDay(t)
	const n = 10
	baseSrv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: baseKey})
	t.Cleanup(baseSrv.Close)
	loraSrv := loraServer(t, n, loraKey)
	t.Setenv("AZURE_OPENAI_ENDPOINT", "")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1") // overridden by -base-url
	t.Setenv("OPENAI_API_KEY", baseKey)
	t.Setenv(ragvsft.FineTunedAPIKeyEnv, loraKey)

	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-backend", "openai", "-yes", "-no-cache", "-n", "10", "-model", ragvsft.DefaultBaseModel,
		"-base-url", baseSrv.URL, "-finetuned-model", loraName, "-finetuned-base-url", loraSrv.URL, "-out", dir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "Cost estimate: no fine-tuning")
	assert.Contains(t, out, "fine-tuned elsewhere: this run trained nothing and paid for no training")
	assert.Contains(t, out, "cities: no price for model "+loraName+": its answers are reported as unpriced")
	assert.Contains(t, out, "fine-tuned unpriced")
	assert.NotContains(t, out, baseKey)
	assert.NotContains(t, out, loraKey)

	rep := readReport(t, dir)
	require.True(t, rep.Complete)
	for _, a := range rep.Arms {
		assert.Equal(t, n, a.Answered, "arm %s", a.Arm)
		assert.Zero(t, a.Errors, "arm %s", a.Arm)
	}
	ftArm, _ := rep.Arm(ragvsft.ArmFineTuned)
	base, _ := rep.Arm(ragvsft.ArmBase)
	assert.GreaterOrEqual(t, ftArm.Accuracy, 0.9, "closed book, the fine-tuned arm answers from the adapter's server")
	assert.Zero(t, base.Accuracy)
	u, err := url.Parse(loraSrv.URL)
	require.NoError(t, err)
	require.NotNil(t, rep.FineTune)
	assert.Equal(t, loraName, rep.FineTune.ModelID)
	assert.Equal(t, u.Host, rep.FineTune.Endpoint)
	assert.Empty(t, rep.FineTune.JobID)
	assert.Zero(t, rep.FineTune.TrainedTokens)

	bs, ls := baseSrv.Stats(), loraSrv.Stats()
	noUploadNoJob(t, "base server", bs)
	noUploadNoJob(t, "adapter's server", ls)
	assert.Equal(t, 2*n, bs.ChatCompletions, "base and rag")
	assert.Equal(t, 2*n, ls.ChatCompletions, "fine-tuned and fine-tuned+rag")
	assert.Equal(t, 2*n, ls.Requests["POST /v1/chat/completions"], "no request refused for its key")

	raw, err := os.ReadFile(filepath.Join(dir, configFile))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), baseKey)
	assert.NotContains(t, string(raw), loraKey)
	var cfg config
	require.NoError(t, json.Unmarshal(raw, &cfg))
	assert.Equal(t, baseSrv.URL, cfg.BaseURL)
	assert.Equal(t, loraName, cfg.FineTunedModel)
	assert.Equal(t, loraSrv.URL, cfg.FineTunedBaseURL)

	t.Run("resume asks each missing item at the run's endpoints", func(t *testing.T) {
		// Keep only the base arm's results, as a run killed after them.
		path := filepath.Join(dir, checkpointFile)
		var kept bytes.Buffer
		for _, l := range readLines(t, path) {
			var r ragvsft.Result
			require.NoError(t, json.Unmarshal([]byte(l), &r))
			if r.Arm == ragvsft.ArmBase {
				kept.WriteString(l + "\n")
			}
		}
		require.NoError(t, os.WriteFile(path, kept.Bytes(), 0o644))
		out, err := runCities(t, "-resume", dir, "-yes", "-no-cache")
		require.NoError(t, err, out)
		assert.Contains(t, out, "10 of 40 items are in its checkpoint, 30 to ask")
		assert.Equal(t, 2*n+2*n, loraSrv.Stats().ChatCompletions, "both fine-tuned arms asked again, at the adapter's server")
		assert.Equal(t, 2*n+n, baseSrv.Stats().ChatCompletions, "the rag arm asked again, at -base-url")
		noUploadNoJob(t, "base server", baseSrv.Stats())
		noUploadNoJob(t, "adapter's server", loraSrv.Stats())
		rep := readReport(t, dir)
		assert.True(t, rep.Complete)
		assert.Equal(t, u.Host, rep.FineTune.Endpoint)
	})
	t.Run("resume refuses another fine-tuned model", func(t *testing.T) {
		_, err := runCities(t, "-resume", dir, "-finetuned-model", "other-lora")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `-finetuned-model "other-lora" (the run has "cities-lora")`)
	})
}

// With neither RAGVSFT_FINETUNED_API_KEY nor OPENAI_API_KEY, a fine-tuned
// endpoint of its own has no key (the base model's Azure key is not sent
// to another server): the error says which to set.
func TestFineTunedModelElsewhereNeedsAKey(t *testing.T) {
	onTestDay(t)
	t.Setenv("AZURE_OPENAI_ENDPOINT", "https://127.0.0.1:1")
	t.Setenv("AZURE_OPENAI_API_KEY", "0123456789abcdefAZURE")
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv(ragvsft.FineTunedAPIKeyEnv, "")
	dir := filepath.Join(t.TempDir(), "run")
	_, err := runCities(t, "-backend", "openai", "-yes", "-n", "10", "-finetuned-model", loraName,
		"-finetuned-base-url", "http://127.0.0.1:1/v1", "-out", dir)
	require.Error(t, err)
	assert.ErrorIs(t, err, ragvsft.ErrNoAPIKey)
	assert.Contains(t, err.Error(), "-finetuned-base-url http://127.0.0.1:1/v1: set "+ragvsft.FineTunedAPIKeyEnv)
	assert.NotContains(t, err.Error(), "0123456789abcdefAZURE")
}

func TestFineTunedModelFlagsAreRefusedWhereTheyMeanNothing(t *testing.T) {
	t.Setenv("AZURE_OPENAI_ENDPOINT", "")
	t.Setenv("OPENAI_API_KEY", "test-key")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"local backend", []string{"-backend", "local", "-finetuned-model", loraName}, "need -backend openai"},
		{"local backend, base url", []string{"-backend", "local", "-base-url", "http://127.0.0.1:1/v1"}, "need -backend openai"},
		{"endpoint without a model", []string{"-backend", "openai", "-finetuned-base-url", "http://127.0.0.1:1/v1"}, "-finetuned-base-url needs -finetuned-model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			_, err := runCities(t, append(tt.args, "-out", dir)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NoDirExists(t, dir, "refused before anything is written")
		})
	}
}

// Azure OpenAI, as its v1 endpoint sees it: the run fine-tunes there (the
// key in api-key, every path under /openai/v1); once the fine-tune is
// deployed (a control-plane step), -finetuned-model DEPLOYMENT measures it
// with no upload and no new job.
func TestAzureRunThenDeployedFineTune(t *testing.T) {
	onTestDay(t)
	const azureKey = "0123456789abcdef0123456789abcdefAZURE"
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: azureKey, JobStepDelay: time.Millisecond})
	t.Cleanup(srv.Close)
	t.Setenv("AZURE_OPENAI_ENDPOINT", strings.TrimSuffix(srv.AzureURL, "openai/v1/"))
	t.Setenv("AZURE_OPENAI_API_KEY", azureKey)
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv(ragvsft.FineTunedAPIKeyEnv, "")
	require.Equal(t, "openai", defaultBackend(), "Azure's key selects the openai backend")

	trained := filepath.Join(t.TempDir(), "trained")
	out, err := runCities(t, "-yes", "-n", "10", "-model", ragvsft.DefaultBaseModel, "-poll", "5ms", "-out", trained)
	require.NoError(t, err, out)
	assert.NotContains(t, out, azureKey)
	rep := readReport(t, trained)
	require.NotNil(t, rep.FineTune)
	deployment := rep.FineTune.ModelID
	st := srv.Stats()
	assert.Equal(t, 1, st.FilesUploaded)
	assert.Equal(t, 1, st.JobsCreated)
	for route, n := range st.Requests {
		assert.Contains(t, route, " /openai/v1/", "%d requests outside Azure's path", n)
	}

	measured := filepath.Join(t.TempDir(), "measured")
	out, err = runCities(t, "-yes", "-n", "10", "-model", ragvsft.DefaultBaseModel, "-finetuned-model", deployment, "-out", measured)
	require.NoError(t, err, out)
	rep = readReport(t, measured)
	for _, a := range rep.Arms {
		assert.Equal(t, 10, a.Answered, "arm %s", a.Arm)
		assert.Zero(t, a.Errors, "arm %s", a.Arm)
	}
	u, err := url.Parse(srv.AzureURL)
	require.NoError(t, err)
	assert.Equal(t, u.Host, rep.FineTune.Endpoint)
	assert.Equal(t, 1, srv.Stats().FilesUploaded, "nothing uploaded again")
	assert.Equal(t, 1, srv.Stats().JobsCreated, "no new job")
}

// The vLLM layout: one server serves the base model and, under its own
// name, the fine-tuned one (here a fine-tune an earlier job made there);
// -embedding-model local indexes without the server, which embeds nothing.
// Without -finetuned-base-url the fine-tuned arms use the base model's
// endpoint and key.
func TestFineTunedModelOnTheBaseEndpoint(t *testing.T) {
	onTestDay(t)
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: baseKey, JobStepDelay: time.Millisecond})
	t.Cleanup(srv.Close)
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(10, ragvsft.CitiesSeed)), "cities.jsonl")
	require.NoError(t, err)
	earlier, err := (&ragvsft.OpenAIFineTuner{Config: ragvsft.OpenAIConfig{APIKey: baseKey, BaseURL: srv.URL}, PollInterval: time.Millisecond}).
		FineTune(context.Background(), ragvsft.FineTuneRequest{BaseModel: ragvsft.DefaultBaseModel, Training: ds})
	require.NoError(t, err)
	before := srv.Stats()

	t.Setenv("AZURE_OPENAI_ENDPOINT", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("OPENAI_API_KEY", baseKey)
	t.Setenv(ragvsft.FineTunedAPIKeyEnv, "")
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-backend", "openai", "-yes", "-n", "10", "-model", ragvsft.DefaultBaseModel, "-base-url", srv.URL,
		"-embedding-model", "local", "-finetuned-model", earlier.ModelID, "-out", dir)
	require.NoError(t, err, out)
	rep := readReport(t, dir)
	for _, a := range rep.Arms {
		assert.Equal(t, 10, a.Answered, "arm %s", a.Arm)
		assert.Zero(t, a.Errors, "arm %s", a.Arm)
	}
	after := srv.Stats()
	assert.Equal(t, before.FilesUploaded, after.FilesUploaded, "nothing uploaded")
	assert.Equal(t, before.JobsCreated, after.JobsCreated, "no job")
	assert.Equal(t, before.Embeddings, after.Embeddings, "the index embedded locally")
	assert.Equal(t, before.ChatCompletions+40, after.ChatCompletions)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, u.Host, rep.FineTune.Endpoint)
	assert.Equal(t, earlier.ModelID, rep.FineTune.ModelID)
}

// Two servers may serve different models under the same name: answers are
// cached under the host of an endpoint given by flag, so one server's
// answers are never taken for the other's, and each is reused.
func TestCacheKeepsEndpointsApart(t *testing.T) {
	onTestDay(t)
	t.Setenv("AZURE_OPENAI_ENDPOINT", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("OPENAI_API_KEY", baseKey)
	t.Setenv(ragvsft.FineTunedAPIKeyEnv, "")
	one := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: baseKey, Models: []string{loraName}})
	t.Cleanup(one.Close)
	two := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: baseKey, Models: []string{loraName}})
	t.Cleanup(two.Close)
	cache := t.TempDir()
	runAt := func(srv *ragvsfttest.OpenAIServer) {
		t.Helper()
		out, err := runCities(t, "-backend", "openai", "-yes", "-n", "10", "-model", ragvsft.DefaultBaseModel, "-base-url", srv.URL,
			"-embedding-model", "local", "-finetuned-model", loraName, "-cache", cache, "-out", filepath.Join(t.TempDir(), "run"))
		require.NoError(t, err, out)
	}
	runAt(one)
	runAt(two)
	assert.Equal(t, 40, one.Stats().ChatCompletions)
	assert.Equal(t, 40, two.Stats().ChatCompletions, "the other server is asked, not the cache")
	runAt(one)
	assert.Equal(t, 40, one.Stats().ChatCompletions, "the same server's answers come from the cache")
}
