package ragvsfttest

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/ragvsft/ragvsft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChatCompletion(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	ctx := context.Background()
	passage := "City_7 has about 1234567 inhabitants. City_8 has about 42 inhabitants.\n\nWhat is the population of City_7?"
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-3.5-turbo",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(passage)},
		Seed:     openai.Int(1),
	}
	resp, err := c.Chat.Completions.New(ctx, params)
	require.NoError(t, err)
	want, err := ragvsft.NewLocalModel().Chat(ctx, ragvsft.ChatRequest{Messages: []ragvsft.Message{{Role: "user", Content: passage}}, Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, want.Content, resp.Choices[0].Message.Content, "answers as the local model")
	assert.Equal(t, "City_7 has about 1234567 inhabitants.", resp.Choices[0].Message.Content, "read from the prompt")
	assert.Equal(t, "chat.completion", string(resp.Object))
	assert.Equal(t, "stop", resp.Choices[0].FinishReason)
	assert.Equal(t, int64(want.Usage.PromptTokens), resp.Usage.PromptTokens)
	assert.Equal(t, resp.Usage.PromptTokens+resp.Usage.CompletionTokens, resp.Usage.TotalTokens)

	again, err := c.Chat.Completions.New(ctx, params)
	require.NoError(t, err)
	assert.Equal(t, resp.SystemFingerprint, again.SystemFingerprint, "stable per model")
	assert.NotEqual(t, resp.ID, again.ID)

	params.MaxTokens = openai.Int(2)
	short, err := c.Chat.Completions.New(ctx, params)
	require.NoError(t, err)
	assert.Equal(t, int64(2), short.Usage.CompletionTokens)
	assert.Equal(t, "length", short.Choices[0].FinishReason)

	t.Run("stream", func(t *testing.T) {
		params := params
		params.MaxTokens = openai.Int(400)
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := c.Chat.Completions.NewStreaming(ctx, params)
		acc := openai.ChatCompletionAccumulator{}
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		require.NoError(t, stream.Err())
		require.NoError(t, stream.Close())
		require.Len(t, acc.Choices, 1)
		assert.Equal(t, resp.Choices[0].Message.Content, acc.Choices[0].Message.Content)
		assert.Equal(t, resp.Usage.TotalTokens, acc.Usage.TotalTokens)
	})
}

func TestChatCompletionRefused(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s)
	user := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi?")}
	tests := []struct {
		name   string
		params openai.ChatCompletionNewParams
		status int
		param  string
		code   string
	}{
		{"unknown fine-tune", openai.ChatCompletionNewParams{Model: "ft:gpt-4o-mini:ragvsft::abc", Messages: user}, http.StatusNotFound, "model", "model_not_found"},
		{"no messages", openai.ChatCompletionNewParams{Model: "gpt-4o-mini"}, http.StatusBadRequest, "messages", "empty_array"},
		{"temperature too high", openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: user, Temperature: openai.Float(2.5)}, http.StatusBadRequest, "temperature", "decimal_above_max_value"},
		{"max tokens zero", openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: user, MaxCompletionTokens: openai.Int(0)}, http.StatusBadRequest, "max_completion_tokens", "integer_below_min_value"},
		{"n above one", openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: user, N: openai.Int(2)}, http.StatusBadRequest, "n", "unsupported_value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Chat.Completions.New(context.Background(), tt.params)
			e := asAPIError(t, err)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.param, e.Param)
			assert.Equal(t, tt.code, e.Code)
		})
	}
	assert.Zero(t, s.Stats().ChatCompletions)
}

func TestChatRetriesDroppedConnection(t *testing.T) {
	s := newServer(t, ServerConfig{})
	c := newClient(s, option.WithMaxRetries(2), option.WithMaxRetryDelay(10*time.Millisecond))
	s.InjectFault("chat/completions", 1, Fault{Drop: true})
	s.InjectFault("chat/completions", 1, Fault{Status: http.StatusInternalServerError})
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the population of City_1?")},
	})
	require.NoError(t, err)
	assert.Equal(t, "I don't know.", resp.Choices[0].Message.Content, "the base model knows no city")
	st := s.Stats()
	assert.Equal(t, 3, st.Requests["POST /v1/chat/completions"])
	assert.Equal(t, 1, st.ChatCompletions)
}

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

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
