package ragvsfttest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ragvsft/ragvsft"
)

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Temperature         *float64 `json:"temperature"`
	Seed                *int64   `json:"seed"`
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	N                   *int     `json:"n"`
	Stream              bool     `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// fingerprint is the system_fingerprint of a model: stable for one model id.
func fingerprint(model string) string {
	sum := sha256.Sum256([]byte("ragvsft:" + model))
	return "fp_" + hex.EncodeToString(sum[:])[:10]
}

// chatModel returns the model that answers for id: the fine-tune of that
// id, or the base model for any id that is not a fine-tune.
func (s *OpenAIServer) chatModel(id string) (ragvsft.Model, bool) {
	// A LoRA adapter loaded at runtime answers under its name (lora.go).
	if m, ok := s.lora.get(id); ok {
		return m, true
	}
	if !strings.HasPrefix(id, "ft:") {
		return s.base, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[id]
	return m, ok
}

func modelNotFound(w http.ResponseWriter, id string) {
	notFound(w, "model", "model_not_found", fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", id))
}

func (s *OpenAIServer) chatCompletion(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20)).Decode(&req); err != nil {
		badRequest(w, "", "", "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	if req.Model == "" {
		badRequest(w, "model", "", "Missing required parameter: 'model'.")
		return
	}
	if len(req.Messages) == 0 {
		badRequest(w, "messages", "empty_array", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
		return
	}
	cr := ragvsft.ChatRequest{}
	for i, m := range req.Messages {
		text, ok := messageText(m.Content)
		if !ok {
			badRequest(w, fmt.Sprintf("messages.[%d].content", i), "invalid_type", fmt.Sprintf("Invalid 'messages[%d].content': expected a string or an array of text parts.", i))
			return
		}
		cr.Messages = append(cr.Messages, ragvsft.Message{Role: m.Role, Content: text})
	}
	if t := req.Temperature; t != nil {
		if *t < 0 || *t > 2 {
			badRequest(w, "temperature", "decimal_above_max_value", fmt.Sprintf("Invalid 'temperature': expected a value between 0 and 2, but got %g instead.", *t))
			return
		}
		cr.Temperature = *t
	}
	if req.Seed != nil {
		cr.Seed = *req.Seed
	}
	for _, mt := range []struct {
		name string
		v    *int
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if mt.v == nil {
			continue
		}
		if *mt.v < 1 {
			badRequest(w, mt.name, "integer_below_min_value", fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= 1, but got %d instead.", mt.name, *mt.v))
			return
		}
		cr.MaxTokens = *mt.v
	}
	if req.N != nil && *req.N != 1 {
		badRequest(w, "n", "unsupported_value", "This server returns one choice per request: 'n' must be 1.")
		return
	}
	model, ok := s.chatModel(req.Model)
	if !ok {
		modelNotFound(w, req.Model)
		return
	}
	resp, err := model.Chat(r.Context(), cr)
	if err != nil && !errors.Is(err, ragvsft.ErrNoAnswer) {
		if r.Context().Err() != nil {
			return
		}
		serverError(w, "The model failed to answer: "+err.Error())
		return
	}
	usage := resp.Usage
	if usage.PromptTokens == 0 {
		for _, m := range cr.Messages {
			usage.PromptTokens += 4 + approxTokens(m.Content)
		}
		usage.PromptTokens += 3
	}
	if usage.CompletionTokens == 0 {
		usage.CompletionTokens = approxTokens(resp.Content)
	}
	finish := "stop"
	if cr.MaxTokens > 0 && usage.CompletionTokens >= cr.MaxTokens {
		finish = "length"
	}
	fp := fingerprint(req.Model)
	id := newID("chatcmpl-", 29)
	created := time.Now().Unix()
	usageJSON := map[string]any{
		"prompt_tokens": usage.PromptTokens, "completion_tokens": usage.CompletionTokens,
		"total_tokens": usage.PromptTokens + usage.CompletionTokens,
	}
	s.mu.Lock()
	s.stats.ChatCompletions++
	s.mu.Unlock()
	if req.Stream {
		s.streamChat(w, id, created, req, resp.Content, finish, fp, usageJSON)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      id,
		"object":  "chat.completion",
		"created": created,
		"model":   req.Model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": resp.Content, "refusal": nil, "annotations": []any{}},
			"logprobs":      nil,
			"finish_reason": finish,
		}},
		"usage":              usageJSON,
		"service_tier":       "default",
		"system_fingerprint": fp,
	})
}

// streamChat sends a completion as server-sent events, in the chunks OpenAI
// sends: the role, the content, the finish reason, the usage if asked, then
// [DONE].
func (s *OpenAIServer) streamChat(w http.ResponseWriter, id string, created int64, req chatRequest, content, finish, fp string, usage map[string]any) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	chunk := func(choices []any, usage any) {
		b, _ := json.Marshal(map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"system_fingerprint": fp, "choices": choices, "usage": usage,
		})
		_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
	}
	choice := func(delta map[string]any, finish any) []any {
		return []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}
	}
	chunk(choice(map[string]any{"role": "assistant", "content": ""}, nil), nil)
	for _, piece := range strings.SplitAfter(content, " ") {
		if piece != "" {
			chunk(choice(map[string]any{"content": piece}, nil), nil)
		}
	}
	chunk(choice(map[string]any{}, finish), nil)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		chunk([]any{}, usage)
	}
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
