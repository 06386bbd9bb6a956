package ragvsft_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
	"github.com/ragvsft/ragvsft/report"
)

const (
	baseKey = "sk-base-0123456789abcdefBASESECRET"
	ftKey   = "sk-lora-0123456789abcdefLORASECRET"
	// loraName is what a vLLM server started with --lora-modules
	// cities-lora=PATH calls its adapter.
	loraName = "cities-lora"
)

// memorized returns the embedded local model trained on ds long enough to
// know its facts: what an adapter trained elsewhere (Unsloth, TRL...) is to
// the vLLM that serves it.
func memorized(t *testing.T, ds ragvsft.Dataset) ragvsft.Model {
	t.Helper()
	ft, err := ragvsft.LocalFineTuner{}.FineTune(context.Background(), ragvsft.FineTuneRequest{
		BaseModel: "local", Training: ds, Hyperparameters: ragvsft.Hyperparameters{Epochs: 30},
	})
	require.NoError(t, err)
	return ft.Model
}

// The base arms ask one server, the fine-tuned arms another that serves a
// model fine-tuned elsewhere, each with its own key: every arm answers,
// each server sees only its own arms' requests (a request with the other
// key would be refused), and nothing is uploaded or trained anywhere.
func TestFineTunedElsewhereOnItsOwnEndpoint(t *testing.T) {
	const n = 20
	ds := cities(t, n)
	baseSrv := newServer(t, ragvsfttest.ServerConfig{APIKey: baseKey})
	ftSrv := newServer(t, ragvsfttest.ServerConfig{APIKey: ftKey, BaseModel: memorized(t, ds), Models: []string{loraName}})

	baseCfg := ragvsft.OpenAIConfig{APIKey: baseKey, BaseURL: baseSrv.URL, MaxRetries: -1, Now: onWireDay}
	base, err := ragvsft.NewOpenAIModel(baseCfg, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	embedder, err := ragvsft.NewOpenAIEmbedder(baseCfg, "")
	require.NoError(t, err)
	retriever, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{Embed: embedder.Embed, Model: embedder.Model()})
	require.NoError(t, err)
	ft, err := ragvsft.NewOpenAIFineTuned(ragvsft.OpenAIConfig{APIKey: ftKey, BaseURL: ftSrv.URL, MaxRetries: -1}, loraName)
	require.NoError(t, err)

	exp := &ragvsft.Experiment{
		Dataset:   ds,
		Base:      base,
		BaseModel: ragvsft.DefaultBaseModel,
		FineTuned: ft,
		Retriever: retriever,
	}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Complete)
	acc := map[ragvsft.Arm]float64{}
	for _, a := range rep.Arms {
		assert.Equal(t, n, a.Answered, "arm %s", a.Arm)
		assert.Zero(t, a.Errors, "arm %s", a.Arm)
		acc[a.Arm] = a.Accuracy
	}
	assert.Zero(t, acc[ragvsft.ArmBase], "the base server's model knows no city")
	assert.GreaterOrEqual(t, acc[ragvsft.ArmFineTuned], 0.9, "closed book, the fine-tuned arm answers from the adapter's server")
	for _, r := range rep.Results {
		if r.Arm == ragvsft.ArmFineTuned || r.Arm == ragvsft.ArmFineTunedRAG {
			assert.Equal(t, loraName, r.Model)
		} else {
			assert.Equal(t, ragvsft.DefaultBaseModel, r.Model)
		}
	}

	bs, fs := baseSrv.Stats(), ftSrv.Stats()
	assert.Equal(t, 2*n, bs.ChatCompletions, "base and rag")
	assert.Equal(t, 2*n, bs.Requests["POST /v1/chat/completions"], "none refused")
	assert.Positive(t, bs.Embeddings)
	assert.Equal(t, 2*n, fs.ChatCompletions, "fine-tuned and fine-tuned+rag")
	assert.Equal(t, 2*n, fs.Requests["POST /v1/chat/completions"], "none refused")
	assert.Zero(t, fs.Embeddings, "the index is the base endpoint's")
	for name, st := range map[string]ragvsfttest.Stats{"base": bs, "fine-tuned": fs} {
		assert.Zero(t, st.FilesUploaded, "%s server", name)
		assert.Zero(t, st.JobsCreated, "%s server", name)
		assert.Zero(t, st.Requests["POST /v1/files"], "%s server", name)
		assert.Zero(t, st.Requests["POST /v1/fine_tuning/jobs"], "%s server", name)
	}

	u, err := url.Parse(ftSrv.URL)
	require.NoError(t, err)
	require.NotNil(t, rep.FineTune)
	assert.Equal(t, ragvsft.FineTuned{ModelID: loraName, Endpoint: u.Host}, withoutModel(*rep.FineTune),
		"the report says where the model came from, and that nothing was trained")

	t.Run("a catalog that does not know the model reports it unpriced, not free", func(t *testing.T) {
		unpriced := rep.ApplyPrices(nil)
		assert.Equal(t, []string{loraName}, unpriced)
		for _, a := range rep.Arms {
			if a.Arm == ragvsft.ArmFineTuned || a.Arm == ragvsft.ArmFineTunedRAG {
				assert.Equal(t, n, a.Unpriced, "arm %s", a.Arm)
				assert.Zero(t, a.CostUSD, "arm %s", a.Arm)
			} else {
				assert.Zero(t, a.Unpriced, "arm %s", a.Arm)
				assert.Positive(t, a.CostUSD, "arm %s", a.Arm)
			}
		}
		assert.Zero(t, rep.FineTuneCostUSD)
		md := markdown(t, rep)
		assert.Contains(t, md, "fine-tuned unpriced, rag $")
		assert.Contains(t, md, "fine-tuned+rag unpriced; fine-tuning none (fine-tuned elsewhere); total of what is priced $")
		assert.Contains(t, md, "Fine-tuned model: "+loraName+" on "+u.Host+", fine-tuned elsewhere: this run trained nothing and paid for no training.")
		assert.NotContains(t, md, ftKey)
		var html bytes.Buffer
		require.NoError(t, report.WriteHTML(&html, rep))
		assert.Contains(t, html.String(), "fine-tuned unpriced, rag $")
		assert.Contains(t, html.String(), "fine-tuning none (fine-tuned elsewhere); total of what is priced $")
		assert.Contains(t, html.String(), "<li>Fine-tuned model "+loraName+" on "+u.Host+", fine-tuned elsewhere: this run trained nothing and paid for no training.</li>")
	})
	t.Run("the user's catalog prices it", func(t *testing.T) {
		catalog := ragvsft.Catalog{loraName: {Price: ragvsft.Price{Input: 0.05, Output: 0.10}}}
		assert.Empty(t, rep.ApplyPrices(catalog))
		ftArm, _ := rep.Arm(ragvsft.ArmFineTuned)
		assert.Zero(t, ftArm.Unpriced)
		assert.Positive(t, ftArm.CostUSD)
		md := markdown(t, rep)
		assert.NotContains(t, md, "unpriced")
		assert.Contains(t, md, "fine-tuning none (fine-tuned elsewhere); total $")
	})
}

func withoutModel(ft ragvsft.FineTuned) ragvsft.FineTuned {
	ft.Model = nil
	return ft
}

func markdown(t *testing.T, rep *ragvsft.Report) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&b))
	return b.String()
}

// FineTunedConfigFromEnv takes the fine-tuned endpoint's key from
// RAGVSFT_FINETUNED_API_KEY, else OPENAI_API_KEY, and the server, which
// knows only its own key, says which one was sent.
func TestFineTunedConfigFromEnv(t *testing.T) {
	ftSrv := newServer(t, ragvsfttest.ServerConfig{APIKey: ftKey, Models: []string{loraName}})
	base := ragvsft.OpenAIConfig{APIKey: baseKey, BaseURL: "http://127.0.0.1:1/v1", Organization: "org-1", Project: "proj-1",
		MaxRetries: -1, RequestTimeout: 7 * time.Second, Azure: true}
	tests := []struct {
		name      string
		ftEnv     string // RAGVSFT_FINETUNED_API_KEY
		openaiEnv string // OPENAI_API_KEY
		baseURL   string
		want      ragvsft.OpenAIConfig
		accepted  bool // by ftSrv
	}{
		{"own endpoint, own key", ftKey, baseKey, ftSrv.URL,
			ragvsft.OpenAIConfig{APIKey: ftKey, BaseURL: ftSrv.URL, MaxRetries: -1, RequestTimeout: 7 * time.Second}, true},
		{"own endpoint, OPENAI_API_KEY", "", ftKey, ftSrv.URL,
			ragvsft.OpenAIConfig{APIKey: ftKey, BaseURL: ftSrv.URL, MaxRetries: -1, RequestTimeout: 7 * time.Second}, true},
		{"own endpoint, the fine-tuned key wins", ftKey + "x", ftKey, ftSrv.URL,
			ragvsft.OpenAIConfig{APIKey: ftKey + "x", BaseURL: ftSrv.URL, MaxRetries: -1, RequestTimeout: 7 * time.Second}, false},
		{"own endpoint, no key", "", "", ftSrv.URL,
			ragvsft.OpenAIConfig{BaseURL: ftSrv.URL, MaxRetries: -1, RequestTimeout: 7 * time.Second}, false},
		{"base's endpoint, base's key", "", ftKey, "", base, false},
		{"base's endpoint, the fine-tuned key", ftKey, "", "", withKey(base, ftKey), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(ragvsft.FineTunedAPIKeyEnv, tt.ftEnv)
			t.Setenv("OPENAI_API_KEY", tt.openaiEnv)
			cfg := ragvsft.FineTunedConfigFromEnv(base, tt.baseURL)
			assert.Equal(t, tt.want, cfg)
			if tt.baseURL == "" {
				return // base's endpoint is not listening
			}
			m, err := ragvsft.NewOpenAIModel(cfg, loraName)
			if tt.want.APIKey == "" {
				require.ErrorIs(t, err, ragvsft.ErrNoAPIKey)
				return
			}
			require.NoError(t, err)
			_, err = m.Chat(context.Background(), ragvsft.ChatRequest{Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: "hi"}}})
			if tt.accepted {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ragvsft.ErrOpenAIAuth)
			assert.NotContains(t, err.Error(), tt.ftEnv)
		})
	}
}

func withKey(c ragvsft.OpenAIConfig, key string) ragvsft.OpenAIConfig {
	c.APIKey = key
	return c
}

// The whole experiment as Azure OpenAI's v1 endpoint sees it: the
// configuration comes from AZURE_OPENAI_ENDPOINT (the resource's root, as
// the portal shows it) and AZURE_OPENAI_API_KEY; every request goes under
// /openai/v1 with the key in the api-key header, fine-tuning included.
func TestAzureRunsTheWholeExperiment(t *testing.T) {
	const azureKey = "0123456789abcdef0123456789abcdefAZURE"
	srv := newServer(t, ragvsfttest.ServerConfig{APIKey: azureKey, JobStepDelay: time.Millisecond})
	t.Setenv("AZURE_OPENAI_ENDPOINT", strings.TrimSuffix(srv.AzureURL, "openai/v1/"))
	t.Setenv("AZURE_OPENAI_API_KEY", azureKey)
	t.Setenv("OPENAI_API_KEY", baseKey)
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	cfg := ragvsft.OpenAIConfigFromEnv()
	require.Equal(t, ragvsft.OpenAIConfig{APIKey: azureKey, BaseURL: srv.AzureURL, Azure: true}, cfg, "Azure's variables win")
	headers := &headerLog{next: http.DefaultTransport}
	cfg.HTTPClient = &http.Client{Transport: headers}
	cfg.Now = onWireDay

	const n = 12
	base, err := ragvsft.NewOpenAIModel(cfg, ragvsft.DefaultBaseModel)
	require.NoError(t, err)
	embedder, err := ragvsft.NewOpenAIEmbedder(cfg, "")
	require.NoError(t, err)
	retriever, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{Embed: embedder.Embed, Model: embedder.Model()})
	require.NoError(t, err)
	exp := &ragvsft.Experiment{
		Dataset:   cities(t, n),
		Base:      base,
		BaseModel: ragvsft.DefaultBaseModel,
		FineTuner: &ragvsft.OpenAIFineTuner{Config: cfg, PollInterval: time.Millisecond},
		Retriever: retriever,
	}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Complete)
	for _, a := range rep.Arms {
		assert.Equal(t, n, a.Answered, "arm %s", a.Arm)
		assert.Zero(t, a.Errors, "arm %s", a.Arm)
	}
	require.NotNil(t, rep.FineTune)
	assert.NotEmpty(t, rep.FineTune.JobID)
	assert.Empty(t, rep.FineTune.Endpoint, "trained by this run, not elsewhere")

	st := srv.Stats()
	assert.Equal(t, 1, st.FilesUploaded)
	assert.Equal(t, 1, st.JobsCreated)
	assert.Equal(t, 4*n, st.Requests["POST /openai/v1/chat/completions"])
	assert.Positive(t, st.Requests["POST /openai/v1/embeddings"])
	assert.Equal(t, 1, st.Requests["POST /openai/v1/fine_tuning/jobs"])
	for route, count := range st.Requests {
		assert.True(t, strings.Contains(route, " /openai/v1/"), "%d requests to %s, outside Azure's path", count, route)
	}
	apiKey, bearer := headers.counts()
	assert.Equal(t, sum(st.Requests), apiKey, "every request has the key in api-key")
	assert.Zero(t, bearer, "and none in Authorization")

	t.Run("a fine-tuned deployment on the same resource is measured with the same configuration", func(t *testing.T) {
		t.Setenv(ragvsft.FineTunedAPIKeyEnv, "")
		ft, err := ragvsft.NewOpenAIFineTuned(ragvsft.FineTunedConfigFromEnv(cfg, ""), rep.FineTune.ModelID)
		require.NoError(t, err)
		u, _ := url.Parse(srv.AzureURL)
		assert.Equal(t, u.Host, ft.Endpoint)
		res, err := ft.Model.Chat(context.Background(), ragvsft.ChatRequest{Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: "hi"}}})
		require.NoError(t, err)
		assert.NotEmpty(t, res.Content)
	})
	t.Run("a wrong key is refused, and never shown", func(t *testing.T) {
		const wrong = "fedcba9876543210fedcba9876543210WRONG"
		m, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: wrong, BaseURL: srv.AzureURL, Azure: true, MaxRetries: -1, Now: onWireDay}, ragvsft.DefaultBaseModel)
		require.NoError(t, err)
		_, err = m.Chat(context.Background(), ragvsft.ChatRequest{Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: "hi"}}})
		require.ErrorIs(t, err, ragvsft.ErrOpenAIAuth)
		assert.NotContains(t, err.Error(), wrong)
		assert.NotContains(t, err.Error(), "fedcba98")
	})
	t.Run("Azure needs its endpoint", func(t *testing.T) {
		_, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: azureKey, Azure: true}, ragvsft.DefaultBaseModel)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "AZURE_OPENAI_ENDPOINT")
		assert.NotContains(t, err.Error(), azureKey)
	})
}

// headerLog counts the requests that carry each way of sending a key.
type headerLog struct {
	next           http.RoundTripper
	mu             sync.Mutex
	apiKey, bearer int
}

func (h *headerLog) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	if r.Header.Get("api-key") != "" {
		h.apiKey++
	}
	if r.Header.Get("Authorization") != "" {
		h.bearer++
	}
	h.mu.Unlock()
	return h.next.RoundTrip(r)
}

func (h *headerLog) counts() (apiKey, bearer int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.apiKey, h.bearer
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func TestAzureV1URL(t *testing.T) {
	for in, want := range map[string]string{
		"https://res.openai.azure.com":             "https://res.openai.azure.com/openai/v1/",
		"https://res.openai.azure.com/":            "https://res.openai.azure.com/openai/v1/",
		" https://res.openai.azure.com/openai/v1 ": "https://res.openai.azure.com/openai/v1/",
		"https://res.openai.azure.com/openai/v1/":  "https://res.openai.azure.com/openai/v1/",
		"https://res.cognitiveservices.azure.com/": "https://res.cognitiveservices.azure.com/openai/v1/",
		"": "",
	} {
		assert.Equal(t, want, ragvsft.AzureV1URL(in), "%q", in)
	}
}
