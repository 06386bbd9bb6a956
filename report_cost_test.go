package ragvsft

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// htmlText is s as html/template writes it in text.
const testFineTunedID = "ft:gpt-4.1-mini-2025-04-14:acme:cities:abc"

// pricedReport is a run of the four arms on DefaultBaseModel with one
// result each of fixed usage, a fine-tuning of 2M trained tokens and 1M
// embedding tokens.
func pricedReport(embeddingModel string) *Report {
	r := &Report{
		Settings: ReportSettings{Arms: AllArms, BaseModel: DefaultBaseModel, Questions: 1},
		FineTune: &FineTuned{ModelID: testFineTunedID, TrainedTokens: 2_000_000},
		Results: []Result{
			{Arm: ArmBase, QuestionID: "a", Model: "gpt-4.1-mini-2025-04-14", Usage: Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000}},
			// No model named: the fine-tuned model's price.
			{Arm: ArmFineTuned, QuestionID: "a", Usage: Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000}},
			// No model named: the base model's price.
			{Arm: ArmRAG, QuestionID: "a", Usage: Usage{PromptTokens: 1_000_000, CachedPromptTokens: 500_000}},
			{Arm: ArmFineTunedRAG, QuestionID: "a", Model: testFineTunedID, Usage: Usage{PromptTokens: 1_000_000, CachedPromptTokens: 1_000_000}},
		},
	}
	if embeddingModel != "" {
		r.Embedding = &EmbeddingSummary{Model: embeddingModel, Usage: EmbeddingUsage{Requests: 3, Texts: 200, PromptTokens: 1_000_000}}
	}
	r.summarize()
	return r
}

func TestApplyPrices(t *testing.T) {
	tests := []struct {
		name           string
		embeddingModel string
		catalog        Catalog
		// Per arm, in AllArms order.
		arms      []float64
		fineTune  float64
		embedding float64
		md        string
	}{
		{
			name: "default catalog", embeddingModel: "text-embedding-3-small",
			// base: 1M in at $0.40 + 1M out at $1.60; rag: 0.5M at $0.40 +
			// 0.5M cached at $0.10; fine-tuned: 1M in at $0.80 + 1M out at
			// $3.20; fine-tuned+rag: 1M cached at $0.20.
			arms: []float64{2.00, 4.00, 0.25, 0.20}, fineTune: 10, embedding: 0.02,
			md: "Cost: base $2.0000, fine-tuned $4.0000, rag $0.2500, fine-tuned+rag $0.2000; fine-tuning $10.0000; " +
				"embeddings $0.0200 (text-embedding-3-small, 1000000 tokens); total $16.4700 (catalog).",
		},
		{
			name: "large embeddings", embeddingModel: "text-embedding-3-large",
			arms: []float64{2.00, 4.00, 0.25, 0.20}, fineTune: 10, embedding: 0.13,
			md: "embeddings $0.1300 (text-embedding-3-large, 1000000 tokens); total $16.5800 (catalog).",
		},
		{
			name: "caller's catalog over the defaults",
			catalog: Catalog{"gpt-4.1-mini": {FineTunable: true,
				Price:          Price{Training: 1, Input: 1, CachedInput: 0.5, Output: 2},
				FineTunedPrice: Price{Input: 10, CachedInput: 5, Output: 20}}},
			arms: []float64{3, 30, 0.75, 5}, fineTune: 2,
			md: "Cost: base $3.0000, fine-tuned $30.0000, rag $0.7500, fine-tuned+rag $5.0000; fine-tuning $2.0000; total $40.7500 (catalog).",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := pricedReport(tt.embeddingModel)
			assert.Empty(t, r.ApplyPrices(tt.catalog))
			assert.Equal(t, PricingCatalog, r.Pricing)
			total := tt.fineTune + tt.embedding
			for i, a := range AllArms {
				s, ok := r.Arm(a)
				require.True(t, ok)
				assert.InDelta(t, tt.arms[i], s.CostUSD, 1e-9, "arm %s", a)
				assert.InDelta(t, tt.arms[i], s.SpentUSD, 1e-9, "arm %s: nothing came from a cache", a)
				assert.InDelta(t, tt.arms[i], r.Results[i].CostUSD, 1e-9, "result of arm %s", r.Results[i].Arm)
				total += tt.arms[i]
			}
			assert.InDelta(t, tt.fineTune, r.FineTuneCostUSD, 1e-9)
			if r.Embedding != nil {
				assert.InDelta(t, tt.embedding, r.Embedding.CostUSD, 1e-9)
			}
			assert.InDelta(t, total, r.TotalCostUSD(), 1e-9)

			var md bytes.Buffer
			require.NoError(t, r.WriteMarkdown(&md))
			assert.Contains(t, md.String(), tt.md)
			assert.Contains(t, strings.Join(r.Notes().Cost, "\n"), tt.md, "the HTML report's cost paragraph")
		})
	}

	t.Run("base and fine-tuned prices differ", func(t *testing.T) {
		r := pricedReport("")
		r.ApplyPrices(nil)
		base, _ := r.Arm(ArmBase)
		ft, _ := r.Arm(ArmFineTuned)
		assert.Equal(t, base.Usage, ft.Usage, "the same usage...")
		assert.InDelta(t, 2*base.CostUSD, ft.CostUSD, 1e-9, "...costs twice as much on the fine-tuned gpt-4.1-mini")
	})

	t.Run("unpriced models are returned once and count as 0", func(t *testing.T) {
		r := pricedReport("mystery-embedding")
		r.Results = append(r.Results,
			Result{Arm: ArmBase, QuestionID: "b", Model: "mystery", Usage: Usage{PromptTokens: 1_000_000}},
			Result{Arm: ArmBase, QuestionID: "c", Model: "mystery", Usage: Usage{PromptTokens: 1_000_000}})
		r.summarize()
		assert.Equal(t, []string{"mystery", "mystery-embedding"}, r.ApplyPrices(nil))
		base, _ := r.Arm(ArmBase)
		assert.InDelta(t, 2.00, base.CostUSD, 1e-9)
		assert.Zero(t, r.Embedding.CostUSD)
	})

	t.Run("a local run bills nothing", func(t *testing.T) {
		r := &Report{
			Settings: ReportSettings{Arms: []Arm{ArmBase, ArmFineTuned}, BaseModel: LocalBaseModel, Questions: 1},
			FineTune: &FineTuned{ModelID: "ft:local-base:cities:abc", TrainedTokens: 1000},
			Results: []Result{
				{Arm: ArmBase, QuestionID: "a", Model: LocalBaseModel, Usage: Usage{PromptTokens: 100, CompletionTokens: 10}},
				{Arm: ArmFineTuned, QuestionID: "a", Model: "ft:local-base:cities:abc", Usage: Usage{PromptTokens: 100, CompletionTokens: 10}},
			},
		}
		r.summarize()
		assert.Empty(t, r.ApplyPrices(nil))
		assert.Equal(t, PricingLocal, r.Pricing)
		assert.Zero(t, r.TotalCostUSD())
		var md bytes.Buffer
		require.NoError(t, r.WriteMarkdown(&md))
		assert.Contains(t, md.String(), "Cost: nothing billed (local model).")
	})

	t.Run("a run of a billed model that finished nothing is not local", func(t *testing.T) {
		r := &Report{Settings: ReportSettings{Arms: AllArms, BaseModel: DefaultBaseModel, Questions: 1}}
		r.summarize()
		assert.Empty(t, r.ApplyPrices(nil))
		assert.Equal(t, PricingCatalog, r.Pricing)
		assert.Zero(t, r.TotalCostUSD())
	})

	t.Run("unpriced report says nothing about cost", func(t *testing.T) {
		var md bytes.Buffer
		require.NoError(t, pricedReport("text-embedding-3-small").WriteMarkdown(&md))
		assert.NotContains(t, md.String(), "Cost")
	})
}

func TestApplyPricesSeparatesCachedAnswers(t *testing.T) {
	r := &Report{
		Settings: ReportSettings{Arms: []Arm{ArmRAG}, BaseModel: DefaultBaseModel, Questions: 2},
		Results: []Result{
			{Arm: ArmRAG, QuestionID: "a", Usage: Usage{PromptTokens: 1_000_000}},
			{Arm: ArmRAG, QuestionID: "b", Usage: Usage{PromptTokens: 1_000_000}, Cached: true},
		},
		Embedding: &EmbeddingSummary{Model: "text-embedding-3-small", Usage: EmbeddingUsage{Requests: 1, Texts: 1, PromptTokens: 500_000}, Cached: 7},
	}
	r.summarize()
	r.ApplyPrices(nil)
	rag, _ := r.Arm(ArmRAG)
	assert.Equal(t, 1, rag.Cached)
	assert.InDelta(t, 0.8, rag.CostUSD, 1e-9, "the experiment's cost counts every answer")
	assert.InDelta(t, 0.4, rag.SpentUSD, 1e-9, "what this run paid leaves the cached answer out")
	assert.InDelta(t, 0.01, r.Embedding.CostUSD, 1e-9, "only the embeddings the provider billed")
	var md bytes.Buffer
	require.NoError(t, r.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "1 answers came from the cache: this run paid $0.4000 for answers.")
	assert.Contains(t, md.String(), "7 embeddings came from the cache, not paid again.")
}

// The cost paragraph says how many answers were batched, and only when
// some were.
func TestReportCostSaysWhichAnswersWereBatched(t *testing.T) {
	const line = "2 answers came through the Batch API, billed at the batch price."
	for _, tt := range []struct {
		name    string
		batched []bool // per result of pricedReport, in AllArms order
		base    float64
		want    bool
	}{
		{name: "none batched", batched: []bool{false, false, false, false}, base: 2.00},
		// base: 1M in at $0.20 + 1M out at $0.80, half of the synchronous $2.
		{name: "base and rag batched", batched: []bool{true, false, true, false}, base: 1.00, want: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := pricedReport("")
			for i, b := range tt.batched {
				r.Results[i].Batch = b
			}
			r.summarize()
			assert.Empty(t, r.ApplyPrices(nil))
			base, _ := r.Arm(ArmBase)
			assert.InDelta(t, tt.base, base.CostUSD, 1e-9)

			var md bytes.Buffer
			require.NoError(t, r.WriteMarkdown(&md))
			if tt.want {
				assert.Contains(t, md.String(), line)
				assert.Contains(t, r.Notes().Cost, line, "the HTML report's cost paragraph")
			} else {
				assert.NotContains(t, md.String(), "Batch API")
				assert.NotContains(t, strings.Join(r.Notes().Cost, "\n"), "Batch API")
			}
		})
	}
}

// The report says which model stood in for the article's, only when one
// did.
func TestReportStandIn(t *testing.T) {
	tests := []struct {
		name, base, article string
		want                string
	}{
		{"default model for the article's", DefaultBaseModel, ArticleModel,
			"gpt-4.1-mini-2025-04-14 stood in for the article's gpt-3.5-turbo (shut down 2026-10-23)."},
		{"local model for the article's", LocalBaseModel, ArticleModel, "local-base stood in for the article's gpt-3.5-turbo (shut down 2026-10-23)."},
		{"a model the catalog does not know", "gpt-4o", "mystery-2023", "gpt-4o stood in for the article's mystery-2023."},
		{"not a reproduction", DefaultBaseModel, "", ""},
		{"the article's own model", ArticleModel, ArticleModel, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Settings: ReportSettings{Arms: []Arm{ArmBase}, BaseModel: tt.base, ArticleModel: tt.article}}
			var md bytes.Buffer
			require.NoError(t, r.WriteMarkdown(&md))
			assert.Equal(t, tt.want, r.Notes().StandIn, "the HTML report's sentence")
			if tt.want == "" {
				assert.NotContains(t, md.String(), "stood in")
				return
			}
			assert.Contains(t, md.String(), tt.want)
		})
	}
}

// The JSON form carries the fields the README documents.
func TestReportCostJSON(t *testing.T) {
	r := pricedReport("text-embedding-3-small")
	r.SchemaVersion = ReportSchemaVersion
	r.Settings.ArticleModel = ArticleModel
	r.ApplyPrices(nil)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var got struct {
		SchemaVersion int     `json:"schema_version"`
		Pricing       string  `json:"pricing"`
		FineTuneCost  float64 `json:"fine_tune_cost_usd"`
		Settings      struct {
			BaseModel    string `json:"base_model"`
			ArticleModel string `json:"article_model"`
		} `json:"settings"`
		Embedding struct {
			Model string `json:"model"`
			Usage struct {
				Requests     int `json:"requests"`
				Texts        int `json:"texts"`
				PromptTokens int `json:"prompt_tokens"`
			} `json:"usage"`
			CostUSD float64 `json:"cost_usd"`
		} `json:"embedding"`
		Arms []struct {
			Usage struct {
				CachedPromptTokens int `json:"cached_prompt_tokens"`
			} `json:"usage"`
			CostUSD float64 `json:"cost_usd"`
		} `json:"arms"`
		Results []struct {
			CostUSD float64 `json:"cost_usd"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, 4, got.SchemaVersion)
	assert.Equal(t, "catalog", got.Pricing)
	assert.Equal(t, DefaultBaseModel, got.Settings.BaseModel)
	assert.Equal(t, "gpt-3.5-turbo", got.Settings.ArticleModel)
	assert.Equal(t, "text-embedding-3-small", got.Embedding.Model)
	assert.Equal(t, 1_000_000, got.Embedding.Usage.PromptTokens)
	assert.Equal(t, 200, got.Embedding.Usage.Texts)
	assert.InDelta(t, 0.02, got.Embedding.CostUSD, 1e-9)
	assert.InDelta(t, 10, got.FineTuneCost, 1e-9)
	require.Len(t, got.Arms, 4)
	assert.Equal(t, 500_000, got.Arms[2].Usage.CachedPromptTokens, "the rag arm's cached prompt tokens are summed")
	require.Len(t, got.Results, 4)
	assert.InDelta(t, 4.00, got.Results[1].CostUSD, 1e-9)
}

func TestApplyPricesCountsUnpricedAnswers(t *testing.T) {
	r := pricedReport("")
	r.Results[1].Model = "cities-lora" // a fine-tune served elsewhere, unknown to the catalog
	r.summarize()
	unpriced := r.ApplyPrices(nil)
	assert.Equal(t, []string{"cities-lora"}, unpriced)
	s, _ := r.Arm(ArmFineTuned)
	assert.Equal(t, 1, s.Unpriced)
	assert.Zero(t, s.CostUSD)
	var b strings.Builder
	require.NoError(t, r.WriteMarkdown(&b))
	assert.Contains(t, b.String(), "fine-tuned unpriced")
	assert.Contains(t, b.String(), "total of what is priced")
}
