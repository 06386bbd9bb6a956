package localmodel

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"City_17 has about 1967825 inhabitants.", []string{"City_17", " has", " about", " 1", "9", "6", "7", "8", "2", "5", " inhabitants", "."}},
		{"You're  fine\n\nOK?", []string{"You", "'", "re", " ", " fine", "\n", "\n", "OK", "?"}},
		{"[0]: \nx", []string{"[", "0", "]", ":", " ", "\n", "x"}},
		{"_a1 é día", []string{"_a1", " é", " día"}},
		{"trailing ", []string{"trailing", " "}},
		{"1,967,825", []string{"1", ",", "9", "6", "7", ",", "8", "2", "5"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Tokenize(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, len(got), CountTokens(tt.in))
		})
	}
}

func TestWords(t *testing.T) {
	assert.Equal(t, []string{"what", "is", "city_17", "don", "t", "1987"}, Words("What is City_17? Don't; 1987!"))
}

func FuzzTokenizeReversible(f *testing.F) {
	for _, s := range []string{"", "City_1 has about 519610 inhabitants.", "a  b\n\tc", "\xff\xfe x", " 12ab_c ?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := Tokenize(s)
		if got := strings.Join(toks, ""); got != s {
			t.Fatalf("Tokenize(%q) joins to %q", s, got)
		}
		for _, tok := range toks {
			if tok == "" {
				t.Fatalf("empty token in %q", s)
			}
			if n := utf8.RuneCountInString(strings.TrimPrefix(tok, " ")); n > 1 && strings.ContainsAny(tok, "0123456789") && !isWordStart([]rune(strings.TrimPrefix(tok, " "))[0]) {
				t.Fatalf("multi-digit token %q in %q", tok, s)
			}
		}
	})
}
