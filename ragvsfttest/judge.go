package ragvsfttest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ragvsft/ragvsft"
)

// The judging mode: a server standing in for a judge model must judge
// deterministically, or a test of ragvsft.JudgeEvaluator over the wire
// could only check that some reply came back. A chat request whose first
// message holds ragvsft.JudgeMarker (the judge's default system message
// does) and whose last user message holds the three sections of
// ragvsft.DefaultJudgePrompts.User (<question>, <gold>, <answer>, and
// <also_accepted> when present) is
// answered, for any chat model, not by the model but by a rule:
//
//   - the answer is scored by ragvsft.AutoEvaluator against the gold and
//     the accepted forms of the <also_accepted> section, if any;
//     a correct score is "correct", its reason naming the value;
//   - else an answer that declines ("I don't know", "I do not know", "not
//     sure", "cannot answer", "can't answer", "no information", in any
//     case) is "abstained";
//   - else "incorrect", with AutoEvaluator's reason (or why the gold
//     could not be read).
//
// The reply is the JSON {"verdict": ..., "reason": ...}, which conforms to
// ragvsft.JudgeSchema whether or not response_format asked for it, unless
// ServerConfig.JudgeReply rewrites it. Usage is estimated as for any reply.

// judgeSections reads the <question>, <gold>, optional <also_accepted>
// and <answer> sections of the judge's user message, in that order; the
// answer runs to the last </answer>, so an answer that writes the tag
// itself is still read whole. The accepted forms are one per line, "none"
// for none; a prompt of its own without the section has none.
func judgeSections(user string) (question, gold string, aliases []string, answer string, ok bool) {
	rest := user
	section := func(tag string, last bool) (string, bool) {
		open, end := "<"+tag+">", "</"+tag+">"
		start := strings.Index(rest, open)
		if start < 0 {
			return "", false
		}
		body := rest[start+len(open):]
		stop := strings.Index(body, end)
		if last {
			stop = strings.LastIndex(body, end)
		}
		if stop < 0 {
			return "", false
		}
		rest = body[stop+len(end):]
		return strings.TrimSuffix(strings.TrimPrefix(body[:stop], "\n"), "\n"), true
	}
	if question, ok = section("question", false); !ok {
		return "", "", nil, "", false
	}
	if gold, ok = section("gold", false); !ok {
		return "", "", nil, "", false
	}
	if a := strings.Index(rest, "<answer>"); strings.Contains(rest[:max(a, 0)], "<also_accepted>") {
		list, _ := section("also_accepted", false)
		for _, line := range strings.Split(list, "\n") {
			if line = strings.TrimSpace(line); line != "" && line != "none" {
				aliases = append(aliases, line)
			}
		}
	}
	if answer, ok = section("answer", true); !ok {
		return "", "", nil, "", false
	}
	return question, gold, aliases, answer, true
}

// declines are the phrases of an answer that abstains.
var declines = []string{"i don't know", "i do not know", "not sure", "cannot answer", "can't answer", "no information"}

// judgeReply returns the judging mode's reply to msgs, and whether msgs
// are a judging request at all.
func (s *OpenAIServer) judgeReply(ctx context.Context, msgs []ragvsft.Message) (string, bool) {
	if len(msgs) == 0 || !strings.Contains(msgs[0].Content, ragvsft.JudgeMarker) {
		return "", false
	}
	var user string
	for _, m := range msgs {
		if m.Role == ragvsft.RoleUser {
			user = m.Content
		}
	}
	question, gold, aliases, answer, ok := judgeSections(user)
	if !ok {
		return "", false
	}
	verdict, reason := judge(ctx, ragvsft.Question{ID: "judged", Text: question, Gold: gold, Aliases: aliases}, answer)
	s.mu.Lock()
	s.stats.Judgements++
	s.mu.Unlock()
	if s.cfg.JudgeReply != nil {
		return s.cfg.JudgeReply(verdict, reason), true
	}
	b, _ := json.Marshal(struct {
		Verdict string `json:"verdict"`
		Reason  string `json:"reason"`
	}{verdict, reason})
	return string(b), true
}

// judge is the judging mode's rule.
func judge(ctx context.Context, q ragvsft.Question, answer string) (verdict, reason string) {
	ev := ragvsft.AutoEvaluator{}
	if err := ev.CheckGold(q); err != nil {
		return ragvsft.JudgeIncorrect, "the gold answer cannot be read: " + err.Error()
	}
	v, err := ev.Evaluate(ctx, q, answer)
	switch {
	case err != nil:
		return ragvsft.JudgeIncorrect, "the answer cannot be scored: " + err.Error()
	case v.Correct:
		return ragvsft.JudgeCorrect, fmt.Sprintf("the answer states %s %s, as the gold answer does", v.Type, v.Expected)
	}
	low := strings.ToLower(strings.ReplaceAll(answer, "’", "'"))
	for _, d := range declines {
		if strings.Contains(low, d) {
			return ragvsft.JudgeAbstained, fmt.Sprintf("the answer declines to answer (%q)", d)
		}
	}
	return ragvsft.JudgeIncorrect, v.Reason
}

// responseFormat is a chat request's response_format.
type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
		Strict *bool           `json:"strict"`
	} `json:"json_schema"`
}

// namePattern is what OpenAI accepts as a json_schema name.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// checkResponseFormat answers 400 as OpenAI does for a response_format it
// would refuse, and reports whether f is acceptable (nil is).
func checkResponseFormat(w http.ResponseWriter, f *responseFormat) bool {
	if f == nil {
		return true
	}
	switch f.Type {
	case "text", "json_object":
		return true
	case "json_schema":
	default:
		badRequest(w, "response_format.type", "invalid_value",
			fmt.Sprintf("Invalid value: '%s'. Supported values are: 'text', 'json_object', and 'json_schema'.", f.Type))
		return false
	}
	js := f.JSONSchema
	switch {
	case js == nil:
		badRequest(w, "response_format.json_schema", "missing_required_parameter", "Missing required parameter: 'response_format.json_schema'.")
		return false
	case js.Name == "":
		badRequest(w, "response_format.json_schema.name", "missing_required_parameter", "Missing required parameter: 'response_format.json_schema.name'.")
		return false
	case !namePattern.MatchString(js.Name):
		badRequest(w, "response_format.json_schema.name", "invalid_value",
			fmt.Sprintf("Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$', but got '%s' instead.", js.Name))
		return false
	}
	if len(js.Schema) > 0 {
		var schema map[string]any
		if json.Unmarshal(js.Schema, &schema) != nil {
			badRequest(w, "response_format.json_schema.schema", "invalid_type", "Invalid type for 'response_format.json_schema.schema': expected an object.")
			return false
		}
	}
	return true
}
