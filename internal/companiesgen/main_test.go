package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The committed knowledge base is this generator's output.
func TestGenerateMatchesTestdata(t *testing.T) {
	want, err := os.ReadFile("../../testdata/companies.jsonl")
	require.NoError(t, err)
	got, err := Generate(Count, 7)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "run: go run ./internal/companiesgen > testdata/companies.jsonl")
}
