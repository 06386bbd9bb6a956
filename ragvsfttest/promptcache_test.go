package ragvsfttest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/ragvsft/ragvsft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// passages returns n distinct sentences, 38 bytes each.
func passages(from, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "City_%05d has about %08d people.\n", from+i, 1000+from+i)
	}
	return b.String()
}

func TestPromptCache(t *testing.T) {
	user := func(s string) []ragvsft.Message { return []ragvsft.Message{{Role: "user", Content: s}} }
	long := passages(0, 200) // 7600 bytes, 7606 with the role and separators
	require.Len(t, long, 7600)
	tests := []struct {
		name  string
		model string
		msgs  []ragvsft.Message
		want  int
	}{
		{"first time: nothing cached", "m", user(long), 0},
		{"again: every whole step", "m", user(long), 1024 + 128*6},
		{"another model caches apart", "n", user(long), 0},
		{"same beginning, other end", "m", user(long[:4700] + passages(1000, 100)), 1024 + 128},
		{"different from the first byte", "m", user("x" + long), 0},
		{"a short prompt is never cached", "m", user(long[:4000]), 0},
		{"nor the second time", "m", user(long[:4000]), 0},
		{"a system message changes the prefix", "m", append([]ragvsft.Message{{Role: "system", Content: "Be brief."}}, user(long)...), 0},
	}
	var c promptCache
	for _, tt := range tests {
		assert.Equal(t, tt.want, c.use(tt.model, tt.msgs), tt.name)
	}
}

// The library reads cached_tokens: a second, identical long prompt is
// served partly from the server's prompt cache.
func TestChatReportsCachedPromptTokens(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday})
	c := newClient(s)
	params := openai.ChatCompletionNewParams{
		Model:       ragvsft.DefaultBaseModel,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage(passages(0, 200) + "\nWhat is the population of City_00007?")},
		Temperature: openai.Float(0),
	}
	first, err := c.Chat.Completions.New(context.Background(), params)
	require.NoError(t, err)
	assert.Zero(t, first.Usage.PromptTokensDetails.CachedTokens)
	second, err := c.Chat.Completions.New(context.Background(), params)
	require.NoError(t, err)
	cached := second.Usage.PromptTokensDetails.CachedTokens
	assert.GreaterOrEqual(t, cached, int64(cacheMinTokens))
	assert.Zero(t, (cached-cacheMinTokens)%cacheStep)
	assert.LessOrEqual(t, cached, second.Usage.PromptTokens)
	assert.Equal(t, first.Choices[0].Message.Content, second.Choices[0].Message.Content)
}
