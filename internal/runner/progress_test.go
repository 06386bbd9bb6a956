package runner

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

func TestProgress(t *testing.T) {
	// $ per 1M tokens; a fine-tune of the model costs more.
	catalog := ragvsft.Catalog{"gpt-4.1-mini": {Price: ragvsft.Price{Input: 1, Output: 2}, FineTunedPrice: ragvsft.Price{Input: 10, Output: 20}}}
	results := func(n int) []ragvsft.Result {
		rs := make([]ragvsft.Result, n)
		for i := range rs {
			rs[i] = ragvsft.Result{Model: "gpt-4.1-mini-2025-04-14", Usage: ragvsft.Usage{PromptTokens: 100_000, CompletionTokens: 50_000}, Latency: time.Millisecond}
		}
		rs[3].Error, rs[3].Usage = "boom", ragvsft.Usage{}
		return rs
	}

	t.Run("log lines when not a terminal", func(t *testing.T) {
		var b bytes.Buffer
		p := newProgress(&b, false, 20, 5, true, catalog, func() int64 { return 7 })
		for _, r := range results(20) {
			p.add(r)
		}
		p.finish()
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		require.Len(t, lines, 1+9+1, "resuming, every tenth but the last, the end:\n%s", b.String())
		assert.Contains(t, lines[0], "msg=resuming from_checkpoint=5 to_ask=20")
		assert.Contains(t, lines[1], "msg=progress done=2 of=20 errors=0 tokens=300000 cost=$0.4000 from_cache=7")
		assert.Contains(t, lines[1], "eta=")
		// 19 answers of 100k prompt ($0.10) and 50k completion ($0.10) tokens.
		assert.Contains(t, lines[10], "msg=asked done=20 of=20 errors=1 tokens=2850000 cost=$3.8000 from_cache=7")
		assert.NotContains(t, lines[10], "eta=")
	})

	t.Run("bar on a terminal", func(t *testing.T) {
		var b bytes.Buffer
		p := newProgress(&b, true, 4, 0, false, nil, nil)
		rs := results(4)
		p.add(rs[0])
		time.Sleep(150 * time.Millisecond) // the bar redraws at most every 100ms
		p.add(rs[1])
		assert.Contains(t, b.String(), "(2/4)")
		assert.Contains(t, b.String(), "errors 0 · 150000 tokens · local, $0")
		p.add(rs[2])
		p.add(rs[3])
		p.finish()
		cleared, summary, ok := strings.Cut(b.String(), "\rasked 4 items in ")
		require.True(t, ok, "the bar is cleared, then a summary line stays: %q", b.String())
		assert.True(t, strings.HasSuffix(cleared, "  "), "cleared with spaces: %q", cleared)
		assert.Regexp(t, `^\d+ms: errors 1 · 450000 tokens · local, \$0\n$`, summary)
	})

	t.Run("fine-tuned answers at fine-tuned prices", func(t *testing.T) {
		var b bytes.Buffer
		p := newProgress(&b, false, 2, 0, true, catalog, nil)
		rs := results(4)[:2]
		rs[1].Model = "ft:gpt-4.1-mini-2025-04-14:acme:cities:abc"
		p.add(rs[0])
		p.add(rs[1])
		p.finish()
		// $0.10 + $0.10 at the base prices, $1.00 + $1.00 at the fine-tune's.
		assert.Contains(t, b.String(), "msg=asked done=2 of=2 errors=0 tokens=300000 cost=$2.2000")
	})

	t.Run("nothing to ask", func(t *testing.T) {
		var b bytes.Buffer
		p := newProgress(&b, false, 0, 80, false, nil, nil)
		p.finish()
		assert.Contains(t, b.String(), "msg=asked done=0 of=0 errors=0 tokens=0")
	})
}

// A phase says each tenth of its work once, and its end.
func TestPhase(t *testing.T) {
	var b strings.Builder
	p := newPhase(&b, "indexing", "documents")
	for i := 1; i <= 35; i++ {
		p.step(i, 35)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 12, b.String()) // 3, 6, ... 33, then the end
	assert.True(t, strings.HasPrefix(lines[0], "indexing: 3 of 35 documents ("), lines[0])
	assert.True(t, strings.HasPrefix(lines[11], "indexing: 35 of 35 documents ("), lines[11])
}
