package ragvsft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodingFor(t *testing.T) {
	for model, want := range map[string]string{
		"gpt-3.5-turbo":                            encodingCL100k,
		"gpt-3.5-turbo-0125":                       encodingCL100k,
		"gpt-4-0613":                               encodingCL100k,
		"davinci-002":                              encodingCL100k,
		"text-embedding-3-small":                   encodingCL100k,
		"some-local-model":                         encodingCL100k,
		"gpt-4o":                                   encodingO200k,
		"gpt-4o-mini-2024-07-18":                   encodingO200k,
		"gpt-4.1-nano-2025-04-14":                  encodingO200k,
		"o3-mini":                                  encodingO200k,
		"ft:gpt-4o-mini-2024-07-18:acme::abc123":   encodingO200k,
		"ft:gpt-3.5-turbo-0125:acme:cities:abc123": encodingCL100k,
	} {
		t.Run(model, func(t *testing.T) {
			assert.Equal(t, want, encodingFor(model))
		})
	}
}

func TestCountTokens(t *testing.T) {
	for _, tc := range []struct {
		model, text string
		want        int
	}{
		// tiktoken: cl100k_base encodes "China is great!" as [23078, 374, 2294, 0].
		{"gpt-3.5-turbo", "China is great!", 4},
		{"gpt-3.5-turbo", "", 0},
		{"gpt-4o", "", 0},
	} {
		t.Run(tc.model+"/"+tc.text, func(t *testing.T) {
			n, err := CountTokens(tc.model, tc.text)
			require.NoError(t, err)
			assert.Equal(t, tc.want, n)
		})
	}
}

// TestCountMessageTokensOverhead checks the cookbook's accounting: 3 tokens
// per message plus its role and content, plus 3 for the reply's priming.
func TestCountMessageTokensOverhead(t *testing.T) {
	msgs := []Message{
		{Role: RoleSystem, Content: "You're a helpful assistant"},
		{Role: RoleUser, Content: "What is the population of City_1?"},
		{Role: RoleAssistant, Content: "City_1 has about 1967825 inhabitants."},
	}
	for _, model := range []string{"gpt-3.5-turbo", "gpt-4o-mini"} {
		t.Run(model, func(t *testing.T) {
			want := 3
			for _, m := range msgs {
				r, err := CountTokens(model, m.Role)
				require.NoError(t, err)
				c, err := CountTokens(model, m.Content)
				require.NoError(t, err)
				want += 3 + r + c
			}
			got, err := CountMessageTokens(model, msgs)
			require.NoError(t, err)
			assert.Equal(t, want, got)

			empty, err := CountMessageTokens(model, nil)
			require.NoError(t, err)
			assert.Equal(t, 3, empty, "an empty conversation still primes the reply")
		})
	}
	t.Run("name", func(t *testing.T) {
		plain, err := countTurns(encodingCL100k, []tokenTurn{{role: "system", content: "hi"}})
		require.NoError(t, err)
		named, err := countTurns(encodingCL100k, []tokenTurn{{role: "system", name: "example_user", content: "hi"}})
		require.NoError(t, err)
		nameTokens, err := CountTokens("gpt-4", "example_user")
		require.NoError(t, err)
		assert.Equal(t, plain+nameTokens+1, named, "a name costs its tokens plus one")
	})
}

func TestCountTokensConcurrent(t *testing.T) {
	done := make(chan int, 8)
	for range 8 {
		go func() {
			n, _ := CountTokens("gpt-4o", "The quick brown fox jumps over the lazy dog.")
			done <- n
		}()
	}
	first := <-done
	assert.Positive(t, first)
	for range 7 {
		assert.Equal(t, first, <-done)
	}
}
