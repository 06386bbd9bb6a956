package ragvsft

import (
	"fmt"
	"strings"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// Token encodings of OpenAI's chat models.
const (
	encodingCL100k = "cl100k_base" // gpt-3.5-turbo, gpt-4, babbage-002, davinci-002
	encodingO200k  = "o200k_base"  // gpt-4o, gpt-4.1, o-series, gpt-5
)

// Per-message overhead of the chat format, as OpenAI's cookbook counts it
// ("How to count tokens with tiktoken", num_tokens_from_messages) for every
// chat model since gpt-3.5-turbo-0613.
const (
	tokensPerMessage = 3 // <|start|>{role}\n ... <|end|>
	tokensPerName    = 1
	tokensPerReply   = 3 // every reply is primed with <|start|>assistant<|message|>
)

// encodingFor returns the token encoding of a chat model: o200k_base for
// gpt-4o*, gpt-4.1*, chatgpt-4o*, gpt-5* and the o-series, cl100k_base for
// everything else (gpt-3.5-turbo*, gpt-4*, babbage-002, davinci-002, and
// models it does not know). A fine-tuned id ("ft:gpt-4o-mini-...:org::id")
// uses its base model's encoding.
func encodingFor(model string) string {
	m := strings.ToLower(strings.TrimPrefix(model, "ft:"))
	for _, p := range []string{"gpt-4o", "gpt-4.1", "chatgpt-4o", "gpt-5", "o1", "o3", "o4"} {
		if m == p || strings.HasPrefix(m, p+"-") || (p == "gpt-4o" && strings.HasPrefix(m, p)) {
			return encodingO200k
		}
	}
	return encodingCL100k
}

// codecs caches the tokenizers: building one parses a large vocabulary.
var codecs sync.Map // encoding name -> func() (tokenizer.Codec, error)

func codecFor(encoding string) (tokenizer.Codec, error) {
	f, _ := codecs.LoadOrStore(encoding, sync.OnceValues(func() (tokenizer.Codec, error) {
		return tokenizer.Get(tokenizer.Encoding(encoding))
	}))
	c, err := f.(func() (tokenizer.Codec, error))()
	if err != nil {
		return nil, fmt.Errorf("ragvsft: token encoding %q: %w", encoding, err)
	}
	return c, nil
}

// CountTokens returns the number of tokens of text in the given model's
// encoding (o200k_base for gpt-4o, gpt-4.1, gpt-5 and the o-series,
// cl100k_base for the others). It works offline. It is safe for concurrent
// use.
func CountTokens(model, text string) (int, error) {
	c, err := codecFor(encodingFor(model))
	if err != nil {
		return 0, err
	}
	n, err := c.Count(text)
	if err != nil {
		return 0, fmt.Errorf("ragvsft: counting tokens: %w", err)
	}
	return n, nil
}

// CountMessageTokens returns the tokens a conversation takes in the given
// model's encoding, counted as OpenAI's cookbook counts them: 3 tokens per
// message plus its role, name and content, plus 1 per name, plus 3 tokens
// that prime the reply. For
// a training example it is the number of tokens a fine-tuning job bills per
// epoch. It is safe for concurrent use.
func CountMessageTokens(model string, msgs []Message) (int, error) {
	turns := make([]tokenTurn, len(msgs))
	for i, m := range msgs {
		turns[i] = tokenTurn{role: m.Role, name: m.Name, content: m.Content}
	}
	return countTurns(encodingFor(model), turns)
}

// tokenTurn is a message with the optional name the cookbook also counts.
type tokenTurn struct{ role, name, content string }

func countTurns(encoding string, turns []tokenTurn) (int, error) {
	c, err := codecFor(encoding)
	if err != nil {
		return 0, err
	}
	n := tokensPerReply
	for i, t := range turns {
		n += tokensPerMessage
		for _, s := range []string{t.role, t.content, t.name} {
			k, err := c.Count(s)
			if err != nil {
				return 0, fmt.Errorf("ragvsft: counting tokens of message %d: %w", i+1, err)
			}
			n += k
		}
		if t.name != "" {
			n += tokensPerName
		}
	}
	return n, nil
}
