package ragvsfttest

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"
)

// BenchmarkChatCompletion measures one chat completion through the real
// client and HTTP, answered by the local base model.
func BenchmarkChatCompletion(b *testing.B) {
	s := NewOpenAIServer(ServerConfig{})
	defer s.Close()
	c := newClient(s)
	params := openai.ChatCompletionNewParams{
		Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("City_1 has about 123456 inhabitants.\n\nWhat is the population of City_1?"),
		},
	}
	for b.Loop() {
		if _, err := c.Chat.Completions.New(context.Background(), params); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbeddings measures one request of 16 inputs, at
// text-embedding-3-small's 1536 dimensions.
func BenchmarkEmbeddings(b *testing.B) {
	s := NewOpenAIServer(ServerConfig{})
	defer s.Close()
	c := newClient(s)
	inputs := make([]string, 16)
	for i := range inputs {
		inputs[i] = "City_1 has about 123456 inhabitants."
	}
	params := openai.EmbeddingNewParams{
		Model: openai.EmbeddingModelTextEmbedding3Small,
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
	}
	for b.Loop() {
		if _, err := c.Embeddings.New(context.Background(), params); err != nil {
			b.Fatal(err)
		}
	}
}
