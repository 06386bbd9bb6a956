package ragvsfttest

import (
	"crypto/sha256"
	"sync"

	"github.com/ragvsft/ragvsft"
)

// OpenAI's prompt caching: a prompt of 1024 tokens or more whose beginning
// an earlier request to the same model had is partly served from cache,
// reported as prompt_tokens_details.cached_tokens in steps of 128 tokens.
const (
	cacheMinTokens = 1024
	cacheStep      = 128
	// bytesPerToken is the server's estimate, as approxTokens's.
	bytesPerToken = 4
	// maxCachedPrefixes bounds the memory: past it the cache starts
	// afresh, as OpenAI's is evicted after minutes of disuse.
	maxCachedPrefixes = 1 << 16
)

// promptCache remembers the prefixes of the prompts it has seen. The zero
// value is empty and ready; it is safe for concurrent use.
type promptCache struct {
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
}

// use returns how many leading tokens of msgs, sent to model, an earlier
// request had, counted as OpenAI does (0, or 1024 plus a multiple of 128),
// and remembers msgs's prefixes for later requests. Tokens are estimated
// at four bytes of the messages' roles and contents each.
func (c *promptCache) use(model string, msgs []ragvsft.Message) int {
	var text []byte
	for _, m := range msgs {
		text = append(text, m.Role...)
		text = append(text, 0)
		text = append(text, m.Content...)
		text = append(text, 0)
	}
	first, step := cacheMinTokens*bytesPerToken, cacheStep*bytesPerToken
	if len(text) < first {
		return 0
	}
	// A chain of hashes, one per prefix of 1024, 1152, 1280... tokens:
	// prefix j's hash covers the model and every byte before its end.
	var chain [][sha256.Size]byte
	prev := sha256.Sum256(append([]byte(model+"\x00"), text[:first]...))
	chain = append(chain, prev)
	for end := first + step; end <= len(text); end += step {
		prev = sha256.Sum256(append(prev[:], text[end-step:end]...))
		chain = append(chain, prev)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen)+len(chain) > maxCachedPrefixes {
		c.seen = make(map[[sha256.Size]byte]struct{}, len(chain))
	}
	cached := 0
	for j, h := range chain {
		if _, ok := c.seen[h]; !ok {
			break
		}
		cached = cacheMinTokens + j*cacheStep
	}
	for _, h := range chain {
		c.seen[h] = struct{}{}
	}
	return cached
}
