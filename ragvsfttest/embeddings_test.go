package ragvsfttest

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/ragvsft/ragvsft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmbeddings(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()
	texts := []string{"City_1 has about 100 inhabitants.", "What is the population of City_1?", "Paris"}

	resp, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: openai.EmbeddingModelTextEmbedding3Small,
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts},
	})
	require.NoError(t, err)
	require.Len(t, resp.Data, len(texts))
	for i, d := range resp.Data {
		assert.Equal(t, int64(i), d.Index)
		assert.Len(t, d.Embedding, 1536, "OpenAI's size for text-embedding-3-small")
		assert.InDelta(t, 1, norm(d.Embedding), 1e-5)
	}
	assert.Positive(t, resp.Usage.PromptTokens)

	local, err := ragvsft.NewLocalEmbeddingFunc(1536)(ctx, texts[0])
	require.NoError(t, err)
	for i := range local {
		require.InDelta(t, float64(local[i]), resp.Data[0].Embedding[i], 1e-6, "dimension %d", i)
	}

	tests := []struct {
		name   string
		format openai.EmbeddingNewParamsEncodingFormat
	}{{"float", openai.EmbeddingNewParamsEncodingFormatFloat}, {"base64", openai.EmbeddingNewParamsEncodingFormatBase64}}
	for _, tt := range tests {
		t.Run(tt.name+" with dimensions", func(t *testing.T) {
			r, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
				Model:          openai.EmbeddingModelTextEmbedding3Large,
				Input:          openai.EmbeddingNewParamsInputUnion{OfString: openai.String(texts[1])},
				Dimensions:     openai.Int(64),
				EncodingFormat: tt.format,
			})
			require.NoError(t, err)
			require.Len(t, r.Data, 1)
			want, err := ragvsft.NewLocalEmbeddingFunc(64)(ctx, texts[1])
			require.NoError(t, err)
			require.Len(t, r.Data[0].Embedding, 64)
			for i := range want {
				assert.InDelta(t, float64(want[i]), r.Data[0].Embedding[i], 1e-6)
			}
		})
	}

	refused := []struct {
		name   string
		params openai.EmbeddingNewParams
		param  string
	}{
		{"empty string", openai.EmbeddingNewParams{Model: "text-embedding-3-small", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("")}}, "input"},
		{"tokens", openai.EmbeddingNewParams{Model: "text-embedding-3-small", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{1, 2}}}, "input"},
		{"too many dimensions", openai.EmbeddingNewParams{Model: "text-embedding-3-small", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("a")}, Dimensions: openai.Int(2000)}, "dimensions"},
		{"dimensions on ada", openai.EmbeddingNewParams{Model: "text-embedding-ada-002", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("a")}, Dimensions: openai.Int(8)}, "dimensions"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Embeddings.New(ctx, tt.params)
			e := asAPIError(t, err)
			assert.Equal(t, http.StatusBadRequest, e.StatusCode)
			assert.Equal(t, tt.param, e.Param)
		})
	}
	assert.Equal(t, 3, s.Stats().Embeddings)
}

func TestEmbeddingsUnknownModel(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday})
	c := newClient(s)
	for _, model := range []string{"text-embedding-4-imaginary", ragvsft.DefaultBaseModel, "ft:gpt-4o-mini-2024-07-18:ragvsft::abc"} {
		t.Run(model, func(t *testing.T) {
			_, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
				Model: model, Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("a")},
			})
			e := asAPIError(t, err)
			assert.Equal(t, http.StatusNotFound, e.StatusCode)
			assert.Equal(t, "model_not_found", e.Code)
			assert.Equal(t, "The model `"+model+"` does not exist or you do not have access to it.", e.Message)
		})
	}
	assert.Zero(t, s.Stats().Embeddings)
}

// Models a user adds are served for chat and embeddings and listed; they
// are unknown to a server that does not add them.
func TestServerConfigModels(t *testing.T) {
	ctx := context.Background()
	chat := openai.ChatCompletionNewParams{Model: "llama3", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(cityPrompt)}}
	embed := openai.EmbeddingNewParams{Model: "nomic-embed-text", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("a")}}

	plain := newClient(newServer(t, ServerConfig{Now: onToday}))
	_, err := plain.Chat.Completions.New(ctx, chat)
	assert.Equal(t, http.StatusNotFound, asAPIError(t, err).StatusCode)
	_, err = plain.Embeddings.New(ctx, embed)
	assert.Equal(t, http.StatusNotFound, asAPIError(t, err).StatusCode)

	s := newServer(t, ServerConfig{Now: onToday, Models: []string{"llama3", "nomic-embed-text"}})
	c := newClient(s)
	resp, err := c.Chat.Completions.New(ctx, chat)
	require.NoError(t, err)
	assert.Equal(t, "City_7 has about 1234567 inhabitants.", resp.Choices[0].Message.Content)
	assert.Equal(t, "llama3", resp.Model)
	emb, err := c.Embeddings.New(ctx, embed)
	require.NoError(t, err)
	assert.Len(t, emb.Data[0].Embedding, ragvsft.DefaultLocalEmbeddingDims)
	m, err := c.Models.Get(ctx, "llama3")
	require.NoError(t, err)
	assert.Equal(t, "llama3", m.ID)
	page, err := c.Models.List(ctx)
	require.NoError(t, err)
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	assert.Contains(t, ids, "llama3")
	assert.Contains(t, ids, "nomic-embed-text")
}

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// The server refuses a request over OpenAI's limits as OpenAI does: more
// than 2048 inputs, an input over 8192 tokens, more than 300,000 tokens in
// all; a request just within them is served.
func TestEmbeddingsLimits(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()
	repeat := func(n int, text string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = text
		}
		return out
	}
	// approxTokens: four characters a token.
	big := strings.Repeat("abcd", 8000) // 8000 tokens
	tests := []struct {
		name    string
		inputs  []string
		typ     string
		code    string
		message string
	}{
		{"2049 inputs", repeat(2049, "a"), "invalid_request_error", "array_above_max_length", "Expected an array with maximum length 2048, but got an array with length 2049 instead."},
		{"an input over 8192 tokens", []string{"a", strings.Repeat("abcd", 8193)}, "invalid_request_error", "", "This model's maximum context length is 8192 tokens, however you requested 8193 tokens"},
		{"38 inputs of 8000 tokens", repeat(38, big), "max_tokens_per_request", "max_tokens_per_request", "Requested 304000 tokens, max 300000 tokens per request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
				Model: openai.EmbeddingModelTextEmbedding3Small,
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: tt.inputs},
			})
			e := asAPIError(t, err)
			assert.Equal(t, http.StatusBadRequest, e.StatusCode)
			assert.Equal(t, tt.typ, e.Type)
			assert.Equal(t, tt.code, e.Code)
			assert.Contains(t, e.Message, tt.message)
		})
	}
	assert.Zero(t, s.Stats().Embeddings, "nothing refused was embedded")

	for _, inputs := range [][]string{repeat(2048, "a"), repeat(37, big), {strings.Repeat("abcd", 8192)}} {
		resp, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: openai.EmbeddingModelTextEmbedding3Small,
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
		})
		require.NoError(t, err)
		assert.Len(t, resp.Data, len(inputs))
	}
}
