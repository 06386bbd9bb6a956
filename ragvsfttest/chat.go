package ragvsfttest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ragvsft/ragvsft"
)

// maxChoices is the largest n OpenAI's API accepts.
const maxChoices = 128

// reasoningBlock is the granularity of a reasoning model's simulated
// reasoning, in tokens: OpenAI's reasoning_tokens come in such blocks.
const reasoningBlock = 64

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Temperature         *float64        `json:"temperature"`
	Seed                *int64          `json:"seed"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	N                   *int            `json:"n"`
	ResponseFormat      *responseFormat `json:"response_format"`
	Stream              bool            `json:"stream"`
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
	if !ragvsft.IsFineTunedID(id) {
		return s.base, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[id]
	return m, ok
}

// reasoningTokens is how long a reasoning model thinks before it answers:
// one token per estimated prompt token (four characters of content, plus
// four per message and three for the reply's priming, as approxTokens
// counts), rounded up to a whole block of 64, so at least 64. It depends on
// the prompt alone, so every choice and every rerun reasons alike.
func reasoningTokens(msgs []ragvsft.Message) int {
	p := 3
	for _, m := range msgs {
		p += 4 + approxTokens(m.Content)
	}
	return reasoningBlock * ((p + reasoningBlock - 1) / reasoningBlock)
}

// choice is one generated completion.
type choice struct {
	content             string
	finish              string
	completion, reasons int // completion tokens, of which reasoning
}

// chatParams are a request's checked settings.
type chatParams struct {
	req       ragvsft.ChatRequest // Seed is the first choice's
	n         int
	budget    int // max_completion_tokens (or max_tokens); 0 for none
	reasoning bool
}

// checkChat validates req as OpenAI does and answers 400 if it is wrong.
func checkChat(w http.ResponseWriter, req chatRequest, info ragvsft.ModelInfo) (chatParams, bool) {
	p := chatParams{n: 1, reasoning: info.Reasoning}
	for i, m := range req.Messages {
		text, ok := messageText(m.Content)
		if !ok {
			badRequest(w, fmt.Sprintf("messages.[%d].content", i), "invalid_type", fmt.Sprintf("Invalid 'messages[%d].content': expected a string or an array of text parts.", i))
			return p, false
		}
		p.req.Messages = append(p.req.Messages, ragvsft.Message{Role: m.Role, Content: text})
	}
	p.req.Temperature = 1 // OpenAI's default
	if t := req.Temperature; t != nil {
		switch {
		case *t < 0:
			badRequest(w, "temperature", "decimal_below_min_value", fmt.Sprintf("Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got %g instead.", *t))
			return p, false
		case *t > 2:
			badRequest(w, "temperature", "decimal_above_max_value", fmt.Sprintf("Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got %g instead.", *t))
			return p, false
		case info.Reasoning && *t != 1:
			badRequest(w, "temperature", "unsupported_value", fmt.Sprintf("Unsupported value: 'temperature' does not support %s with this model. Only the default (1) value is supported.", strconv.FormatFloat(*t, 'g', -1, 64)))
			return p, false
		}
		p.req.Temperature = *t
	}
	if req.Seed != nil {
		p.req.Seed = *req.Seed
	}
	if req.MaxTokens != nil && info.Reasoning {
		badRequest(w, "max_tokens", "unsupported_parameter", "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.")
		return p, false
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
			return p, false
		}
		p.budget = *mt.v
	}
	if req.N != nil {
		switch n := *req.N; {
		case n < 1:
			badRequest(w, "n", "integer_below_min_value", fmt.Sprintf("Invalid 'n': integer below minimum value. Expected a value >= 1, but got %d instead.", n))
			return p, false
		case n > maxChoices:
			badRequest(w, "n", "integer_above_max_value", fmt.Sprintf("Invalid 'n': integer above maximum value. Expected a value <= %d, but got %d instead.", maxChoices, n))
			return p, false
		}
		p.n = *req.N
	}
	if !checkResponseFormat(w, req.ResponseFormat) {
		return p, false
	}
	return p, true
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
	info, ok := s.servable(w, req.Model, false)
	if !ok {
		return
	}
	p, ok := checkChat(w, req, info)
	if !ok {
		return
	}
	model, ok := s.chatModel(req.Model)
	if !ok {
		modelNotFound(w, req.Model)
		return
	}
	choices := make([]choice, p.n)
	promptTokens := 0
	for i := range choices {
		c, prompt, err := s.generate(r, model, p, i)
		if err != nil {
			if r.Context().Err() != nil {
				return
			}
			serverError(w, "The model failed to answer: "+err.Error())
			return
		}
		choices[i], promptTokens = c, prompt
	}
	completion, reasons := 0, 0
	for _, c := range choices {
		completion += c.completion
		reasons += c.reasons
	}
	cached := min(s.prompts.use(req.Model, p.req.Messages), promptTokens)
	usage := map[string]any{
		"prompt_tokens": promptTokens, "completion_tokens": completion,
		"total_tokens":          promptTokens + completion,
		"prompt_tokens_details": map[string]any{"cached_tokens": cached, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{
			"reasoning_tokens": reasons, "audio_tokens": 0,
			"accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
		},
	}
	fp := fingerprint(req.Model)
	id := newID("chatcmpl-", 29)
	created := time.Now().Unix()
	s.mu.Lock()
	s.stats.ChatCompletions++
	s.mu.Unlock()
	if req.Stream {
		s.streamChat(w, id, created, req, choices, fp, usage)
		return
	}
	out := make([]any, len(choices))
	for i, c := range choices {
		out[i] = map[string]any{
			"index":         i,
			"message":       map[string]any{"role": "assistant", "content": c.content, "refusal": nil, "annotations": []any{}},
			"logprobs":      nil,
			"finish_reason": c.finish,
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":                 id,
		"object":             "chat.completion",
		"created":            created,
		"model":              req.Model,
		"choices":            out,
		"usage":              usage,
		"service_tier":       "default",
		"system_fingerprint": fp,
	})
}

// generate asks the backend for choice i and returns it with the prompt's
// token count. At a temperature above 0 choice i samples with seed+i, so
// the choices differ; at 0 they are all the most likely answer.
//
// A reasoning model first spends reasoningTokens on reasoning, counted in
// the completion tokens; what is left of the budget bounds the answer. If
// nothing is left, the choice is empty with finish_reason "length", as
// OpenAI's is when reasoning exhausts max_completion_tokens.
func (s *OpenAIServer) generate(r *http.Request, model ragvsft.Model, p chatParams, i int) (choice, int, error) {
	cr := p.req
	if cr.Temperature > 0 {
		cr.Seed += int64(i)
	}
	reasons := 0
	if p.reasoning {
		reasons = reasoningTokens(cr.Messages)
	}
	answerBudget := 0
	if p.budget > 0 {
		// The backend is asked even when reasoning leaves nothing, for its
		// count of the prompt's tokens.
		answerBudget = p.budget - reasons
		cr.MaxTokens = max(answerBudget, 1)
	}
	var resp ragvsft.ChatResponse
	var err error
	if reply, ok := s.judgeReply(r.Context(), cr.Messages); ok {
		resp.Content = reply // the judging mode (judge.go): a rule answers, not the model
	} else if reply, ok := s.paraphraseReply(r.Context(), cr.Messages); ok {
		resp.Content = reply // the paraphrasing mode (paraphrase.go)
	} else {
		resp, err = model.Chat(r.Context(), cr)
	}
	if err != nil && !errors.Is(err, ragvsft.ErrNoAnswer) {
		return choice{}, 0, err
	}
	prompt := resp.Usage.PromptTokens
	if prompt == 0 {
		prompt = 3
		for _, m := range cr.Messages {
			prompt += 4 + approxTokens(m.Content)
		}
	}
	if p.budget > 0 && answerBudget <= 0 {
		return choice{finish: "length", completion: p.budget, reasons: p.budget}, prompt, nil
	}
	answer := resp.Usage.CompletionTokens
	if answer == 0 {
		answer = approxTokens(resp.Content)
	}
	c := choice{content: resp.Content, finish: "stop", completion: reasons + answer, reasons: reasons}
	if p.budget > 0 && answer >= answerBudget {
		c.finish = "length"
	}
	return c, prompt, nil
}

// streamChat sends a completion as server-sent events, in the chunks OpenAI
// sends: for each choice its role, its content and its finish reason; then
// the usage if asked, then [DONE].
func (s *OpenAIServer) streamChat(w http.ResponseWriter, id string, created int64, req chatRequest, choices []choice, fp string, usage map[string]any) {
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
	delta := func(i int, delta map[string]any, finish any) []any {
		return []any{map[string]any{"index": i, "delta": delta, "logprobs": nil, "finish_reason": finish}}
	}
	for i, c := range choices {
		chunk(delta(i, map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil), nil)
		for _, piece := range strings.SplitAfter(c.content, " ") {
			if piece != "" {
				chunk(delta(i, map[string]any{"content": piece}, nil), nil)
			}
		}
		chunk(delta(i, map[string]any{}, c.finish), nil)
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		chunk([]any{}, usage)
	}
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
