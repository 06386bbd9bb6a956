package ragvsfttest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// judgeBody is a chat request for the judging mode, as
// ragvsft.JudgeEvaluator sends it, with extra top-level keys.
func judgeBody(t *testing.T, system, question, gold, answer, extra string) string {
	t.Helper()
	user := strings.NewReplacer("{question}", question, "{gold}", gold, "{aliases}", "none", "{answer}", answer).Replace(ragvsft.DefaultJudgePrompts.User)
	msgs, err := json.Marshal([]map[string]string{{"role": "system", "content": system}, {"role": "user", "content": user}})
	require.NoError(t, err)
	return fmt.Sprintf(`{"model": %q, "messages": %s, "temperature": 0%s}`, ragvsft.DefaultBaseModel, msgs, extra)
}

const judgeFormat = `, "response_format": {"type": "json_schema", "json_schema": {"name": "judge_verdict", "strict": true, "schema": ` + ragvsft.JudgeSchema + `}}`

// content is the first choice's message content of a completion.
func content(t *testing.T, body string) string {
	t.Helper()
	var resp struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp), body)
	require.NotEmpty(t, resp.Choices, body)
	return resp.Choices[0].Message.Content
}

func TestJudgingMode(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday})
	sys := ragvsft.DefaultJudgePrompts.System
	q, gold := "How many people live in City_7?", "City_7 has 1,967,825 inhabitants."
	tests := []struct {
		name, system, answer, extra string
		verdict, reason             string // "" verdict: the model answers, not the rule
	}{
		{"correct", sys, "About 1967825 people.", judgeFormat, "correct", "number 1967825"},
		{"incorrect", sys, "City_7 has 2,000,000 inhabitants.", judgeFormat, "incorrect", "got 2000000, want 1967825"},
		{"abstained", sys, "I do not know.", judgeFormat, "abstained", "declines"},
		{"abstained, curly apostrophe", sys, "I don’t know.", "", "abstained", "declines"},
		{"a number beats a hedge", sys, "Not sure, but 1,967,825.", "", "correct", "1967825"},
		{"the answer writes the closing tag", sys, "1967825 </answer> or so", "", "correct", "1967825"},
		{"no marker: the model answers", "You grade answers.", "1967825", judgeFormat, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postRaw(t, s, "/chat/completions", judgeBody(t, tt.system, q, gold, tt.answer, tt.extra))
			require.Equal(t, http.StatusOK, status, body)
			reply := content(t, body)
			if tt.verdict == "" {
				assert.False(t, json.Valid([]byte(reply)), "the local model writes no JSON: %s", reply)
				return
			}
			dec := json.NewDecoder(strings.NewReader(reply))
			dec.DisallowUnknownFields()
			var v struct{ Verdict, Reason string }
			require.NoError(t, dec.Decode(&v), "the reply conforms to ragvsft.JudgeSchema: %s", reply)
			assert.Equal(t, tt.verdict, v.Verdict)
			assert.Contains(t, v.Reason, tt.reason)
			assert.Contains(t, body, `"completion_tokens"`)
		})
	}
	before := s.Stats().Judgements
	for range 2 {
		_, body := postRaw(t, s, "/chat/completions", judgeBody(t, sys, q, gold, "1967825", ""))
		assert.Equal(t, `{"verdict":"correct","reason":"the answer states number 1967825, as the gold answer does"}`, content(t, body), "deterministic")
	}
	assert.Equal(t, before+2, s.Stats().Judgements)

	t.Run("a prompt without the sections is the model's", func(t *testing.T) {
		msgs := `[{"role": "system", "content": ` + fmt.Sprintf("%q", sys) + `}, {"role": "user", "content": "City_7 has 12 inhabitants. How many live in City_7?"}]`
		status, body := postRaw(t, s, "/chat/completions", `{"model": "`+ragvsft.DefaultBaseModel+`", "messages": `+msgs+`}`)
		require.Equal(t, http.StatusOK, status, body)
		assert.NotContains(t, content(t, body), "verdict")
	})
	t.Run("an unreadable gold is incorrect, saying why", func(t *testing.T) {
		verdict, reason := judge(context.Background(), ragvsft.Question{ID: "q", Text: "Where?", Gold: "..."}, "Paris")
		assert.Equal(t, ragvsft.JudgeIncorrect, verdict)
		assert.Contains(t, reason, "the gold answer cannot be read")
	})
}

func TestJudgeReplyRewritesTheVerdict(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday, JudgeReply: func(verdict, reason string) string {
		return "I think it is " + verdict + " because " + reason
	}})
	_, body := postRaw(t, s, "/chat/completions", judgeBody(t, ragvsft.DefaultJudgePrompts.System, "Q?", "It has 12.", "12", judgeFormat))
	assert.Equal(t, "I think it is correct because the answer states number 12, as the gold answer does", content(t, body))
}

func TestResponseFormatRefused(t *testing.T) {
	s := newServer(t, ServerConfig{Now: onToday})
	tests := []struct {
		name, format, param, code, message string
	}{
		{"unknown type", `{"type": "xml"}`, "response_format.type", "invalid_value",
			"Invalid value: 'xml'. Supported values are: 'text', 'json_object', and 'json_schema'."},
		{"no json_schema", `{"type": "json_schema"}`, "response_format.json_schema", "missing_required_parameter",
			"Missing required parameter: 'response_format.json_schema'."},
		{"no name", `{"type": "json_schema", "json_schema": {"schema": {}}}`, "response_format.json_schema.name", "missing_required_parameter", ""},
		{"bad name", `{"type": "json_schema", "json_schema": {"name": "judge verdict"}}`, "response_format.json_schema.name", "invalid_value", ""},
		{"schema not an object", `{"type": "json_schema", "json_schema": {"name": "v", "schema": [1]}}`, "response_format.json_schema.schema", "invalid_type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postRaw(t, s, "/chat/completions", `{"model": "`+ragvsft.DefaultBaseModel+`", "messages": [{"role": "user", "content": "hi"}], "response_format": `+tt.format+`}`)
			require.Equal(t, http.StatusBadRequest, status, body)
			var e struct{ Error apiError }
			require.NoError(t, json.Unmarshal([]byte(body), &e))
			require.NotNil(t, e.Error.Param)
			require.NotNil(t, e.Error.Code)
			assert.Equal(t, tt.param, *e.Error.Param)
			assert.Equal(t, tt.code, *e.Error.Code)
			if tt.message != "" {
				assert.Equal(t, tt.message, e.Error.Message)
			}
		})
	}
	for _, ok := range []string{`{"type": "text"}`, `{"type": "json_object"}`, `{"type": "json_schema", "json_schema": {"name": "v_1-x"}}`} {
		status, body := postRaw(t, s, "/chat/completions", `{"model": "`+ragvsft.DefaultBaseModel+`", "messages": [{"role": "user", "content": "hi"}], "response_format": `+ok+`}`)
		assert.Equal(t, http.StatusOK, status, "%s: %s", ok, body)
	}
}
