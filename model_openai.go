package ragvsft

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/openai/openai-go/v3"
)

// OpenAIModel is a Model served by OpenAI's chat completions API, or by any
// server that speaks it. Each Chat is one request; openai-go retries 429 and
// 5xx answers as OpenAIConfig.MaxRetries says, waiting as Retry-After says.
//
// Temperature is always sent, so ChatRequest's 0 means greedy decoding as in
// the article, not the server's default of 1. Seed and MaxTokens are sent
// when non-zero (MaxTokens as max_tokens, which every OpenAI-compatible
// server understands).
//
// An OpenAIModel is safe for concurrent use.
type OpenAIModel struct {
	model  string
	client *openAIClient
}

var _ Model = (*OpenAIModel)(nil)

// NewOpenAIModel returns the chat model named model (for example
// "gpt-3.5-turbo", or a fine-tuned "ft:..." id) reached through cfg. It
// fails only on a bad configuration: no API key, or a base URL that is not
// http(s).
func NewOpenAIModel(cfg OpenAIConfig, model string) (*OpenAIModel, error) {
	if strings.TrimSpace(model) == "" {
		return nil, errors.New("ragvsft: OpenAI model: no model name")
	}
	c, err := cfg.client()
	if err != nil {
		return nil, err
	}
	return &OpenAIModel{model: model, client: c}, nil
}

// Name returns the model's name as given to NewOpenAIModel.
func (m *OpenAIModel) Name() string { return m.model }

// Chat sends one chat completion request. The response carries the usage and
// system fingerprint the server reported. An empty completion returns the
// response with an error wrapping ErrNoAnswer.
func (m *OpenAIModel) Chat(ctx context.Context, req ChatRequest) (ChatResponse, error) {
	if len(req.Messages) == 0 {
		return ChatResponse{}, errors.New("ragvsft: chat: no messages")
	}
	msgs := make([]openai.ChatCompletionMessageParamUnion, len(req.Messages))
	for i, msg := range req.Messages {
		switch msg.Role {
		case RoleSystem:
			msgs[i] = openai.SystemMessage(msg.Content)
		case RoleDeveloper:
			msgs[i] = openai.DeveloperMessage(msg.Content)
		case RoleUser:
			msgs[i] = openai.UserMessage(msg.Content)
		case RoleAssistant:
			msgs[i] = openai.AssistantMessage(msg.Content)
		default:
			return ChatResponse{}, fmt.Errorf("ragvsft: chat: message %d: role %q cannot be sent to a chat model", i+1, msg.Role)
		}
	}
	params := openai.ChatCompletionNewParams{
		Model:       m.model,
		Messages:    msgs,
		Temperature: openai.Float(req.Temperature),
	}
	if req.Seed != 0 {
		params.Seed = openai.Int(req.Seed)
	}
	if req.MaxTokens > 0 {
		params.MaxTokens = openai.Int(int64(req.MaxTokens))
	}
	res, err := m.client.chat.New(ctx, params)
	if err != nil {
		return ChatResponse{}, m.client.wrap("chat completion with "+m.model, err)
	}
	out := ChatResponse{
		Model:             res.Model,
		SystemFingerprint: res.SystemFingerprint,
		Usage: Usage{
			PromptTokens:     int(res.Usage.PromptTokens),
			CompletionTokens: int(res.Usage.CompletionTokens),
		},
	}
	if len(res.Choices) > 0 {
		out.Content = res.Choices[0].Message.Content
	}
	if strings.TrimSpace(out.Content) == "" {
		return out, fmt.Errorf("%w (model %s, completion %s)", ErrNoAnswer, m.model, res.ID)
	}
	return out, nil
}
