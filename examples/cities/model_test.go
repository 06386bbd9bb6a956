package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// The article's gpt-3.5-turbo is shut down: asking for it fails at once,
// naming the date, before a request is made or a run folder is written.
func TestShutDownModelIsRefusedBeforeAnyRequest(t *testing.T) {
	onTestDay(t) // after gpt-3.5-turbo's shutdown on 2026-10-23
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{})
	t.Cleanup(srv.Close)
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "test-key")
	for _, model := range []string{"gpt-3.5-turbo", "gpt-3.5-turbo-0125"} {
		t.Run(model, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			out, err := runCities(t, "-backend", "openai", "-yes", "-n", "10", "-model", model, "-out", dir)
			require.Error(t, err, out)
			require.ErrorIs(t, err, ragvsft.ErrModelShutDown)
			assert.Contains(t, err.Error(), "2026-10-23")
			assert.Contains(t, err.Error(), model)
			assert.Empty(t, srv.Stats().Requests, "no request reached the server")
			assert.NoDirExists(t, dir, "no run folder")
		})
	}
}

// With no -model, the OpenAI backend fine-tunes and asks
// ragvsft.DefaultBaseModel; the report says it stood in for the article's
// model and prices every arm, the fine-tuning and the embeddings.
func TestDefaultModelStandsInForTheArticles(t *testing.T) {
	onTestDay(t)
	if testing.Short() {
		t.Skip("runs the experiment against ragvsfttest")
	}
	srv := newChatLog(t, 0)
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "test-key")
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-backend", "openai", "-yes", "-n", "10", "-poll", "20ms", "-out", dir, "-no-cache")
	require.NoError(t, err, out)

	rep := readReport(t, dir)
	assert.Equal(t, 4, rep.SchemaVersion)
	assert.Equal(t, ragvsft.DefaultBaseModel, rep.Settings.BaseModel)
	assert.Equal(t, ragvsft.ArticleModel, rep.Settings.ArticleModel)
	require.NotNil(t, rep.FineTune)
	assert.True(t, strings.HasPrefix(rep.FineTune.ModelID, "ft:"+ragvsft.DefaultBaseModel+":"), rep.FineTune.ModelID)
	assert.Equal(t, ragvsft.PricingCatalog, rep.Pricing)

	// Each arm at its own model's prices, recomputed from its usage.
	catalog := ragvsft.DefaultCatalog()
	for _, a := range rep.Arms {
		model := ragvsft.DefaultBaseModel
		if a.Arm == ragvsft.ArmFineTuned || a.Arm == ragvsft.ArmFineTunedRAG {
			model = rep.FineTune.ModelID
		}
		p, ok := catalog.ChatPrice(model)
		require.True(t, ok, model)
		assert.InDelta(t, p.ChatCost(a.Usage), a.CostUSD, 1e-12, "arm %s", a.Arm)
		assert.Positive(t, a.CostUSD, "arm %s", a.Arm)
	}
	info, _ := catalog.Lookup(ragvsft.DefaultBaseModel)
	assert.InDelta(t, float64(rep.FineTune.TrainedTokens)*info.Price.Training/1e6, rep.FineTuneCostUSD, 1e-12)
	require.NotNil(t, rep.Embedding)
	assert.Equal(t, ragvsft.DefaultOpenAIEmbeddingModel, rep.Embedding.Model)
	assert.Equal(t, 20, rep.Embedding.Usage.Texts, "10 documents and 10 questions")
	assert.InDelta(t, float64(rep.Embedding.Usage.PromptTokens)*0.02/1e6, rep.Embedding.CostUSD, 1e-15)

	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "gpt-4.1-mini-2025-04-14 stood in for the article's gpt-3.5-turbo (shut down 2026-10-23).")
	assert.Contains(t, string(md), "; embeddings $")
	csv, err := os.ReadFile(filepath.Join(dir, "results.csv"))
	require.NoError(t, err)
	assert.Contains(t, string(csv), "\nembeddings,,")
	assert.Contains(t, string(csv), "\ntotal,,")
}
