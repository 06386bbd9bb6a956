package ragvsft

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
)

// OpenAIModel is a Model served by OpenAI's chat completions API, or by any
// server that speaks it. Each Chat is one request; openai-go retries 429 and
// 5xx answers as OpenAIConfig.MaxRetries says, waiting as Retry-After says.
//
// The request is the chat completions API as it stands at the end of 2026:
// MaxTokens is sent as max_completion_tokens (max_tokens is deprecated and
// refused by reasoning models), Seed when non-zero, ResponseFormat as
// response_format json_schema (structured outputs). Temperature is sent to
// every model except a reasoning one (ModelInfo.Reasoning in the config's
// catalog; a fine-tune is looked up by its base model), so ChatRequest's 0
// means greedy decoding as in the article, not the server's default of 1.
// Reasoning models refuse any temperature but their default, and spend part
// of max_completion_tokens on hidden reasoning: Usage.ReasoningTokens says
// how much, and a budget spent on reasoning alone is a *CutShortError.
//
// An OpenAIModel is safe for concurrent use.
type OpenAIModel struct {
	model     string
	reasoning bool
	client    *openAIClient
}

var _ Model = (*OpenAIModel)(nil)

// NewOpenAIModel returns the chat model named model (for example
// DefaultBaseModel, or a fine-tuned "ft:..." id) reached through cfg. It
// fails on a bad configuration (no API key, a base URL that is not
// http(s)), and, before anything is sent, on a model that the catalog
// (cfg.Catalog, then DefaultCatalog) says is shut down on cfg.Now's day: a
// *ModelShutDownError naming the date and the replacement. A fine-tune
// shuts down with its base model. A model the catalogs do not know is
// accepted: another provider may serve it.
func NewOpenAIModel(cfg OpenAIConfig, model string) (*OpenAIModel, error) {
	if strings.TrimSpace(model) == "" {
		return nil, errors.New("ragvsft: OpenAI model: no model name")
	}
	c, err := cfg.client()
	if err != nil {
		return nil, err
	}
	now, err := cfg.now()
	if err != nil {
		return nil, err
	}
	if err := checkModel(cfg.Catalog, model, now, false); err != nil {
		return nil, err
	}
	info, _ := cfg.modelInfo(model)
	return &OpenAIModel{model: model, reasoning: info.Reasoning, client: c}, nil
}

// Name returns the model's name as given to NewOpenAIModel.
func (m *OpenAIModel) Name() string { return m.model }

// ErrCutShort is wrapped by the error of a completion that its token limit
// stopped before it wrote any answer; get the counts with errors.As and
// *CutShortError. It is not ErrNoAnswer: the model was not silent, the
// budget was too small.
var ErrCutShort = errors.New("ragvsft: answer cut short by the completion token limit")

// CutShortError is a completion that ended with finish_reason "length" and
// no content: typically a reasoning model that spent the whole of
// max_completion_tokens on hidden reasoning. The tokens were billed.
type CutShortError struct {
	// Model is the model asked; ID the completion's id.
	Model, ID string
	// MaxTokens is the budget sent (ChatRequest.MaxTokens; 0 if none).
	MaxTokens int
	// CompletionTokens and ReasoningTokens are the usage the server
	// reported.
	CompletionTokens, ReasoningTokens int
}

// Error says how the budget was spent and what to do.
func (e *CutShortError) Error() string {
	if e.ReasoningTokens > 0 {
		return fmt.Sprintf("ragvsft: %s wrote no answer: it spent all %d completion tokens on reasoning; raise MaxTokens (max_completion_tokens was %d; completion %s)",
			e.Model, e.CompletionTokens, e.MaxTokens, e.ID)
	}
	return fmt.Sprintf("ragvsft: %s wrote no answer: it reached its limit of %d completion tokens first; raise MaxTokens (max_completion_tokens was %d; completion %s)",
		e.Model, e.CompletionTokens, e.MaxTokens, e.ID)
}

// Is makes errors.Is(err, ErrCutShort) true.
func (e *CutShortError) Is(target error) bool { return target == ErrCutShort }

// Chat sends one chat completion request. The response carries the usage
// (cached prompt and reasoning tokens included) and system fingerprint the
// server reported, and Truncated when the answer was cut by the token limit
// (finish_reason "length"). A completion with no content returns the
// response, whose Usage is what was billed, with an error: a *CutShortError
// if the token limit stopped it, else one wrapping ErrNoAnswer.
func (m *OpenAIModel) Chat(ctx context.Context, req ChatRequest) (ChatResponse, error) {
	params, err := m.params(req)
	if err != nil {
		return ChatResponse{}, err
	}
	res, err := m.client.chat.New(ctx, params)
	if err != nil {
		return ChatResponse{}, m.client.wrap("chat completion with "+m.model, err)
	}
	return m.response(res, req)
}

// params is the chat completion request for req, as Chat sends it and a
// BatchModel writes it in its input file.
func (m *OpenAIModel) params(req ChatRequest) (openai.ChatCompletionNewParams, error) {
	if len(req.Messages) == 0 {
		return openai.ChatCompletionNewParams{}, errors.New("ragvsft: chat: no messages")
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
			return openai.ChatCompletionNewParams{}, fmt.Errorf("ragvsft: chat: message %d: role %q cannot be sent to a chat model", i+1, msg.Role)
		}
	}
	params := openai.ChatCompletionNewParams{Model: m.model, Messages: msgs}
	if !m.reasoning {
		params.Temperature = openai.Float(req.Temperature)
	}
	if req.Seed != 0 {
		params.Seed = openai.Int(req.Seed)
	}
	if req.MaxTokens > 0 {
		params.MaxCompletionTokens = openai.Int(int64(req.MaxTokens))
	}
	if f := req.ResponseFormat; f != nil {
		js := shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: f.Name, Schema: f.Schema, Strict: openai.Bool(f.Strict)}
		if f.Description != "" {
			js.Description = openai.String(f.Description)
		}
		params.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: js},
		}
	}
	return params, nil
}

// response reads a chat completion as Chat returns it: content, usage,
// model, fingerprint, and an error for a completion with no content.
func (m *OpenAIModel) response(res *openai.ChatCompletion, req ChatRequest) (ChatResponse, error) {
	out := ChatResponse{
		Model:             res.Model,
		SystemFingerprint: res.SystemFingerprint,
		Usage: Usage{
			PromptTokens:       int(res.Usage.PromptTokens),
			CompletionTokens:   int(res.Usage.CompletionTokens),
			CachedPromptTokens: int(res.Usage.PromptTokensDetails.CachedTokens),
			ReasoningTokens:    int(res.Usage.CompletionTokensDetails.ReasoningTokens),
		},
	}
	finish := ""
	if len(res.Choices) > 0 {
		out.Content = res.Choices[0].Message.Content
		finish = res.Choices[0].FinishReason
	}
	out.Truncated = finish == "length"
	if strings.TrimSpace(out.Content) == "" {
		if out.Truncated {
			return out, &CutShortError{Model: m.model, ID: res.ID, MaxTokens: req.MaxTokens,
				CompletionTokens: out.Usage.CompletionTokens, ReasoningTokens: out.Usage.ReasoningTokens}
		}
		return out, fmt.Errorf("%w (model %s, completion %s)", ErrNoAnswer, m.model, res.ID)
	}
	return out, nil
}
