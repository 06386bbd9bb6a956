package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The committed knowledge base and questions file are this generator's
// output.
func TestGenerateMatchesTestdata(t *testing.T) {
	for _, tt := range []struct {
		file string
		gen  func(int, uint64) ([]byte, error)
		cmd  string
	}{
		{"companies.jsonl", Generate, "go run ./internal/companiesgen > testdata/companies.jsonl"},
		{"companies_questions.jsonl", Questions, "go run ./internal/companiesgen -questions > testdata/companies_questions.jsonl"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			want, err := os.ReadFile("../../testdata/" + tt.file)
			require.NoError(t, err)
			got, err := tt.gen(Count, Seed)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "run: "+tt.cmd)
		})
	}
}

// Every held-out question asks a fact of the knowledge base in a wording
// no training example uses, with the bare value as its gold answer.
func TestQuestionsAreHeldOut(t *testing.T) {
	kb, err := Generate(Count, Seed)
	require.NoError(t, err)
	prompts, answers := map[string]bool{}, map[string]string{}
	for line := range bytes.Lines(kb) {
		var r record
		require.NoError(t, json.Unmarshal(line, &r))
		prompts[strings.ToLower(r.Messages[1].Content)] = true
		answers[r.ID] = r.Messages[2].Content
	}
	qs, err := Questions(Count, Seed)
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(qs))
	n, withAliases := 0, 0
	for sc.Scan() {
		var q question
		require.NoError(t, json.Unmarshal(sc.Bytes(), &q))
		n++
		assert.False(t, prompts[strings.ToLower(q.Question)], "%s: %q is a training prompt", q.ID, q.Question)
		require.Contains(t, answers, q.DocID, q.ID)
		assert.Contains(t, answers[q.DocID], q.Answer, "%s: the gold is the value its document states", q.ID)
		for _, a := range q.Aliases {
			assert.Contains(t, q.Answer, a, "%s: an alias is a shorter form of the gold", q.ID)
			assert.NotEqual(t, q.Answer, a)
		}
		if len(q.Aliases) > 0 {
			withAliases++
		}
	}
	assert.Equal(t, 3*Count, n, "every fact is asked")
	assert.Greater(t, withAliases, Count, "the founders and most towns have an alias")
}
