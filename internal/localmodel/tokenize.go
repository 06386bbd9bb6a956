// Package localmodel is the algorithm behind ragvsft's embedded local model:
// a GPT-like reversible tokenizer, a hashed log-linear neural language model
// with a copy mechanism, trained by minibatch SGD (the parametric memory),
// and an extractive reader over the passages of a prompt. The public
// adapters live in ragvsft's local.go; this package knows nothing of any
// dataset or prompt wording.
package localmodel

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDigits is the longest run of digits in one token, as in OpenAI's
// cl100k_base and o200k_base pre-tokenizers (\p{N}{1,3}).
const maxDigits = 3

// Tokenize splits s into reversible tokens, GPT style: a token carries the
// single space that precedes it. A word is a run of letters, as in OpenAI's
// cl100k_base and o200k_base pre-tokenizers (\p{L}+): "City_17" is the three
// tokens "City", "_" and "17", as GPT cuts it, so that a vocabulary of names
// made of shared pieces does not grow with the number of names. A number is
// split as those tokenizers split it: runs of up to three digits from the
// left ("1967825" is "196", "782", "5"), and the space before a number is a
// token of its own. Any other character is its own token, and whitespace
// not glued to the token after it stands alone. Unlike GPT's BPE, a word is
// never cut further: a knowledge base of made-up one-word names still adds
// a token per name.
// strings.Join(Tokenize(s), "") == s.
func Tokenize(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		start := i
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == ' ' && i+n < len(s) {
			next, nn := utf8.DecodeRuneInString(s[i+n:])
			if !unicode.IsSpace(next) && !isDigit(next) {
				i += n
				r, n = next, nn
			}
		}
		i += n
		switch {
		case unicode.IsLetter(r):
			for i < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[i:])
				if !unicode.IsLetter(r2) {
					break
				}
				i += n2
			}
		case isDigit(r):
			for d := 1; d < maxDigits && i < len(s) && isDigit(rune(s[i])); d++ {
				i++
			}
		}
		toks = append(toks, s[start:i])
	}
	return toks
}

// CountTokens returns len(Tokenize(s)) without building the tokens.
func CountTokens(s string) int {
	return len(Tokenize(s))
}

// isDigit reports an ASCII digit: only those are grouped, so a digit
// token is always 1 to 3 bytes.
func isDigit(r rune) bool {
	return '0' <= r && r <= '9'
}

// Words returns the lower-cased words of s: maximal runs of letters, digits
// and underscores. It is how the model and the reader see a user message.
func Words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r))
	})
}
