package ragvsft

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openai/openai-go/v3/option"
)

// defaultPause is how long a 429 without Retry-After pauses every request
// to its model: openai-go's first backoff, so the worker that got it is not
// held up beyond its own retry.
const defaultPause = 500 * time.Millisecond

// maxPause bounds a pause, as openai-go bounds the Retry-After it honours:
// a longer one is not retried, so holding every request back for it would
// only stall the run.
const maxPause = 2 * time.Minute

// limiterFor returns the RateLimiter of model in c.RateLimits: the model's
// own, else its base model's for a fine-tune ("ft:BASE:..."), else the ""
// entry's, else nil.
func (c OpenAIConfig) limiterFor(model string) *RateLimiter {
	if r, ok := c.RateLimits[model]; ok {
		return r
	}
	if rest, ok := strings.CutPrefix(model, "ft:"); ok {
		base, _, _ := strings.Cut(rest, ":")
		if r, ok := c.RateLimits[base]; ok {
			return r
		}
	}
	return c.RateLimits[""]
}

// rateLimitMiddleware gates every attempt of a chat completion or embeddings
// request, openai-go's retries included, at its model's RateLimiter, and
// turns a 429 into a pause of that model's requests as long as Retry-After
// says (defaultPause without one).
func (c OpenAIConfig) rateLimitMiddleware() option.Middleware {
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		if req.Method != http.MethodPost || !(strings.HasSuffix(req.URL.Path, "/chat/completions") || strings.HasSuffix(req.URL.Path, "/embeddings")) {
			return next(req)
		}
		body := peekBody(req)
		r := c.limiterFor(body.Model)
		if r == nil {
			return next(req)
		}
		tokens := 0
		if r.Limits().TokensPerMinute > 0 {
			tokens = body.tokens()
		}
		if err := r.Wait(req.Context(), tokens); err != nil {
			return nil, err
		}
		res, err := next(req)
		if res != nil && res.StatusCode == http.StatusTooManyRequests {
			d, ok := headerRetryAfter(res.Header)
			if !ok {
				d = defaultPause
			}
			r.PauseUntil(time.Now().Add(min(d, maxPause)))
		}
		return res, err
	}
}

// requestBody is what the middleware reads of a request: enough to find the
// model and estimate the tokens.
type requestBody struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Name    string          `json:"name"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Input               json.RawMessage `json:"input"`
}

// peekBody decodes a copy of req's JSON body; a body it cannot read gives
// the zero requestBody.
func peekBody(req *http.Request) requestBody {
	var b requestBody
	if req.GetBody == nil {
		return b
	}
	rc, err := req.GetBody()
	if err != nil {
		return b
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return requestBody{}
	}
	if json.Unmarshal(data, &b) != nil {
		return requestBody{}
	}
	return b
}

// tokens estimates what the request is charged against a token limit.
func (b requestBody) tokens() int {
	if len(b.Messages) > 0 {
		msgs := make([]Message, len(b.Messages))
		for i, m := range b.Messages {
			msgs[i] = Message{Role: m.Role, Name: m.Name, Content: rawText(m.Content)}
		}
		return estimateChatTokens(b.Model, msgs, max(b.MaxTokens, b.MaxCompletionTokens))
	}
	if len(b.Input) == 0 {
		return 0
	}
	var one string
	var many []string
	switch {
	case json.Unmarshal(b.Input, &one) == nil:
		many = []string{one}
	case json.Unmarshal(b.Input, &many) == nil:
	default:
		// Token arrays: each number is a token.
		return max(bytes.Count(b.Input, []byte(","))+1, 1)
	}
	n := 0
	for _, s := range many {
		k, err := CountTokens(b.Model, s)
		if err != nil {
			k = len(s) / 4
		}
		n += k
	}
	return n
}

// rawText returns a message's content as text: the string itself, or the
// text parts of an array of content parts, or the raw JSON.
func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return string(raw)
}

// headerRetryAfter reads Retry-After-Ms, else Retry-After (seconds or an
// HTTP date), as openai-go does.
func headerRetryAfter(h http.Header) (time.Duration, bool) {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(min(ms, float64(maxPause/time.Millisecond)) * float64(time.Millisecond)), true
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(min(s, float64(maxPause/time.Second)) * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), 0), true
		}
	}
	return 0, false
}
