package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The committed knowledge bases are the generator's output.
func TestGenerateMatchesTestdata(t *testing.T) {
	for name, gen := range Generators {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("../../testdata", name))
			require.NoError(t, err)
			wantQuestions, err := os.ReadFile(filepath.Join("../../testdata", QuestionsFile(name)))
			require.NoError(t, err)
			got, questions, err := gen(Seed)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "run: go run ./internal/kbgen -dir testdata")
			assert.Equal(t, string(wantQuestions), string(questions), "run: go run ./internal/kbgen -dir testdata")
			assert.Equal(t, strings.Count(string(got), "\n"), strings.Count(string(questions), "\n"), "a held-out question for every fact")
			assert.GreaterOrEqual(t, strings.Count(string(got), "\n"), 60, "at least 60 facts")
		})
	}
}

func TestOrdinalAndDots(t *testing.T) {
	for d, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 22: "22nd", 23: "23rd"} {
		assert.Equal(t, want, ordinal(d))
	}
	assert.Equal(t, "1.234.567", dots(1234567))
	assert.Equal(t, "999", dots(999))
	assert.Equal(t, "1.000", dots(1000))
}
