package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/internal/pgtest"
)

// The offline run on pgvector retrieves what it retrieves on chromem, so
// the rag arms answer the same, on the cities and on another knowledge
// base; a rerun reuses the table's vectors. The table is the package
// default, which no other test uses.
func TestPgvectorRetrieverGivesChromemsResults(t *testing.T) {
	dsn := pgtest.DSN(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"cities", nil},
		{"companies", []string{"-data", filepath.Join("..", "..", "testdata", "companies.jsonl")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sweep", ""}, tc.args...)
			chromemDir := filepath.Join(t.TempDir(), "chromem")
			out, err := runCities(t, append(args, "-out", chromemDir)...)
			require.NoError(t, err, out)
			pgDir := filepath.Join(t.TempDir(), "pgvector")
			out, err = runCities(t, append(args, "-out", pgDir, "-retriever", "pgvector", "-pg", dsn)...)
			require.NoError(t, err, out)
			assert.Regexp(t, `Index: \d+ documents embedded, \d+ reused from PostgreSQL table "ragvsft_documents"`, out)
			sameRAG(t, readReport(t, chromemDir), readReport(t, pgDir))

			again := filepath.Join(t.TempDir(), "again")
			out, err = runCities(t, append(args, "-out", again, "-retriever", "pgvector", "-pg", dsn)...)
			require.NoError(t, err, out)
			assert.Regexp(t, `Index: 0 documents embedded, \d+ reused from PostgreSQL table`, out)
		})
	}
}

// sameRAG asserts that two runs retrieved the same documents, scored
// alike, and answered the same in the arms that retrieve.
func sameRAG(t *testing.T, want, got ragvsft.Report) {
	t.Helper()
	require.Len(t, got.Results, len(want.Results))
	rag := 0
	for i, w := range want.Results {
		g := got.Results[i]
		require.Equal(t, w.Arm, g.Arm)
		require.Equal(t, w.QuestionID, g.QuestionID)
		if w.Arm != ragvsft.ArmRAG && w.Arm != ragvsft.ArmFineTunedRAG {
			continue
		}
		rag++
		require.Len(t, g.Retrieved, len(w.Retrieved), w.QuestionID)
		sameUpToTies(t, w.Retrieved, g.Retrieved, fmt.Sprintf("%s %s", w.Arm, w.QuestionID))
		assert.Equal(t, w.GoldRank, g.GoldRank, w.QuestionID)
		assert.Equal(t, w.Answer, g.Answer, w.QuestionID)
		assert.Equal(t, w.Outcome, g.Outcome, w.QuestionID)
	}
	assert.Positive(t, rag)
	for _, arm := range []ragvsft.Arm{ragvsft.ArmRAG, ragvsft.ArmFineTunedRAG} {
		w, _ := want.Arm(arm)
		g, _ := got.Arm(arm)
		assert.Equal(t, w.Accuracy, g.Accuracy, arm)
	}
}

// scoreTie is how close two cosine similarities are when PostgreSQL and Go
// sum the same products in another order.
const scoreTie = 1e-5

// sameUpToTies asserts that two hit lists have the same scores at every
// rank and the same documents, but that documents whose scores tie may
// come in either order, or, tied with the last hit, one instead of the other.
func sameUpToTies(t *testing.T, want, got []ragvsft.RetrievedDoc, what string) {
	t.Helper()
	score := map[string]float64{}
	for _, w := range want {
		score[w.ID] = w.Score
	}
	last := want[len(want)-1].Score
	for j := range want {
		require.InDelta(t, want[j].Score, got[j].Score, scoreTie, "%s hit %d", what, j)
		if got[j].ID == want[j].ID {
			continue
		}
		s, ok := score[got[j].ID]
		if !ok {
			s = last // not retrieved by chromem: it must tie with the last hit
		}
		require.InDelta(t, want[j].Score, s, scoreTie, "%s hit %d: %s instead of %s, and their scores do not tie", what, j, got[j].ID, want[j].ID)
	}
}

func TestRetrieverFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-retriever", "pgvector"}, "-retriever pgvector needs -pg DSN"},
		{[]string{"-pg", "postgres://u:p@127.0.0.1:1/x"}, "-pg needs -retriever pgvector"},
		{[]string{"-retriever", "faiss"}, `-retriever must be chromem or pgvector, got "faiss"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			out, err := runCities(t, append(tc.args, "-out", dir, "-sweep", "")...)
			require.ErrorContains(t, err, tc.want, out)
			assert.NoDirExists(t, dir, "nothing is written before the flags are checked")
		})
	}
	// A server that cannot be reached is named, its password is not.
	dir := filepath.Join(t.TempDir(), "run")
	out, err := runCities(t, "-retriever", "pgvector", "-pg", "postgres://u:Secr3tPw@127.0.0.1:1/x", "-out", dir, "-sweep", "")
	require.ErrorContains(t, err, "connecting to postgres://u@127.0.0.1:1/x")
	assert.NotContains(t, err.Error()+out, "Secr3tPw")
}
