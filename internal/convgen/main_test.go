package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// The committed knowledge base is this generator's output.
func TestGenerateMatchesTestdata(t *testing.T) {
	want, err := os.ReadFile("../../testdata/explorers.jsonl")
	require.NoError(t, err)
	got, err := Generate(Count, Seed)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "run: go run ./internal/convgen > testdata/explorers.jsonl")
	wantQuestions, err := os.ReadFile("../../testdata/explorers_questions.jsonl")
	require.NoError(t, err)
	kb, questions, err := generate(Count, Seed)
	require.NoError(t, err)
	assert.Equal(t, got, kb)
	assert.Equal(t, string(wantQuestions), string(questions), "run: go run ./internal/convgen -questions > testdata/explorers_questions.jsonl")
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(kb), "explorers.jsonl")
	require.NoError(t, err)
	qs, err := ragvsft.ReadQuestions(bytes.NewReader(questions), "explorers_questions.jsonl")
	require.NoError(t, err)
	with, err := ragvsft.WithQuestions(ds, qs)
	require.NoError(t, err, "every question names its example")
	asked, err := ragvsft.Questions(with)
	require.NoError(t, err)
	require.Len(t, asked, Count)
	assert.Equal(t, "Which place does she come from?", asked[0].Text)
	assert.Len(t, asked[0].Messages, 2, "asked after the first two turns")
}

// Every example is a valid training example whose question is a follow-up
// that names its subject only by a pronoun: the library asks it after the
// earlier turns and indexes both facts.
func TestExplorersAreMultiTurnWithPronouns(t *testing.T) {
	data, err := Generate(Count, Seed)
	require.NoError(t, err)
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(data), "explorers.jsonl")
	require.NoError(t, err)
	qs, err := ragvsft.Questions(ds)
	require.NoError(t, err)
	require.Len(t, qs, Count)
	assert.Equal(t, "Where was she born?", qs[0].Text)
	assert.Equal(t, "Tell me about Anna Kovacs.", qs[0].Messages[0].Content)
	for _, q := range qs {
		require.Len(t, q.Messages, 2, q.ID)
		name := strings.Fields(q.Gold)[0]
		assert.Contains(t, q.Messages[0].Content, name, "%s: the first turn names the explorer", q.ID)
		assert.NotContains(t, q.Text, name, "%s: the follow-up does not", q.ID)
		words := strings.Fields(q.Text)
		assert.True(t, slices.Contains(words, "she") || slices.Contains(words, "he"), "%s: %q uses a pronoun", q.ID, q.Text)
	}
	docs, err := ragvsft.Documents(ds)
	require.NoError(t, err)
	assert.Len(t, docs, 2*Count, "two facts per explorer, 120 in all")
	assert.Equal(t, "explorer-01-born-in#3", docs[0].ID)
	assert.Equal(t, "explorer-01-born-in", docs[1].ID)
}
