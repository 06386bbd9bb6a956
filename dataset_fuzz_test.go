package ragvsft

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzReadJSONL checks that the reader never panics, that ValidateJSONL and
// ReadJSONL agree, that what it accepts is sound, and that the text it
// reads is what encoding/json decodes. Seeds: testdata/fuzz/FuzzReadJSONL.
func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(qaLine("q", "a")))
	f.Add([]byte(jl("robot", "x")))
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := ReadJSONL(bytes.NewReader(data), "fuzz.jsonl")
		verr := ValidateJSONL(bytes.NewReader(data), "fuzz.jsonl")
		if err != nil {
			require.Nil(t, ds)
			require.Error(t, verr, "ReadJSONL failed with %v, ValidateJSONL passed", err)
			require.Equal(t, err.Error(), verr.Error())
			require.True(t, strings.HasPrefix(err.Error(), "ragvsft: fuzz.jsonl: "), err.Error())
			return
		}
		require.NoError(t, verr)
		examples := ds.Examples()
		require.NotEmpty(t, examples)

		lines := bytes.Split(data, []byte("\n"))
		lines[0] = bytes.TrimPrefix(lines[0], []byte("\xEF\xBB\xBF"))
		for _, ex := range examples {
			require.NotEmpty(t, ex.ID)
			assistant := false
			for _, m := range ex.Messages {
				assistant = assistant || m.Role == RoleAssistant
			}
			require.True(t, assistant, "example %s has no assistant message", ex.ID)

			// encoding/json is the reference for what the line says.
			var ref struct {
				Messages []map[string]any `json:"messages"`
			}
			require.NoError(t, json.Unmarshal(bytes.TrimSuffix(lines[ex.Line-1], []byte("\r")), &ref))
			require.Len(t, ex.Messages, len(ref.Messages))
			for i, m := range ex.Messages {
				assert.Equal(t, ref.Messages[i]["role"], m.Role)
				switch c := ref.Messages[i]["content"].(type) {
				case string:
					assert.Equal(t, c, m.Content)
				case []any:
					var texts []string
					for _, part := range c {
						if p := part.(map[string]any); p["type"] == "text" {
							texts = append(texts, p["text"].(string))
						}
					}
					assert.Equal(t, strings.Join(texts, "\n"), m.Content)
				}
				if name, ok := ref.Messages[i]["name"].(string); ok {
					assert.Equal(t, name, m.Name)
				}
			}
		}

		// What is read can be written and read back, unless it uses what a
		// Message cannot carry (tool calls).
		var buf bytes.Buffer
		if WriteJSONL(&buf, examples) != nil {
			return
		}
		back, err := ReadJSONL(&buf, "back.jsonl")
		require.NoError(t, err)
		got := back.Examples()
		require.Len(t, got, len(examples))
		for i := range got {
			assert.Equal(t, examples[i].Messages, got[i].Messages)
		}
	})
}

// TestFuzzSeedsSayWhatTheyAre keeps the seed corpus honest: the seeds named
// valid_* are read, the invalid_* ones rejected.
func TestFuzzSeedsSayWhatTheyAre(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReadJSONL")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			header, body, ok := strings.Cut(string(raw), "\n")
			require.True(t, ok)
			require.Equal(t, "go test fuzz v1", header)
			body = strings.TrimSpace(body)
			require.True(t, strings.HasPrefix(body, "[]byte(") && strings.HasSuffix(body, ")"), body)
			data, err := strconv.Unquote(body[len("[]byte(") : len(body)-1])
			require.NoError(t, err)
			err = ValidateJSONL(strings.NewReader(data), e.Name())
			if strings.HasPrefix(e.Name(), "valid_") {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

// FuzzStringValue checks the reader's string decoding against
// encoding/json on any JSON string literal.
func FuzzStringValue(f *testing.F) {
	for _, s := range []string{`"plain"`, `"\ud83d\ude00"`, `"\ud800\ud800"`, `"\udc00x"`, `"a\/b\\\"\b\f\n\r\t\u0000"`, `"\ud800\u0041"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		var want string
		if json.Unmarshal([]byte(lit), &want) != nil || !utf8.ValidString(lit) {
			return
		}
		c := cursor{b: []byte(" " + lit + " ")}
		c.ws()
		got := c.appendString(nil)
		require.Equal(t, want, string(got))
		c.ws()
		require.Equal(t, len(c.b), c.i, "cursor must stop after the literal")
	})
}
