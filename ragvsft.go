package ragvsft

import (
	"context"
	"errors"
)

// Chat roles known to OpenAI's chat fine-tuning format.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	RoleFunction  = "function"
)

// Message is one turn of a chat conversation, as in OpenAI's chat format.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// Name optionally tells apart participants of the same role; a
	// "function" message needs it.
	Name string `json:"name,omitempty"`
	// Weight, on an assistant message of a training example, says whether
	// the message is trained on (1) or only given as context (0); nil means
	// 1, as for OpenAI.
	Weight *int `json:"weight,omitempty"`
}

// ChatRequest is what an Experiment asks a Model. The zero value of each
// sampling field means "the provider's default", except where an Experiment
// fills in the article's settings (temperature 0, seed 42, 400 tokens).
type ChatRequest struct {
	Messages    []Message
	Temperature float64
	// Seed asks for deterministic sampling where the provider supports it;
	// 0 sends no seed.
	Seed int64
	// MaxTokens caps the completion; 0 means the provider's default.
	MaxTokens int
}

// Usage counts the tokens one call consumed, as the provider reports them.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// ChatResponse is a Model's answer.
type ChatResponse struct {
	Content string
	Usage   Usage
	// Model is the model that answered, as the provider names it.
	Model string
	// SystemFingerprint identifies the provider's backend configuration,
	// so a report can tell whether two runs were served alike.
	SystemFingerprint string
}

// Model is a chat model: the thing every arm of an Experiment asks.
//
// Implementations must be safe for concurrent use.
type Model interface {
	Chat(ctx context.Context, req ChatRequest) (ChatResponse, error)
}

// ErrNoAnswer is returned by a Model that produced an empty completion.
var ErrNoAnswer = errors.New("ragvsft: model returned no answer")
