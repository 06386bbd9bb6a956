package answer

import (
	"strings"
	"unicode"
)

// articles are removed by Normalize: English (as SQuAD does), and German
// and Spanish (as MLQA's evaluation does), plus French.
var articles = wordSet("a an the " +
	"der die das des dem den ein eine einer eines einem einen " +
	"el la lo los las un una unos unas " +
	"le les l une du")

// stopwords are the function words Core drops besides the question's
// words: forms of "to be", prepositions, conjunctions and pronouns, in
// English, German, French and Spanish. Articles are gone already.
var stopwords = wordSet("is are was were be been being am has have had do does did of in on at to for from by with " +
	"and or as it its this that these those there here which who whom what when where how " +
	"ist sind war waren wurde wurden wird werden hat haben im am um an auf aus bei mit von vom zu zum zur und oder " +
	"es er sie liegt beträgt " +
	"est sont était été a au aux de des et ou en dans sur par pour il elle " +
	"es son era fue fueron y o en del al por para con su")

func wordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// Normalize is SQuAD's answer normalization: lower case (Unicode simple
// folding), punctuation removed (every Unicode punctuation rune, where
// SQuAD removes ASCII's), articles removed (English a, an, the, and
// German, Spanish and French articles, as MLQA does for its languages),
// whitespace collapsed. Accents and other letters are kept as written:
// "Köln" is not "Koln".
func Normalize(s string) string {
	return strings.Join(Tokens(s), " ")
}

// Tokens returns Normalize's words.
func Tokens(s string) []string {
	toks := tokens(s)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.text
	}
	return out
}

// token is a normalized word and whether it was written like a name: with
// a capital letter or a digit.
type token struct {
	text string
	name bool
}

// tokens normalizes s word by word. Removing punctuation never joins or
// splits words, so this is SQuAD's normalization.
func tokens(s string) []token {
	var out []token
	for _, f := range strings.Fields(s) {
		name := false
		t := strings.Map(func(r rune) rune {
			if unicode.IsPunct(r) {
				return -1
			}
			name = name || unicode.IsUpper(r) || unicode.IsDigit(r)
			return unicode.ToLower(unicode.ToUpper(r))
		}, f)
		if t != "" && !articles[t] {
			out = append(out, token{t, name})
		}
	}
	return out
}

// F1 is SQuAD's token F1 of an answer's tokens against the gold's: the
// harmonic mean of the share of the answer's tokens that are in the gold
// (each counted as often as both hold it) and the share of the gold's that
// are in the answer. Two empty lists score 1, one empty list 0.
func F1(answer, gold []string) float64 {
	if len(answer) == 0 || len(gold) == 0 {
		if len(answer) == len(gold) {
			return 1
		}
		return 0
	}
	counts := map[string]int{}
	for _, t := range gold {
		counts[t]++
	}
	common := 0
	for _, t := range answer {
		if counts[t] > 0 {
			counts[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	p := float64(common) / float64(len(answer))
	r := float64(common) / float64(len(gold))
	return 2 * p * r / (p + r)
}

// Core returns the words of text that say something the question does not:
// text's words less the question's and the stopwords. For the answer "It
// was Kexsox Houcourklend, I think." to "Who founded Tearkbour Analytics?"
// it is [kexsox houcourklend i think].
func Core(text, question string) []string {
	var out []string
	for _, t := range core(text, question) {
		out = append(out, t.text)
	}
	return out
}

func core(text, question string) []token {
	asked := map[string]bool{}
	for _, t := range Tokens(question) {
		asked[t] = true
	}
	var out []token
	for _, t := range tokens(text) {
		if !asked[t.text] && !stopwords[t.text] {
			out = append(out, t)
		}
	}
	return out
}

// Key returns the words of a gold answer that an answer must give: its Core,
// narrowed to the words written like names (with a capital or a digit) when
// it has any. For the gold sentence "Tearkbour Analytics is based in Lake
// Saxmai." asked "Where is Tearkbour Analytics headquartered?" the core is
// [based lake saxmai] and the key [lake saxmai]: the span a reader would
// underline. It is empty when the question gives every word of the gold.
func Key(gold, question string) []string {
	c := core(gold, question)
	var names, all []string
	for _, t := range c {
		all = append(all, t.text)
		if t.name {
			names = append(names, t.text)
		}
	}
	if len(names) > 0 {
		return names
	}
	return all
}

// ContainsSpan reports whether span occurs in tokens, contiguously.
func ContainsSpan(tokens, span []string) bool {
	if len(span) == 0 {
		return false
	}
outer:
	for i := 0; i+len(span) <= len(tokens); i++ {
		for j, t := range span {
			if tokens[i+j] != t {
				continue outer
			}
		}
		return true
	}
	return false
}
