package localmodel

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tiktoken-go/tokenizer"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"City_17 has about 1967825 inhabitants.", []string{"City", "_", "17", " has", " about", " ", "196", "782", "5", " inhabitants", "."}},
		{"You're  fine\n\nOK?", []string{"You", "'", "re", " ", " fine", "\n", "\n", "OK", "?"}},
		{"[0]: \nx", []string{"[", "0", "]", ":", " ", "\n", "x"}},
		{"_a1 é día", []string{"_", "a", "1", " é", " día"}},
		{"WE-6436-O Thing_99", []string{"WE", "-", "643", "6", "-", "O", " Thing", "_", "99"}},
		{"trailing ", []string{"trailing", " "}},
		{"1,967,825", []string{"1", ",", "967", ",", "825"}},
		{"£82.31 12ab", []string{"£", "82", ".", "31", " ", "12", "ab"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Tokenize(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, len(got), CountTokens(tt.in))
		})
	}
}

// Numbers are cut as OpenAI's tokenizers cut them: every digit token of
// ours is a token of cl100k_base and o200k_base at the same place.
func TestTokenizeDigitsAsGPT(t *testing.T) {
	texts := []string{
		"City_53 has about 5807226 inhabitants.",
		"Tearkbour Analytics was founded in 1918.",
		"The Wetglur Tent sells for £82.31.",
		"In Kilwuningen leben 1.563.887 Menschen, am 23. Mai 1198.",
		"It is 3224.2 km long and 50.4 m deep; code WE-6436-O.",
	}
	for _, enc := range []tokenizer.Encoding{tokenizer.Cl100kBase, tokenizer.O200kBase} {
		codec, err := tokenizer.Get(enc)
		require.NoError(t, err)
		for _, s := range texts {
			_, theirs, err := codec.Encode(s)
			require.NoError(t, err)
			var ourDigits, theirDigits []string
			for _, tok := range Tokenize(s) {
				if isDigit(rune(tok[0])) {
					ourDigits = append(ourDigits, tok)
				}
			}
			for _, tok := range theirs {
				if tok != "" && isDigit(rune(tok[0])) {
					theirDigits = append(theirDigits, tok)
				}
			}
			assert.Equal(t, theirDigits, ourDigits, "%s: %q", enc, s)
		}
	}
}

func TestWords(t *testing.T) {
	assert.Equal(t, []string{"what", "is", "city_17", "don", "t", "1987"}, Words("What is City_17? Don't; 1987!"))
}

func FuzzTokenizeReversible(f *testing.F) {
	for _, s := range []string{"", "City_1 has about 519610 inhabitants.", "a  b\n\tc", "\xff\xfe x", " 12ab_c ?", "1234567"} {
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
			if r, _ := utf8.DecodeRuneInString(tok); isDigit(r) && (len(tok) > maxDigits || strings.Trim(tok, "0123456789") != "") {
				t.Fatalf("digit token %q in %q is not 1 to 3 digits", tok, s)
			}
		}
	})
}

// tokenizeBenchText is a RAG prompt of the cities, the largest text the
// local model tokenizes.
var tokenizeBenchText = strings.Repeat("[0]: \nCity_17 has about 1967825 inhabitants.\n\n", 5) +
	"Answer the following QUESTION based on the CONTEXT only. QUESTION: What is the population of City_17?"

func BenchmarkTokenize(b *testing.B) {
	b.SetBytes(int64(len(tokenizeBenchText)))
	for b.Loop() {
		Tokenize(tokenizeBenchText)
	}
}

func BenchmarkTokenizeTiktokenO200k(b *testing.B) {
	codec, err := tokenizer.Get(tokenizer.O200kBase)
	require.NoError(b, err)
	b.SetBytes(int64(len(tokenizeBenchText)))
	for b.Loop() {
		_, _, _ = codec.Encode(tokenizeBenchText)
	}
}
