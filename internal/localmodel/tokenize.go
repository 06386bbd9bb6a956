// Package localmodel is the algorithm behind ragvsft's embedded local model:
// a GPT-like reversible tokenizer, a hashed log-linear neural language model
// trained by minibatch SGD (the parametric memory), and an extractive reader
// over the passages of a prompt. The public adapters live in ragvsft's
// local.go; this package knows nothing of any dataset or prompt wording.
package localmodel

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokenize splits s into reversible tokens, GPT style: a token carries the
// single space that precedes it. A word starts with a letter or underscore
// and continues with letters, digits and underscores ("City_17" is one
// token); every digit is its own token, so a number is spelt digit by digit;
// any other character is its own token, and whitespace not glued to the
// token after it stands alone. strings.Join(Tokenize(s), "") == s.
func Tokenize(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		start := i
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == ' ' && i+n < len(s) {
			next, nn := utf8.DecodeRuneInString(s[i+n:])
			if !unicode.IsSpace(next) {
				i += n
				r, n = next, nn
			}
		}
		i += n
		if isWordStart(r) {
			for i < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[i:])
				if !isWordStart(r2) && !unicode.IsDigit(r2) {
					break
				}
				i += n2
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

func isWordStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r)
}

// Words returns the lower-cased words of s: maximal runs of letters, digits
// and underscores. It is how the model and the reader see a user message.
func Words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r))
	})
}
