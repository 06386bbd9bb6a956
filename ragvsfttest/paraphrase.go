package ragvsfttest

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/ragvsft/ragvsft"
)

// The paraphrasing mode: a server standing in for the model behind a
// ragvsft.ModelParaphraser must reword deterministically, or a run through
// it could only check that some reply came back. A chat request whose first
// message holds ragvsft.ParaphraseMarker (the paraphraser's default system
// message does) and whose last user message has the <question> section and
// a <count> of ragvsft.DefaultParaphrasePrompts.User is answered, for any
// chat model, by ragvsft.RuleParaphraser: the JSON {"paraphrases": [...]}
// of ragvsft.ParaphraseSchema, at most count rewordings, unless
// ServerConfig.ParaphraseReply rewrites it.

// paraphraseReply returns the paraphrasing mode's reply to msgs, and
// whether msgs are a paraphrasing request at all.
func (s *OpenAIServer) paraphraseReply(ctx context.Context, msgs []ragvsft.Message) (string, bool) {
	if len(msgs) == 0 || !strings.Contains(msgs[0].Content, ragvsft.ParaphraseMarker) {
		return "", false
	}
	var user string
	for _, m := range msgs {
		if m.Role == ragvsft.RoleUser {
			user = m.Content
		}
	}
	question, ok := section(user, "question")
	if !ok {
		return "", false
	}
	count, ok := section(user, "count")
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if !ok || err != nil || n < 1 {
		return "", false
	}
	p, _ := ragvsft.RuleParaphraser{}.Paraphrase(ctx, ragvsft.ParaphraseRequest{Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: question}}, N: n})
	s.mu.Lock()
	s.stats.Paraphrasings++
	s.mu.Unlock()
	texts := p.Texts
	if texts == nil {
		texts = []string{}
	}
	if s.cfg.ParaphraseReply != nil {
		return s.cfg.ParaphraseReply(texts), true
	}
	b, _ := json.Marshal(struct {
		Paraphrases []string `json:"paraphrases"`
	}{texts})
	return string(b), true
}

// section is the text between <tag> and the first </tag> after it, one
// newline trimmed at each end.
func section(s, tag string) (string, bool) {
	open, end := "<"+tag+">", "</"+tag+">"
	start := strings.Index(s, open)
	if start < 0 {
		return "", false
	}
	body := s[start+len(open):]
	stop := strings.Index(body, end)
	if stop < 0 {
		return "", false
	}
	return strings.TrimSuffix(strings.TrimPrefix(body[:stop], "\n"), "\n"), true
}
