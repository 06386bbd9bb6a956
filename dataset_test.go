package ragvsft

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jl builds a one-example line from role/content pairs.
func jl(pairs ...string) string {
	var b strings.Builder
	b.WriteString(`{"messages": [`)
	for i := 0; i < len(pairs); i += 2 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"role": %q, "content": %q}`, pairs[i], pairs[i+1])
	}
	b.WriteString("]}")
	return b.String()
}

func qaLine(q, a string) string { return jl("user", q, "assistant", a) }

func weight(w int) *int { return &w }

func TestReadJSONLValid(t *testing.T) {
	cities := []Example{
		{ID: "line 1", Line: 1, Messages: []Message{{Role: RoleSystem, Content: "You're a helpful assistant"}, {Role: RoleUser, Content: "What is the population of City_1?"}, {Role: RoleAssistant, Content: "City_1 has about 1967825 inhabitants."}}},
		{ID: "line 2", Line: 2, Messages: []Message{{Role: RoleSystem, Content: "You're a helpful assistant"}, {Role: RoleUser, Content: "What is the population of City_2?"}, {Role: RoleAssistant, Content: "City_2 has about 519610 inhabitants."}}},
		{ID: "line 3", Line: 3, Messages: []Message{{Role: RoleSystem, Content: "You're a helpful assistant"}, {Role: RoleUser, Content: "What is the population of City_3?"}, {Role: RoleAssistant, Content: "City_3 has about 4714226 inhabitants."}}},
	}
	for _, file := range []string{"cities3.jsonl", "cities3_crlf.jsonl"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata", "jsonl", file)
			ds, err := LoadJSONL(path)
			require.NoError(t, err)
			assert.Equal(t, path, ds.Name())
			assert.Equal(t, cities, ds.Examples())
			assert.Equal(t, 3, ds.Len())
		})
	}

	tests := []struct {
		name  string
		input string
		want  []Example
	}{
		{
			name:  "blank lines are skipped but counted",
			input: "\n" + qaLine("q1", "a1") + "\n   \n\t\r\n" + qaLine("q2", "a2") + "\n\n",
			want: []Example{
				{ID: "line 2", Line: 2, Messages: []Message{{Role: RoleUser, Content: "q1"}, {Role: RoleAssistant, Content: "a1"}}},
				{ID: "line 5", Line: 5, Messages: []Message{{Role: RoleUser, Content: "q2"}, {Role: RoleAssistant, Content: "a2"}}},
			},
		},
		{
			name:  "ids, byte order mark, escapes",
			input: "\xEF\xBB\xBF" + `{"id": "c1", "messages": [{"role": "user", "content": "caf\u00e9 \ud83d\ude00 \"x\"\n"}, {"role": "assistant", "content": "ok"}]}` + "\n" + `{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "id": "line 2"}`,
			want: []Example{
				{ID: "c1", Line: 1, Messages: []Message{{Role: RoleUser, Content: "café 😀 \"x\"\n"}, {Role: RoleAssistant, Content: "ok"}}},
				{ID: "line 2", Line: 2, Messages: []Message{{Role: RoleUser, Content: "q"}, {Role: RoleAssistant, Content: "a"}}},
			},
		},
		{
			name: "name, weight, content parts, tools",
			input: `{"messages": [{"role": "developer", "content": [{"type": "text", "text": "be brief"}]}, ` +
				`{"role": "user", "name": "bob", "content": [{"type": "text", "text": "part one"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}, {"type": "text", "text": "part two"}]}, ` +
				`{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}, ` +
				`{"role": "tool", "tool_call_id": "c1", "content": "42"}, ` +
				`{"role": "assistant", "content": "first", "weight": 0}, ` +
				`{"role": "assistant", "content": [{"type": "text", "text": "final"}], "weight": 1}], ` +
				`"tools": [{"type": "function", "function": {"name": "f"}}], "parallel_tool_calls": false}`,
			want: []Example{{ID: "line 1", Line: 1, Messages: []Message{
				{Role: RoleDeveloper, Content: "be brief"},
				{Role: RoleUser, Name: "bob", Content: "part one\npart two"},
				{Role: RoleAssistant},
				{Role: RoleTool, Content: "42"},
				{Role: RoleAssistant, Content: "first", Weight: weight(0)},
				{Role: RoleAssistant, Content: "final", Weight: weight(1)},
			}}},
		},
		{
			name:  "function message with null content, refusal",
			input: `{"messages": [{"role": "user", "content": "q"}, {"role": "function", "name": "f", "content": null}, {"role": "assistant", "refusal": "no"}, {"role": "assistant", "content": "a"}]}`,
			want: []Example{{ID: "line 1", Line: 1, Messages: []Message{
				{Role: RoleUser, Content: "q"}, {Role: RoleFunction, Name: "f"}, {Role: RoleAssistant}, {Role: RoleAssistant, Content: "a"},
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := ReadJSONL(strings.NewReader(tt.input), "in.jsonl")
			require.NoError(t, err)
			assert.Equal(t, tt.want, ds.Examples())
			assert.NoError(t, ValidateJSONL(strings.NewReader(tt.input), "in.jsonl"))
		})
	}
}

func TestReadJSONLBad(t *testing.T) {
	tests := []struct {
		name  string
		input string
		// want are substrings of the error, each naming its line.
		want []string
	}{
		{"not JSON", qaLine("q", "a") + "\n{\"messages\": [\n", []string{"in.jsonl: line 2: not valid JSON (column 14): unexpected end of JSON input"}},
		{"garbage", "hello", []string{"line 1: not valid JSON (column 1): invalid character 'h'"}},
		{"trailing data", qaLine("q", "a") + " {}", []string{"line 1: not valid JSON", "after top-level value"}},
		{"not an object", `["messages"]`, []string{"line 1: a line must be a JSON object, not an array"}},
		{"null line", `null`, []string{"line 1: a line must be a JSON object, not null"}},
		{"no messages", `{}`, []string{`line 1: missing "messages"`}},
		{"messages not array", `{"messages": "hi"}`, []string{`line 1: "messages" must be an array, not a string`}},
		{"messages empty", `{"messages": []}`, []string{`line 1: "messages" is empty`}},
		{"message not object", `{"messages": ["hi", {"role": "assistant", "content": "a"}]}`, []string{"line 1: message 1: a message must be a JSON object, not a string"}},
		{"unknown role", jl("robot", "beep", "assistant", "a"), []string{`line 1: message 1: unknown role "robot"`}},
		{"role case matters", jl("User", "q", "assistant", "a"), []string{`message 1: unknown role "User"`}},
		{"missing role", `{"messages": [{"content": "q"}, {"role": "assistant", "content": "a"}]}`, []string{"line 1: message 1: missing role"}},
		{"role not string", `{"messages": [{"role": 1, "content": "q"}, {"role": "assistant", "content": "a"}]}`, []string{"message 1: role must be a string, not a number"}},
		{"missing assistant", jl("system", "s", "user", "q"), []string{"line 1: no assistant message"}},
		{"empty content", jl("user", "", "assistant", "a"), []string{"line 1: message 1: empty content"}},
		{"blank assistant content", jl("user", "q", "assistant", " \n "), []string{"line 1: message 2: empty content"}},
		{"missing content", `{"messages": [{"role": "user"}, {"role": "assistant", "content": "a"}]}`, []string{"message 1: empty content"}},
		{"null user content", `{"messages": [{"role": "user", "content": null}, {"role": "assistant", "content": "a"}]}`, []string{"message 1: empty content"}},
		{"content number", `{"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "a"}]}`, []string{"message 1: content must be a string or an array of content parts, not a number"}},
		{"assistant without anything", `{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": null}]}`, []string{"message 2: empty content (an assistant message needs"}},
		{"weight 2", `{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 2}]}`, []string{"line 1: message 2: weight must be 0 or 1, got \"2\""}},
		{"weight string", `{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": "1"}]}`, []string{"message 2: weight must be 0 or 1, not a string"}},
		{"weight on user", `{"messages": [{"role": "user", "content": "q", "weight": 1}, {"role": "assistant", "content": "a"}]}`, []string{`message 1: key "weight" is not allowed in a user message`}},
		{"all weights 0", `{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0}]}`, []string{"line 1: every assistant message has weight 0"}},
		{"unknown message key", `{"messages": [{"role": "user", "content": "q", "colour": "red"}, {"role": "assistant", "content": "a"}]}`, []string{`line 1: message 1: unknown key "colour"`}},
		{"duplicate message key", `{"messages": [{"role": "user", "content": "q", "content": "r"}, {"role": "assistant", "content": "a"}]}`, []string{`message 1: duplicate key "content"`}},
		{"unknown top-level key", `{"prompt": "q", "completion": "a"}`, []string{`line 1: unknown key "prompt"`, `unknown key "completion"`, `missing "messages"`}},
		{"tool without id", `{"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "x"}, {"role": "assistant", "content": "a"}]}`, []string{"message 2: a tool message needs a tool_call_id"}},
		{"function without name", `{"messages": [{"role": "user", "content": "q"}, {"role": "function", "content": "x"}, {"role": "assistant", "content": "a"}]}`, []string{"message 2: a function message needs a name"}},
		{"image in system", `{"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}, {"role": "assistant", "content": "a"}]}`, []string{`message 1: content parts of a system message may only be of type "text"`}},
		{"bad part", `{"messages": [{"role": "user", "content": [{"type": "video"}, {"text": "x"}, {"type": "text"}, 3]}, {"role": "assistant", "content": "a"}]}`, []string{`message 1: content part 1: unknown type "video"`, "content part 2: missing type", `content part 3: missing "text"`, "content part 4: a content part must be an object, not a number"}},
		{"duplicate part keys", `{"messages": [{"role": "user", "content": [{"type": "text", "text": "a", "text": "b", "type": "text"}]}, {"role": "assistant", "content": "a"}]}`, []string{`message 1: content part 1: duplicate key "text"`, `content part 1: duplicate key "type"`}},
		{"empty parts", `{"messages": [{"role": "user", "content": []}, {"role": "assistant", "content": "a"}]}`, []string{"message 1: content is an empty array"}},
		{"id not string", `{"id": 7, "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}`, []string{"line 1: id must be a string, not a number"}},
		{"id empty", `{"id": "", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}`, []string{"line 1: id is empty"}},
		{"id reserved", `{"id": "line 2", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}` + "\n" + qaLine("q", "a"), []string{`line 1: id "line 2" is reserved`}},
		{"duplicate ids", `{"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}` + "\n" + qaLine("q", "a") + "\n" + `{"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]}`, []string{`line 3: duplicate id "x": also on line 1`}},
		{"invalid UTF-8", "{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}", []string{"line 1: not valid UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := ReadJSONL(strings.NewReader(tt.input), "in.jsonl")
			require.Error(t, err)
			assert.Nil(t, ds)
			var ve *ValidationError
			require.True(t, errors.As(err, &ve), "%v", err)
			assert.Equal(t, "in.jsonl", ve.File)
			require.NotEmpty(t, ve.Problems)
			assert.True(t, strings.HasPrefix(err.Error(), "ragvsft: in.jsonl: "), err.Error())
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Equal(t, err.Error(), ValidateJSONL(strings.NewReader(tt.input), "in.jsonl").Error())
		})
	}
}

func TestReadJSONLGoldenError(t *testing.T) {
	_, err := LoadJSONL(filepath.Join("testdata", "jsonl", "bad_mixed.jsonl"))
	require.Error(t, err)
	want := `ragvsft: testdata/jsonl/bad_mixed.jsonl: 7 problems:
  line 2: not valid JSON (column 2): invalid character 'o' in literal null (expecting 'u')
  line 4: message 1: unknown role "robot" (want system, developer, user, assistant, tool or function)
  line 5: no assistant message
  line 6: message 1: empty content
  line 6: message 2: weight must be 0 or 1, got "2"
  line 8: duplicate id "a": also on line 7
  line 9: a line must be a JSON object, not an array
  line 10: message 1: unknown key "colour"`
	// 8 lines listed: the count in the header must say so too.
	want = strings.Replace(want, "7 problems", "8 problems", 1)
	assert.Equal(t, want, err.Error())
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Len(t, ve.Problems, 8)
	assert.Equal(t, Problem{Line: 8, Message: `duplicate id "a": also on line 7`}, ve.Problems[5])
}

func TestReadJSONLEmpty(t *testing.T) {
	for _, input := range []string{"", "\n", "  \n\r\n\t", "\xEF\xBB\xBF"} {
		t.Run(fmt.Sprintf("%q", input), func(t *testing.T) {
			ds, err := ReadJSONL(strings.NewReader(input), "empty.jsonl")
			assert.Nil(t, ds)
			require.ErrorIs(t, err, ErrEmptyDataset)
			assert.Equal(t, "ragvsft: empty.jsonl: dataset has no examples", err.Error())
			assert.ErrorIs(t, ValidateJSONL(strings.NewReader(input), "empty.jsonl"), ErrEmptyDataset)
		})
	}
	_, err := LoadJSONL(filepath.Join("testdata", "jsonl", "blank_only.jsonl"))
	assert.ErrorIs(t, err, ErrEmptyDataset)
	_, err = LoadJSONL(filepath.Join("testdata", "jsonl", "no-such-file.jsonl"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "no-such-file.jsonl")
}

func TestReadJSONLHugeLine(t *testing.T) {
	// A line just over the limit between two good lines: reported by its
	// number, the lines around it still checked.
	huge := `{"messages": [{"role": "user", "content": "` + strings.Repeat("x", MaxLineBytes) + `"}]}`
	input := qaLine("q", "a") + "\n" + huge + "\n" + jl("robot", "r", "assistant", "a") + "\n" + huge
	err := ValidateJSONL(strings.NewReader(input), "big.jsonl")
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, []Problem{
		{Line: 2, Message: "line is longer than the limit of 16777216 bytes (MaxLineBytes)"},
		{Line: 3, Message: `message 1: unknown role "robot" (want system, developer, user, assistant, tool or function)`},
		{Line: 4, Message: "line is longer than the limit of 16777216 bytes (MaxLineBytes)"},
	}, ve.Problems)

	// A line of exactly MaxLineBytes is fine.
	pad := `{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "`
	exact := pad + strings.Repeat("y", MaxLineBytes-len(pad)-len(`"}]}`)) + `"}]}`
	require.Len(t, exact, MaxLineBytes)
	ds, err := ReadJSONL(strings.NewReader(exact+"\r\n"), "exact.jsonl")
	require.NoError(t, err)
	assert.Len(t, ds.Examples()[0].Messages[1].Content, MaxLineBytes-len(pad)-len(`"}]}`))
}

func TestReadJSONLManyBadLines(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 250; i++ {
		b.WriteString(jl("user", "q", "robot", "a"))
		b.WriteString("\n")
	}
	err := ValidateJSONL(strings.NewReader(b.String()), "bad.jsonl")
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	// Two problems per line: the unknown role and the missing assistant.
	assert.Len(t, ve.Problems, MaxProblems)
	assert.Equal(t, 400, ve.Omitted)
	assert.Equal(t, 50, ve.Problems[len(ve.Problems)-1].Line)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "ragvsft: bad.jsonl: 500 problems (first 100 shown):\n  line 1: message 2: unknown role \"robot\""), msg)
	assert.True(t, strings.HasSuffix(msg, "\n  ... and 400 more"), msg)
}

// failingReader returns data, then an error.
type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadJSONLReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := ReadJSONL(&failingReader{data: qaLine("q", "a") + "\n" + qaLine("q", "a") + "\n{", err: boom}, "f.jsonl")
	require.ErrorIs(t, err, boom)
	assert.Equal(t, "ragvsft: f.jsonl: reading line 3: disk on fire", err.Error())
}

func TestWriteJSONLRoundTrip(t *testing.T) {
	examples := []Example{
		{ID: "a", Messages: []Message{{Role: RoleSystem, Content: "You're a helpful assistant"}, {Role: RoleUser, Content: "What is the population of City_1?"}, {Role: RoleAssistant, Content: "City_1 has about 1967825 inhabitants."}}},
		{ID: "b", Messages: []Message{{Role: RoleDeveloper, Content: "<b>bold</b> & \"quoted\"\nnew line \u2028 😀"}, {Role: RoleUser, Name: "ann", Content: "q"}, {Role: RoleAssistant, Content: "draft", Weight: weight(0)}, {Role: RoleUser, Content: "again"}, {Role: RoleAssistant, Content: "final", Weight: weight(1)}}},
		{Messages: []Message{{Role: RoleUser, Content: "q"}, {Role: RoleFunction, Name: "f", Content: ""}, {Role: RoleAssistant, Content: "a"}}},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteJSONL(&buf, examples))
	assert.NotContains(t, buf.String(), `"id"`)
	assert.Contains(t, buf.String(), "<b>bold</b> &")
	assert.Equal(t, 3, strings.Count(buf.String(), "\n"))
	assert.True(t, strings.HasPrefix(buf.String(), `{"messages":[{"role":"system","content":"You're a helpful assistant"},`), buf.String())

	ds, err := ReadJSONL(&buf, "round.jsonl")
	require.NoError(t, err)
	got := ds.Examples()
	require.Len(t, got, len(examples))
	for i := range examples {
		assert.Equal(t, fmt.Sprintf("line %d", i+1), got[i].ID)
		assert.Equal(t, i+1, got[i].Line)
		assert.Equal(t, examples[i].Messages, got[i].Messages)
	}
}

func TestWriteJSONLRejectsInvalid(t *testing.T) {
	var buf bytes.Buffer
	err := WriteJSONL(&buf, []Example{
		{ID: "ok", Messages: []Message{{Role: RoleUser, Content: "q"}, {Role: RoleAssistant, Content: "a"}}},
		{ID: "bad", Messages: []Message{{Role: RoleUser, Content: "q"}}},
	})
	assert.EqualError(t, err, `ragvsft: examples: id "bad": no assistant message`)
	assert.Zero(t, buf.Len(), "nothing is written when an example is invalid")
	assert.ErrorIs(t, WriteJSONL(&buf, nil), ErrEmptyDataset)
}

func TestNewDataset(t *testing.T) {
	good := []Message{{Role: RoleUser, Content: "q"}, {Role: RoleAssistant, Content: "a"}}
	ds, err := NewDataset("mem", []Example{{Messages: good}, {ID: "x", Messages: good}, {Line: 7, Messages: good}})
	require.NoError(t, err)
	assert.Equal(t, "mem", ds.Name())
	ids := []string{}
	for _, ex := range ds.Examples() {
		ids = append(ids, ex.ID)
	}
	assert.Equal(t, []string{"example 1", "x", "line 7"}, ids)

	tests := []struct {
		name     string
		examples []Example
		want     string
	}{
		{"none", nil, "ragvsft: mem: dataset has no examples"},
		{"no messages", []Example{{ID: "e"}}, `ragvsft: mem: id "e": no messages`},
		{"unknown role", []Example{{ID: "e", Messages: []Message{{Role: "robot", Content: "x"}, {Role: RoleAssistant, Content: "a"}}}}, `ragvsft: mem: id "e": message 1: unknown role "robot"`},
		{"tool", []Example{{ID: "e", Messages: []Message{{Role: RoleTool, Content: "x"}, {Role: RoleAssistant, Content: "a"}}}}, `ragvsft: mem: id "e": message 1: tool messages need a tool_call_id, which a Message cannot carry`},
		{"empty content", []Example{{ID: "e", Messages: []Message{{Role: RoleUser, Content: " "}, {Role: RoleAssistant, Content: "a"}}}}, `ragvsft: mem: id "e": message 1: empty content`},
		{"weight 2", []Example{{ID: "e", Messages: []Message{{Role: RoleUser, Content: "q"}, {Role: RoleAssistant, Content: "a", Weight: weight(2)}}}}, `ragvsft: mem: id "e": message 2: weight must be 0 or 1, got 2`},
		{"weight on user", []Example{{ID: "e", Messages: []Message{{Role: RoleUser, Content: "q", Weight: weight(1)}, {Role: RoleAssistant, Content: "a"}}}}, `ragvsft: mem: id "e": message 1: weight is only allowed on assistant messages`},
		{"all weight 0", []Example{{ID: "e", Messages: []Message{{Role: RoleUser, Content: "q"}, {Role: RoleAssistant, Content: "a", Weight: weight(0)}}}}, `ragvsft: mem: id "e": every assistant message has weight 0: nothing to train on`},
		{"function without name", []Example{{ID: "e", Messages: []Message{{Role: RoleFunction, Content: "q"}, {Role: RoleAssistant, Content: "a"}}}}, `ragvsft: mem: id "e": message 1: function message without a name`},
		{"duplicate ids", []Example{{ID: "d", Messages: good}, {ID: "e", Messages: good}, {ID: "d", Messages: good}}, `ragvsft: mem: id "d": duplicate id: examples 1 and 3`},
		{"two problems", []Example{{ID: "a"}, {ID: "b", Messages: []Message{{Role: RoleUser, Content: "q"}}}}, "ragvsft: mem: 2 problems:\n  id \"a\": no messages\n  id \"b\": no assistant message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := NewDataset("mem", tt.examples)
			assert.Nil(t, ds)
			assert.EqualError(t, err, tt.want)
		})
	}
}

// sourced is a Dataset with its own questions and documents.
type sourced struct {
	*JSONLDataset
	qs   []Question
	docs []Document
}

func (s sourced) Questions() []Question { return s.qs }

type withDocs struct {
	*JSONLDataset
	docs []Document
}

func (s withDocs) Documents() []Document { return s.docs }

type withBoth struct {
	sourced
}

func (s withBoth) Documents() []Document { return s.docs }

func TestQuestionsAndDocuments(t *testing.T) {
	ds, err := ReadJSONL(strings.NewReader(
		jl("system", "s", "user", "What is the population of City_1?", "assistant", "City_1 has about 1967825 inhabitants.")+"\n"+
			`{"id": "multi", "messages": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "one"}, {"role": "user", "content": "second"}, {"role": "system", "content": "note"}, {"role": "assistant", "content": "two"}, {"role": "user", "content": "dangling"}]}`),
		"qd.jsonl")
	require.NoError(t, err)

	qs, err := Questions(ds)
	require.NoError(t, err)
	assert.Equal(t, []Question{
		{ID: "line 1", Text: "What is the population of City_1?", Gold: "City_1 has about 1967825 inhabitants.", DocID: "line 1"},
		// The conversation before the last user turn; the system note after it is not part of it.
		{ID: "multi", Text: "second", Messages: []Message{{Role: RoleUser, Content: "first"}, {Role: RoleAssistant, Content: "one"}}, Gold: "two", DocID: "multi"},
	}, qs)
	docs, err := Documents(ds)
	require.NoError(t, err)
	// Every assistant turn is a document; the final one keeps the example's id.
	assert.Equal(t, []Document{{ID: "line 1", Text: "City_1 has about 1967825 inhabitants."}, {ID: "multi#2", Text: "one"}, {ID: "multi", Text: "two"}}, docs)

	// Sources win over derivation.
	own := []Document{{ID: "d1", Text: "City_1 is big."}}
	docs, err = Documents(withDocs{ds, own})
	require.NoError(t, err)
	assert.Equal(t, own, docs)
	para := []Question{{ID: "p1", Text: "How many live in City_1?", Gold: "1967825", DocID: "line 1"}}
	qs, err = Questions(sourced{JSONLDataset: ds, qs: para})
	require.NoError(t, err)
	assert.Equal(t, para, qs)

	// An assistant turn with no user turn before it makes no question.
	noUser, err := NewDataset("nouser", []Example{{ID: "x", Messages: []Message{{Role: RoleSystem, Content: "s"}, {Role: RoleAssistant, Content: "a"}}}})
	require.NoError(t, err)
	_, err = Questions(noUser)
	assert.EqualError(t, err, `ragvsft: nouser: id "x": no user message before a final assistant message: cannot make a question`)

	tests := []struct {
		name string
		ds   Dataset
		want string
	}{
		{"no questions", sourced{JSONLDataset: ds}, "ragvsft: qd.jsonl: no questions"},
		{"duplicate question ids", sourced{JSONLDataset: ds, qs: []Question{{ID: "a", Text: "t", Gold: "g"}, {ID: "a", Text: "t", Gold: "g"}}}, `ragvsft: qd.jsonl: id "a": duplicate question id: questions 1 and 2`},
		{"empty text and gold", sourced{JSONLDataset: ds, qs: []Question{{ID: "a", Text: " ", Gold: ""}}}, "ragvsft: qd.jsonl: 2 problems:\n  id \"a\": question text is empty\n  id \"a\": gold answer is empty"},
		{"empty id", sourced{JSONLDataset: ds, qs: []Question{{Text: "t", Gold: "g"}}}, "ragvsft: qd.jsonl: question 1: empty id"},
		{"doc id names no document", withBoth{sourced{JSONLDataset: ds, qs: []Question{{ID: "a", Text: "t", Gold: "g", DocID: "d9"}}, docs: own}}, `ragvsft: qd.jsonl: id "a": doc_id "d9" names no document`},
		{"doc id names no derived document", sourced{JSONLDataset: ds, qs: []Question{{ID: "a", Text: "t", Gold: "g", DocID: "line 9"}}}, `ragvsft: qd.jsonl: id "a": doc_id "line 9" names no document`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qs, err := Questions(tt.ds)
			assert.Nil(t, qs)
			var ve *ValidationError
			if errors.As(err, &ve) {
				assert.Equal(t, "qd.jsonl", ve.File)
			}
			assert.EqualError(t, err, tt.want)
		})
	}

	docTests := []struct {
		name string
		docs []Document
		want string
	}{
		{"none", nil, "ragvsft: qd.jsonl: no documents"},
		{"duplicate", []Document{{ID: "a", Text: "x"}, {ID: "b", Text: "y"}, {ID: "a", Text: "z"}}, `ragvsft: qd.jsonl: id "a": duplicate document id: documents 1 and 3`},
		{"empty text", []Document{{ID: "a", Text: "\n"}}, `ragvsft: qd.jsonl: id "a": document text is empty`},
		{"empty id", []Document{{Text: "x"}}, "ragvsft: qd.jsonl: document 1: empty id"},
	}
	for _, tt := range docTests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Documents(withDocs{ds, tt.docs})
			assert.Nil(t, docs)
			assert.EqualError(t, err, tt.want)
		})
	}
}

// plain is a Dataset that is nothing more.
type plain []Example

func (p plain) Examples() []Example { return p }

func TestQuestionsPlainDataset(t *testing.T) {
	_, err := Questions(plain(nil))
	assert.EqualError(t, err, "ragvsft: dataset: no questions")
	_, err = Documents(plain{{ID: "a", Messages: []Message{{Role: RoleUser, Content: "q"}, {Role: RoleAssistant, Content: ""}}}})
	assert.EqualError(t, err, `ragvsft: dataset: id "a": document text is empty`)
}

// genJSONL writes n valid cities-like lines.
func genJSONL(n int) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"messages": [{"role": "system", "content": "You're a helpful assistant"}, {"role": "user", "content": "What is the population of City_%d?"}, {"role": "assistant", "content": "City_%d has about %d inhabitants."}]}`+"\n", i, i, 100000+i*7919%9900000)
	}
	return b.Bytes()
}

// BenchmarkValidateJSONL shows that checking a file allocates a fixed
// amount, whatever its length: B/op and allocs/op are the same at 10k and
// 100k lines.
func BenchmarkValidateJSONL(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		data := genJSONL(n)
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := ValidateJSONL(bytes.NewReader(data), "bench.jsonl"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReadJSONL(b *testing.B) {
	data := genJSONL(10_000)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadJSONL(bytes.NewReader(data), "bench.jsonl"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestValidateJSONLAllocationsDoNotGrow is the benchmark's claim as a test:
// ten times the lines, the same allocations.
func TestValidateJSONLAllocationsDoNotGrow(t *testing.T) {
	if testing.Short() || raceEnabled() {
		// The race detector makes sync.Pool drop items at random, so
		// encoding/json's pooled scanner is reallocated now and then.
		t.Skip("allocation count: not in -short or -race runs")
	}
	small, large := genJSONL(1_000), genJSONL(10_000)
	allocs := func(data []byte) float64 {
		return testing.AllocsPerRun(3, func() {
			require.NoError(t, ValidateJSONL(bytes.NewReader(data), "a.jsonl"))
		})
	}
	a, b := allocs(small), allocs(large)
	assert.InDelta(t, a, b, 5, "allocations for 1k lines %v, for 10k lines %v", a, b)
}

var _ io.Reader = (*failingReader)(nil)

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func TestReadJSONLOneLineManyProblems(t *testing.T) {
	line := `{"messages": [` + strings.Repeat(`1, `, 100_000) + `{"role": "assistant", "content": "a"}]}`
	err := ValidateJSONL(strings.NewReader(line), "one.jsonl")
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Len(t, ve.Problems, MaxProblems)
	assert.Equal(t, 100_000-MaxProblems, ve.Omitted)
	assert.Equal(t, Problem{Line: 1, Message: "message 100: a message must be a JSON object, not a number"}, ve.Problems[99])
}

func ExampleValidateJSONL() {
	file := `{"messages": [{"role": "user", "content": "What is the population of City_1?"}, {"role": "assistant", "content": "City_1 has about 1967825 inhabitants."}]}
{"messages": [{"role": "robot", "content": "beep"}]}
not json`
	err := ValidateJSONL(strings.NewReader(file), "cities.jsonl")
	fmt.Println(err)

	var ve *ValidationError
	if errors.As(err, &ve) {
		fmt.Println(len(ve.Problems), "problems; the first on line", ve.Problems[0].Line)
	}
	// Output:
	// ragvsft: cities.jsonl: 3 problems:
	//   line 2: message 1: unknown role "robot" (want system, developer, user, assistant, tool or function)
	//   line 2: no assistant message
	//   line 3: not valid JSON (column 2): invalid character 'o' in literal null (expecting 'u')
	// 3 problems; the first on line 2
}

func ExampleQuestions() {
	file := `{"messages": [{"role": "system", "content": "You're a helpful assistant"}, {"role": "user", "content": "What is the population of City_1?"}, {"role": "assistant", "content": "City_1 has about 1967825 inhabitants."}]}
{"id": "city-2", "messages": [{"role": "user", "content": "What is the population of City_2?"}, {"role": "assistant", "content": "City_2 has about 519610 inhabitants."}]}`
	ds, err := ReadJSONL(strings.NewReader(file), "cities.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	questions, err := Questions(ds)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, q := range questions {
		fmt.Printf("%s: %q -> %q\n", q.ID, q.Text, q.Gold)
	}
	docs, _ := Documents(ds)
	fmt.Println(len(docs), "documents, the first:", docs[0].Text)
	// Output:
	// line 1: "What is the population of City_1?" -> "City_1 has about 1967825 inhabitants."
	// city-2: "What is the population of City_2?" -> "City_2 has about 519610 inhabitants."
	// 2 documents, the first: City_1 has about 1967825 inhabitants.
}

func TestReadJSONLCities(t *testing.T) {
	data := CitiesJSONL(CitiesCount, CitiesSeed)
	ds, err := ReadJSONL(bytes.NewReader(data), "cities.jsonl")
	require.NoError(t, err)
	require.Equal(t, CitiesCount, ds.Len())

	qs, err := Questions(ds)
	require.NoError(t, err)
	require.Len(t, qs, CitiesCount)
	assert.Equal(t, Question{ID: "line 3", Text: "What is the population of City_3?", Gold: "City_3 has about 4714226 inhabitants.", DocID: "line 3"}, qs[2])
	docs, err := Documents(ds)
	require.NoError(t, err)
	require.Len(t, docs, CitiesCount)
	assert.Equal(t, Document{ID: "line 100", Text: qs[99].Gold}, docs[99])

	// Written back, the file is OpenAI's format with the same examples.
	var buf bytes.Buffer
	require.NoError(t, WriteJSONL(&buf, ds.Examples()))
	back, err := ReadJSONL(&buf, "back.jsonl")
	require.NoError(t, err)
	assert.Equal(t, ds.Examples(), back.Examples())
}
