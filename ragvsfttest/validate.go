package ragvsfttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ragvsft/ragvsft"
)

// minExamples is OpenAI's minimum number of training examples.
const minExamples = 10

// examples is a Dataset read from an uploaded file.
type examples []ragvsft.Example

// Examples returns the examples.
func (e examples) Examples() []ragvsft.Example { return e }

var validRoles = []string{ragvsft.RoleSystem, ragvsft.RoleDeveloper, ragvsft.RoleUser, ragvsft.RoleAssistant, ragvsft.RoleTool, ragvsft.RoleFunction}

// validateTrainingFile checks an uploaded chat fine-tuning file with
// OpenAI's rules and returns its examples, or the error a job fails with.
func validateTrainingFile(content []byte, param string) (examples, *JobError) {
	bad := func(line int, format string, args ...any) *JobError {
		return &JobError{
			Code:    "invalid_training_file",
			Param:   param,
			Message: fmt.Sprintf("The job failed due to an invalid %s. Invalid file format. Line %d, %s", strings.ReplaceAll(param, "_", " "), line, fmt.Sprintf(format, args...)),
		}
	}
	if !utf8.Valid(content) {
		return nil, &JobError{Code: "invalid_training_file", Param: param, Message: "The job failed due to an invalid " + strings.ReplaceAll(param, "_", " ") + ". The file is not valid UTF-8."}
	}
	var out examples
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(make([]byte, 0, 64<<10), len(content)+1)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var raw struct {
			ID       *json.RawMessage              `json:"id"`
			Messages *[]map[string]json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(text, &raw); err != nil {
			return nil, bad(line, "the line is not a JSON object: %v.", err)
		}
		if raw.Messages == nil {
			return nil, bad(line, `key "messages": missing.`)
		}
		ex := ragvsft.Example{ID: fmt.Sprintf("line %d", line), Line: line}
		if raw.ID != nil {
			var id string
			if json.Unmarshal(*raw.ID, &id) == nil && id != "" {
				ex.ID = id
			}
		}
		hasAssistant := false
		for i, m := range *raw.Messages {
			var role string
			if err := json.Unmarshal(m["role"], &role); err != nil || !slices.Contains(validRoles, role) {
				return nil, bad(line, `key "messages", index %d: invalid or missing "role" %s.`, i, strings.TrimSpace(string(m["role"])))
			}
			for k := range m {
				switch k {
				case "role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call":
				default:
					return nil, bad(line, `key "messages", index %d: unrecognized key %q.`, i, k)
				}
			}
			content, ok := messageText(m["content"])
			if !ok {
				if role == ragvsft.RoleAssistant && (m["tool_calls"] != nil || m["function_call"] != nil) {
					content = ""
				} else {
					return nil, bad(line, `key "messages", index %d: "content" must be a string or a list of text parts.`, i)
				}
			}
			if role == ragvsft.RoleAssistant {
				hasAssistant = true
			}
			ex.Messages = append(ex.Messages, ragvsft.Message{Role: role, Content: content})
		}
		if !hasAssistant {
			return nil, bad(line, `key "messages": at least one message must be from the assistant.`)
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		return nil, bad(line+1, "could not read the line: %v.", err)
	}
	if len(out) < minExamples {
		return nil, &JobError{
			Code:    "invalid_n_examples",
			Param:   param,
			Message: fmt.Sprintf("Training file has %d example(s), but must have at least %d examples", len(out), minExamples),
		}
	}
	return out, nil
}

// messageText reads a message content that is a string or a list of text
// parts, as OpenAI accepts both.
func messageText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return "", false
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", false
		}
		b.WriteString(p.Text)
	}
	return b.String(), true
}

// approxTokens estimates a text's token count as OpenAI's tokenizers do on
// English prose: about four characters per token.
func approxTokens(s string) int {
	if s == "" {
		return 0
	}
	return max(1, (utf8.RuneCountInString(s)+3)/4)
}

// approxTokensDataset estimates one epoch's tokens, with the few tokens
// each message costs in the chat format.
func approxTokensDataset(d ragvsft.Dataset) int {
	n := 0
	for _, ex := range d.Examples() {
		for _, m := range ex.Messages {
			n += 4 + approxTokens(m.Content)
		}
		n += 3
	}
	return n
}
