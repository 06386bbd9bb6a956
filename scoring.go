package ragvsft

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Verdict is an Evaluator's judgement of one answer. It carries what was
// extracted so a report can show why an answer was judged wrong.
type Verdict struct {
	Correct bool `json:"correct"`
	// Extracted is what the evaluator read from the answer.
	Extracted string `json:"extracted"`
	// Expected is what it read from the gold answer.
	Expected string `json:"expected"`
	// Reason explains a wrong verdict in a few words.
	Reason string `json:"reason,omitempty"`
}

// Evaluator judges an answer against a question's gold answer.
//
// Implementations must be safe for concurrent use.
type Evaluator interface {
	Evaluate(ctx context.Context, q Question, answer string) (Verdict, error)
}

// NumericEvaluator is the article's rule made robust: it compares the first
// number of the answer with the first number of the gold answer, both read
// by ExtractNumber (see there for exactly what counts as a number).
//
// The zero value demands exact equality of the two values, which is the
// article's rule; RelTolerance accepts |got-want| <= RelTolerance*|want|
// (0.01 accepts 1% off). A negative or NaN RelTolerance is an error. A gold
// answer without a number is an error naming the question, since such a
// question cannot be scored this way; an answer without one is simply
// wrong ("no number in answer"). Verdict.Extracted and Verdict.Expected hold
// the two numbers in plain decimal notation ("1967825", "2.5"). ctx is not
// used: evaluation is pure computation. Safe for concurrent use.
type NumericEvaluator struct {
	// RelTolerance is the accepted relative error; 0 means exact equality.
	RelTolerance float64
}

var _ Evaluator = NumericEvaluator{}

// Evaluate compares the first number of answer with that of q.Gold.
func (e NumericEvaluator) Evaluate(_ context.Context, q Question, answer string) (Verdict, error) {
	if e.RelTolerance < 0 || math.IsNaN(e.RelTolerance) {
		return Verdict{}, fmt.Errorf("ragvsft: question %s: NumericEvaluator.RelTolerance must be >= 0, got %v", q.ID, e.RelTolerance)
	}
	want, _, ok := ExtractNumber(q.Gold)
	if !ok {
		return Verdict{}, fmt.Errorf("ragvsft: question %s: gold answer %q has no number", q.ID, q.Gold)
	}
	v := Verdict{Expected: formatNumber(want)}
	got, _, ok := ExtractNumber(answer)
	if !ok {
		v.Reason = "no number in answer"
		return v, nil
	}
	v.Extracted = formatNumber(got)
	if e.RelTolerance == 0 {
		v.Correct = got == want
	} else {
		v.Correct = math.Abs(got-want) <= e.RelTolerance*math.Abs(want)
	}
	if !v.Correct {
		v.Reason = fmt.Sprintf("got %s, want %s", v.Extracted, v.Expected)
	}
	return v, nil
}

func formatNumber(v float64) string {
	if v == 0 {
		return "0" // not "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// scales are the words ExtractNumber accepts after a number, as powers of ten.
var scales = map[string]int{"thousand": 3, "million": 6, "billion": 9, "trillion": 12}

// ExtractNumber finds the first number in s that stands as a word and
// returns its value and the text it was read from (a substring of s).
//
// What counts as a number:
//   - ASCII digits, optionally preceded by a sign ('+', '-' or U+2212 '−')
//     that follows a space, punctuation or the start of s.
//   - Thousands separators: a comma, an apostrophe (' or U+2019), a
//     no-break space (U+00A0, U+202F) or a thin space (U+2009), between
//     groups of exactly three
//     digits after a first group of one to three: "1,967,825",
//     "1 967 825". An ordinary space counts only when it separates at least
//     three groups ("1 967 825" is one number, "in 2023 100 people" is not
//     read as 2023100). One number uses one kind of separator.
//   - A decimal part: '.' followed by digits ("3.5"). The comma is never a
//     decimal separator, and a period not followed by a digit ends the
//     number, so the sentence's full stop in "1,967,825." is not part of it.
//   - An optional scale word after spaces: thousand, million, billion or
//     trillion, in any case ("2.5 million" is 2500000).
//
// A number glued to a letter, digit, underscore or mark on either side is not
// a number and is skipped: "City_17", "17th", "COVID-19" (a hyphen after a
// word glues too), "2.5M", "v1.2". So is a digit run that continues with
// '.', ',' or an apostrophe followed by a digit in a way the rules above do
// not accept ("1.2.3", "3,5", "1,9678"), and a number right after a period
// (".5" is not read as 5; write "0.5"). A value out of float64's range is
// skipped. ok is false when s holds no number.
func ExtractNumber(s string) (value float64, text string, ok bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (isASCIIDigit(r) || isSign(r) && i+size < len(s) && isASCIIDigit(rune(s[i+size]))) && numberMayStart(s, i) {
			if v, end, ok := parseNumber(s, i); ok {
				return v, s[i:end], true
			}
		}
		i += size
	}
	return 0, "", false
}

func isASCIIDigit(r rune) bool { return '0' <= r && r <= '9' }

func isSign(r rune) bool { return r == '-' || r == '+' || r == '−' }

// isWordRune reports whether r glues to a number next to it.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// isGroupSep reports whether r may separate groups of thousands.
func isGroupSep(r rune) bool {
	switch r {
	case ',', '\'', '’', ' ', '\u00a0', '\u202f', '\u2009':
		return true
	}
	return false
}

// numberMayStart reports whether a number may start at byte i of s: the
// rune before it must not glue to it.
func numberMayStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	p, size := utf8.DecodeLastRuneInString(s[:i])
	if isWordRune(p) || p == '.' {
		// A leading '.' would make ".5" read as 5.
		return false
	}
	// "1,9678", "1.2.3", "COVID-19": the rune before is a separator or a
	// hyphen that itself follows a word.
	if p == ',' || p == '\'' || p == '’' || isSign(p) {
		if pp, _ := utf8.DecodeLastRuneInString(s[:i-size]); i-size > 0 && isWordRune(pp) {
			return false
		}
	}
	return true
}

// parseNumber reads the number starting at byte i of s; see ExtractNumber.
func parseNumber(s string, i int) (value float64, end int, ok bool) {
	var num strings.Builder
	j := i
	if r, size := utf8.DecodeRuneInString(s[j:]); isSign(r) {
		if r != '+' {
			num.WriteByte('-')
		}
		j += size
	}
	digits := func(from int) int {
		k := from
		for k < len(s) && isASCIIDigit(rune(s[k])) {
			k++
		}
		return k
	}
	k := digits(j)
	num.WriteString(s[j:k])
	lead := k - j
	j = k

	if lead <= 3 && j < len(s) {
		if sep, size := utf8.DecodeRuneInString(s[j:]); isGroupSep(sep) {
			var groups strings.Builder
			k, n := j, 0
			for k+size+3 <= len(s) && strings.HasPrefix(s[k:], string(sep)) &&
				digits(k+size) == k+size+3 {
				groups.WriteString(s[k+size : k+size+3])
				k += size + 3
				n++
			}
			if n > 0 && (sep != ' ' || n >= 2) {
				num.WriteString(groups.String())
				j = k
			}
		}
	}
	if j+1 < len(s) && s[j] == '.' && isASCIIDigit(rune(s[j+1])) {
		k := digits(j + 1)
		num.WriteString(s[j:k])
		j = k
	}

	// The number must end as a word ends.
	if j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if isWordRune(r) {
			return 0, 0, false
		}
		if (r == '.' || r == ',' || r == '\'' || r == '’') && j+size < len(s) && isASCIIDigit(rune(s[j+size])) {
			return 0, 0, false
		}
	}

	// An optional scale word: "2.5 million".
	exp := 0
	k = j
	for k < len(s) {
		r, size := utf8.DecodeRuneInString(s[k:])
		if r != ' ' && r != '\u00a0' && r != '\u202f' && r != '\u2009' {
			break
		}
		k += size
	}
	if k > j {
		w := k
		for w < len(s) {
			r, size := utf8.DecodeRuneInString(s[w:])
			if !unicode.IsLetter(r) {
				break
			}
			w += size
		}
		if p, ok := scales[strings.ToLower(s[k:w])]; ok && w > k {
			if r, _ := utf8.DecodeRuneInString(s[w:]); w == len(s) || !isWordRune(r) {
				exp, j = p, w
			}
		}
	}
	if exp > 0 {
		num.WriteString("e" + strconv.Itoa(exp))
	}
	v, err := strconv.ParseFloat(num.String(), 64)
	if err != nil {
		return 0, 0, false
	}
	return v, j, true
}

// ExactEvaluator judges an answer correct when it equals the gold answer
// after both are normalized:
//   - simple Unicode case folding, rune by rune ("STRASSE" equals
//     "strasse", but not "straße": no full folding, no accent stripping and
//     no Unicode normalization, so precomposed and combining accents differ);
//   - runs of whitespace collapsed to one space;
//   - sentence punctuation, quotes, brackets and Markdown emphasis ('*',
//     '_') trimmed from both ends: `"Paris."` and `**Paris**` equal "Paris";
//   - one leading English article ("a", "an", "the") removed, so "The
//     Hague" equals "Hague"; articles inside are kept.
//
// Verdict.Extracted and Verdict.Expected hold the normalized answer and gold.
// A gold answer that normalizes to nothing is an error naming the question.
// ctx is not used. Safe for concurrent use.
type ExactEvaluator struct{}

var _ Evaluator = ExactEvaluator{}

// Evaluate compares the normalized answer with the normalized gold answer.
func (ExactEvaluator) Evaluate(_ context.Context, q Question, answer string) (Verdict, error) {
	want := normalizeAnswer(q.Gold)
	if want == "" {
		return Verdict{}, fmt.Errorf("ragvsft: question %s: gold answer %q is empty after normalization", q.ID, q.Gold)
	}
	got := normalizeAnswer(answer)
	v := Verdict{Correct: got == want, Extracted: got, Expected: want}
	if !v.Correct {
		v.Reason = fmt.Sprintf("got %q, want %q", got, want)
	}
	return v, nil
}

// ContainsEvaluator judges an answer correct when the normalized gold answer
// (normalized as by ExactEvaluator) occurs in the normalized answer as whole
// words: gold "Paris" is in "The capital is Paris, of course." but gold "1"
// is not in "1967825" and "par" is not in "Paris".
//
// Verdict.Extracted holds the matched text, or "" when there is none, and
// Verdict.Expected the normalized gold. A gold answer that normalizes to
// nothing is an error naming the question. ctx is not used. Safe for
// concurrent use.
type ContainsEvaluator struct{}

var _ Evaluator = ContainsEvaluator{}

// Evaluate looks for the normalized gold answer in the normalized answer.
func (ContainsEvaluator) Evaluate(_ context.Context, q Question, answer string) (Verdict, error) {
	want := normalizeAnswer(q.Gold)
	if want == "" {
		return Verdict{}, fmt.Errorf("ragvsft: question %s: gold answer %q is empty after normalization", q.ID, q.Gold)
	}
	v := Verdict{Expected: want}
	if containsWords(normalizeAnswer(answer), want) {
		v.Correct, v.Extracted = true, want
	} else {
		v.Reason = fmt.Sprintf("answer does not contain %q", want)
	}
	return v, nil
}

// containsWords reports whether sub occurs in s without being glued to a
// word rune on a side where sub itself begins or ends with one.
func containsWords(s, sub string) bool {
	first, _ := utf8.DecodeRuneInString(sub)
	last, _ := utf8.DecodeLastRuneInString(sub)
	for from := 0; from <= len(s)-len(sub); {
		i := strings.Index(s[from:], sub)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(sub)
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[end:])
		okBefore := i == 0 || !isWordRune(first) || !isWordRune(before)
		okAfter := end == len(s) || !isWordRune(last) || !isWordRune(after)
		if okBefore && okAfter {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		from = i + size
	}
	return false
}

// normalizeAnswer applies ExactEvaluator's normalization.
func normalizeAnswer(s string) string {
	s = strings.Map(func(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }, s)
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimFunc(s, isTrimmed)
	for _, article := range []string{"the ", "a ", "an "} {
		if rest, ok := strings.CutPrefix(s, article); ok && rest != "" {
			s = strings.TrimFunc(rest, isTrimmed)
			break
		}
	}
	return s
}

// isTrimmed reports whether normalizeAnswer trims r from the ends.
func isTrimmed(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(`.,;:!?…"'`+"`‘’“”„«»‹›()[]{}*_", r)
}

// AutoEvaluator scores each question by the kind of its gold answer: with
// Numeric when the gold answer holds a number (as ExtractNumber reads it),
// and with Text otherwise. It suits knowledge bases that mix numeric facts
// ("founded in 1918") with names and places, where NumericEvaluator alone
// would reject the questions without a number.
//
// The zero value uses NumericEvaluator{} (exact) and ContainsEvaluator.
// Safe for concurrent use if Text is.
type AutoEvaluator struct {
	// Numeric scores questions whose gold answer holds a number.
	Numeric NumericEvaluator
	// Text scores the others; nil means ContainsEvaluator{}.
	Text Evaluator
}

var _ Evaluator = AutoEvaluator{}

// Evaluate delegates to Numeric or Text, as the gold answer asks.
func (e AutoEvaluator) Evaluate(ctx context.Context, q Question, answer string) (Verdict, error) {
	if _, _, ok := ExtractNumber(q.Gold); ok {
		return e.Numeric.Evaluate(ctx, q, answer)
	}
	if e.Text == nil {
		return ContainsEvaluator{}.Evaluate(ctx, q, answer)
	}
	return e.Text.Evaluate(ctx, q, answer)
}
