package ragvsft

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ragvsft/ragvsft/internal/answer"
)

// Verdict is an Evaluator's judgement of one answer. It carries what was
// compared so a report can show why an answer was judged wrong.
type Verdict struct {
	Correct bool `json:"correct"`
	// Type is the kind of answer that was compared: "date", "money",
	// "percentage", "quantity", "year", "number" or "text"; "judge" from a
	// JudgeEvaluator; "" from an Evaluator that does not say.
	Type string `json:"type,omitempty"`
	// Extracted is what the evaluator read from the answer, canonically
	// written ("1905-03-11", "EUR 12.5", "3.2 km", a normalized text); ""
	// when the answer held nothing of the gold's type.
	Extracted string `json:"extracted"`
	// Expected is what it read from the gold answer, written alike.
	Expected string `json:"expected"`
	// Reason explains a wrong verdict in a few words, naming the values;
	// a judge's reason explains any verdict.
	Reason string `json:"reason,omitempty"`
	// F1 is the token F1 a text verdict rests on (see TextEvaluator); 0
	// for other types.
	F1 float64 `json:"f1,omitempty"`
	// Alias is the alias of the question (Question.Aliases) the answer
	// matched, when it did not match the gold answer; Expected is then
	// read from the alias. "" when the gold answer matched or none did.
	Alias string `json:"alias,omitempty"`
	// Judge is the model call of a judge's verdict (JudgeEvaluator); nil
	// for the rule-based evaluators, which call nothing.
	Judge *JudgeCall `json:"judge,omitempty"`
}

// Evaluator judges an answer against a question's gold answer.
//
// Implementations must be safe for concurrent use. An Evaluator that can
// tell before any model is asked whether it can score a question should
// also implement GoldChecker.
type Evaluator interface {
	Evaluate(ctx context.Context, q Question, answer string) (Verdict, error)
}

// GoldChecker is implemented by an Evaluator that can tell, from the
// question alone, whether it can score it: Experiment.Run asks it about
// every question before anything is indexed, trained or asked, and stops
// with every question it cannot score (see ErrUnreadableGold), so a
// mismatch of evaluator and knowledge base costs nothing. The evaluators
// of this package implement it.
type GoldChecker interface {
	// CheckGold returns nil if the evaluator can score q, else an error
	// saying why in terms of the gold answer, without the question's id
	// (Run adds the line or id): `gold answer "Paris" has no number`.
	CheckGold(q Question) error
}

// ErrUnreadableGold is wrapped, together with a *ValidationError listing the
// questions, by Experiment.Run when the Evaluator cannot score some of them.
var ErrUnreadableGold = errors.New("ragvsft: the evaluator cannot score some questions' gold answers; nothing was asked")

// checkGolds asks a GoldChecker evaluator about every question. A question
// is named by its line: the training example's, or the questions file's
// under WithQuestions.
func checkGolds(ev Evaluator, ds Dataset, questions []Question) error {
	gc, ok := ev.(GoldChecker)
	if !ok {
		return nil
	}
	file, lines := questionOrigin(ds)
	var ps problems
	for _, q := range questions {
		if err := gc.CheckGold(q); err != nil {
			ps.add(Problem{Line: lines[q.ID], ID: q.ID, Message: err.Error()})
		}
	}
	if !ps.any() {
		return nil
	}
	return fmt.Errorf("%w (%T): %w", ErrUnreadableGold, ev, ps.err(file))
}

// Every evaluator of this package accepts a question's aliases: it judges
// the answer against the gold answer, then against each alias in turn, as
// if it were the gold, and the first that matches makes it correct
// (Verdict.Alias names it). A wrong verdict is the gold answer's.

// withAliases scores with one, which judges against q.Gold alone, the gold
// answer and then each alias of q.
func withAliases(q Question, one func(Question) (Verdict, error)) (Verdict, error) {
	aliases := q.Aliases
	q.Aliases = nil
	v, err := one(q)
	if err != nil || v.Correct || len(aliases) == 0 {
		return v, err
	}
	for _, a := range aliases {
		qa := q
		qa.Gold = a
		va, err := one(qa)
		if err != nil {
			return Verdict{}, fmt.Errorf("alias %q: %w", a, err)
		}
		if va.Correct {
			va.Alias = a
			return va, nil
		}
	}
	v.Reason += fmt.Sprintf("; nor any of %d aliases", len(aliases))
	return v, nil
}

// checkAliases checks with check, which checks q.Gold alone, the gold
// answer and every alias of q: an alias the evaluator cannot read would
// never match.
func checkAliases(q Question, check func(Question) error) error {
	aliases := q.Aliases
	q.Aliases = nil
	if err := check(q); err != nil {
		return err
	}
	for _, a := range aliases {
		qa := q
		qa.Gold = a
		if err := check(qa); err != nil {
			return fmt.Errorf("alias %q: %w", a, err)
		}
	}
	return nil
}

// NumericEvaluator is the article's rule made robust: it compares the first
// number of the answer with the first number of the gold answer, both read
// by ExtractNumber (see there for exactly what counts as a number), whatever
// they stand for. AutoEvaluator instead compares dates with dates, money
// with money and so on.
//
// The zero value demands exact equality of the two values, which is the
// article's rule; RelTolerance accepts |got-want| <= RelTolerance*|want|
// (0.01 accepts 1% off). A negative or NaN RelTolerance is an error. A gold
// answer without a number cannot be scored (CheckGold says so before a run
// spends anything); an answer without one is simply wrong ("no number in
// answer"). Verdict.Type is "number", Verdict.Extracted and Verdict.Expected
// hold the two numbers in plain decimal notation ("1967825", "2.5"). ctx is
// not used: evaluation is pure computation. Safe for concurrent use.
type NumericEvaluator struct {
	// RelTolerance is the accepted relative error; 0 means exact equality.
	RelTolerance float64
}

var (
	_ Evaluator   = NumericEvaluator{}
	_ GoldChecker = NumericEvaluator{}
)

// CheckGold reports whether q.Gold and every alias hold a number and
// RelTolerance is valid.
func (e NumericEvaluator) CheckGold(q Question) error { return checkAliases(q, e.checkGold) }

func (e NumericEvaluator) checkGold(q Question) error {
	if e.RelTolerance < 0 || math.IsNaN(e.RelTolerance) {
		return fmt.Errorf("NumericEvaluator.RelTolerance must be >= 0, got %v", e.RelTolerance)
	}
	if _, _, ok := ExtractNumber(q.Gold); !ok {
		return fmt.Errorf("gold answer %q has no number", q.Gold)
	}
	return nil
}

// Evaluate compares the first number of answer with that of q.Gold, then
// of each alias.
func (e NumericEvaluator) Evaluate(_ context.Context, q Question, answer string) (Verdict, error) {
	return withAliases(q, func(q Question) (Verdict, error) { return e.evaluate(q, answer) })
}

func (e NumericEvaluator) evaluate(q Question, answer string) (Verdict, error) {
	if err := e.checkGold(q); err != nil {
		return Verdict{}, fmt.Errorf("ragvsft: question %s: %w", q.ID, err)
	}
	want, _, _ := ExtractNumber(q.Gold)
	v := Verdict{Type: "number", Expected: formatNumber(want)}
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

func formatNumber(v float64) string { return answer.FormatNumber(v) }

// ExtractNumber finds the first number in s that stands as a word and
// returns its value and the text it was read from (a substring of s).
//
// What counts as a number:
//   - ASCII digits, optionally preceded by a sign ('+', '-' or U+2212 '−')
//     that follows a space, punctuation or the start of s.
//   - Thousands groups: after a first group of one to three digits, groups
//     of exactly three digits behind one kind of separator: a comma, an
//     apostrophe (' or U+2019), a no-break space (U+00A0, U+202F), a thin
//     space (U+2009), an ordinary space or a period: "1,967,825", "1 967
//     825", "1.967.825". An ordinary space counts only when it separates at
//     least three groups ("in 2023 100 people" is not read as 2023100), a
//     period only when it separates at least three groups or a decimal
//     comma follows ("1.967,5").
//   - A decimal part: a period or a comma (not the group separator)
//     followed by digits: "3.5", "3,5", "12,50". A comma followed by
//     exactly three digits after one to three digits is a thousands group,
//     so the ambiguous "1,967" is 1967 and "1.967" is 1.967, as in English;
//     every other European form reads as in Europe. A period not followed
//     by a digit ends the number, so the full stop in "1,967,825." is not
//     part of it.
//   - An optional scale word after spaces: thousand, million, billion or
//     trillion, or the German, French and Spanish words (Tausend, Mio.,
//     Millionen, Mrd., Milliarden, milliards, millones), in any case
//     ("2.5 million" is 2500000).
//
// A number glued to a letter, digit, underscore or mark on either side is not
// a number and is skipped: "City_17", "17th", "COVID-19" (a hyphen after a
// word glues too), "2.5M", "v1.2". So is a digit run that continues with
// '.', ',' or an apostrophe followed by a digit in a way the rules above do
// not accept ("1.2.3", "11.03.1905"), and a number right after a period
// (".5" is not read as 5; write "0.5"). A value out of float64's range is
// skipped. ok is false when s holds no number.
func ExtractNumber(s string) (value float64, text string, ok bool) {
	n, ok := answer.FirstNumber(s)
	if !ok {
		return 0, "", false
	}
	return n.Value, s[n.Start:n.End], true
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
// Verdict.Type is "text"; Verdict.Extracted and Verdict.Expected hold the
// normalized answer and gold. A gold answer that normalizes to nothing
// cannot be scored (see CheckGold). ctx is not used. Safe for concurrent
// use.
type ExactEvaluator struct{}

var (
	_ Evaluator   = ExactEvaluator{}
	_ GoldChecker = ExactEvaluator{}
)

// CheckGold reports whether q.Gold and every alias have something left
// after normalization.
func (ExactEvaluator) CheckGold(q Question) error { return checkAliases(q, checkNormalizedGold) }

func checkNormalizedGold(q Question) error {
	if normalizeAnswer(q.Gold) == "" {
		return fmt.Errorf("gold answer %q is empty after normalization", q.Gold)
	}
	return nil
}

// Evaluate compares the normalized answer with the normalized gold answer,
// then with each normalized alias.
func (e ExactEvaluator) Evaluate(_ context.Context, q Question, answer string) (Verdict, error) {
	return withAliases(q, func(q Question) (Verdict, error) { return e.evaluate(q, answer) })
}

func (ExactEvaluator) evaluate(q Question, answer string) (Verdict, error) {
	if err := checkNormalizedGold(q); err != nil {
		return Verdict{}, fmt.Errorf("ragvsft: question %s: %w", q.ID, err)
	}
	want := normalizeAnswer(q.Gold)
	got := normalizeAnswer(answer)
	v := Verdict{Type: "text", Correct: got == want, Extracted: got, Expected: want}
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
// Verdict.Type is "text", Verdict.Extracted holds the matched text, or ""
// when there is none, and Verdict.Expected the normalized gold. A gold
// answer that normalizes to nothing cannot be scored (see CheckGold). ctx is
// not used. Safe for concurrent use.
type ContainsEvaluator struct{}

var (
	_ Evaluator   = ContainsEvaluator{}
	_ GoldChecker = ContainsEvaluator{}
)

// CheckGold reports whether q.Gold and every alias have something left
// after normalization.
func (ContainsEvaluator) CheckGold(q Question) error { return checkAliases(q, checkNormalizedGold) }

// Evaluate looks for the normalized gold answer in the normalized answer,
// then for each normalized alias.
func (e ContainsEvaluator) Evaluate(_ context.Context, q Question, answer string) (Verdict, error) {
	return withAliases(q, func(q Question) (Verdict, error) { return e.evaluate(q, answer) })
}

func (ContainsEvaluator) evaluate(q Question, answer string) (Verdict, error) {
	if err := checkNormalizedGold(q); err != nil {
		return Verdict{}, fmt.Errorf("ragvsft: question %s: %w", q.ID, err)
	}
	want := normalizeAnswer(q.Gold)
	v := Verdict{Type: "text", Expected: want}
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

// DefaultF1Threshold is TextEvaluator's threshold when its own is 0.
const DefaultF1Threshold = 0.8

// TextEvaluator scores text answers as SQuAD does, made fit for gold
// answers written as whole sentences. Both texts are normalized as SQuAD
// normalizes (lower case, punctuation removed, the articles a, an, the
// removed, whitespace collapsed; for other languages every Unicode
// punctuation rune is removed, and the German, Spanish and French articles
// too, as MLQA does; accents are kept, so "Köln" is not "Koln"). The gold's
// key is what the answer must give: the gold's words the question does not
// give, less function words (English, German, French, Spanish), narrowed to
// those written like names (with a capital or a digit) when there are any.
// For the gold "Tearkbour Analytics is based in Lake Saxmai." asked "Where
// is Tearkbour Analytics headquartered?" the key is "lake saxmai". An
// answer is correct when
//
//  1. it equals the gold answer (SQuAD's exact match), or
//  2. it contains the whole normalized gold answer, as whole words, or
//  3. it contains the key, contiguous and in order: "Lake Saxmai." is
//     right, and so is "It has its headquarters in Lake Saxmai", or
//  4. the token F1 of its own words (less the question's and function
//     words) against the key is at least Threshold; against the whole
//     normalized gold when the question gives every word of the gold.
//
// Verdict.Type is "text", Extracted and Expected hold the normalized answer
// and gold, F1 the token F1 of rule 4 (1 for an exact match), and a wrong
// verdict's Reason the words compared. A gold answer with no word left
// after normalization cannot be scored (see CheckGold). Like the numeric
// rule, it judges the value stated, not which entity the answer names. A
// paraphrase that shares no words with the gold is judged wrong: that needs
// a judge. The zero value uses DefaultF1Threshold. ctx is not used. Safe
// for concurrent use.
type TextEvaluator struct {
	// Threshold is the least F1 accepted, in (0, 1]; 0 means
	// DefaultF1Threshold.
	Threshold float64
}

var (
	_ Evaluator   = TextEvaluator{}
	_ GoldChecker = TextEvaluator{}
)

// CheckGold reports whether q.Gold and every alias have words left after
// normalization and Threshold is valid.
func (e TextEvaluator) CheckGold(q Question) error { return checkAliases(q, e.checkGold) }

func (e TextEvaluator) checkGold(q Question) error {
	if e.Threshold < 0 || e.Threshold > 1 || math.IsNaN(e.Threshold) {
		return fmt.Errorf("TextEvaluator.Threshold must be in [0, 1], got %v", e.Threshold)
	}
	if len(answer.Tokens(q.Gold)) == 0 {
		return fmt.Errorf("gold answer %q has no words after normalization", q.Gold)
	}
	return nil
}

// Evaluate scores answer against q.Gold by the four rules above, then
// against each alias.
func (e TextEvaluator) Evaluate(_ context.Context, q Question, reply string) (Verdict, error) {
	return withAliases(q, func(q Question) (Verdict, error) { return e.evaluate(q, reply) })
}

func (e TextEvaluator) evaluate(q Question, reply string) (Verdict, error) {
	if err := e.checkGold(q); err != nil {
		return Verdict{}, fmt.Errorf("ragvsft: question %s: %w", q.ID, err)
	}
	threshold := cmp.Or(e.Threshold, DefaultF1Threshold)
	gold, got := answer.Tokens(q.Gold), answer.Tokens(reply)
	v := Verdict{Type: "text", Extracted: strings.Join(got, " "), Expected: strings.Join(gold, " ")}
	key := answer.Key(q.Gold, q.Text)
	gotCore := answer.Core(reply, q.Text)
	if len(key) > 0 {
		v.F1 = answer.F1(gotCore, key)
	} else {
		v.F1 = answer.F1(got, gold)
	}
	switch {
	case v.Extracted == v.Expected:
		v.Correct, v.F1 = true, 1
	case answer.ContainsSpan(got, gold), answer.ContainsSpan(got, key):
		v.Correct = true
	case v.F1 >= threshold:
		v.Correct = true
	case len(key) > 0:
		v.Reason = fmt.Sprintf("F1 %.2f < %.2f: the answer's %q against the gold's key %q",
			v.F1, threshold, strings.Join(gotCore, " "), strings.Join(key, " "))
	default:
		v.Reason = fmt.Sprintf("F1 %.2f < %.2f against the whole gold answer", v.F1, threshold)
	}
	return v, nil
}

// AutoEvaluator scores each question by the type of its gold answer, read by
// the typed extraction of internal/answer: the gold's value of the greatest
// precedence among date > money > percentage > quantity (a number with a
// unit) > year > plain number, else text (scored by Text). The answer's
// first value of that type (else the first that can stand in for one: a
// year for a date or a number, an integer for a year) is compared with it,
// like with like:
//
//   - date: a date or a year; every part the gold gives (day, month, year)
//     must be given and equal, so "born on 11 1905" is wrong for "born on 11
//     March 1974" (no month, year 1905). Forms read: "11 March 1905",
//     "March 11, 1905", "1905-03-11", "11.03.1905" (always day first;
//     years have four digits),
//     "11/03/1905" (day first unless only month first can be; when both
//     can, either reading matches), "am 11. März 1905", French and Spanish
//     month names, month and year ("March 1905").
//   - money: the same currency ("$69.99" is USD 69.99, "€12,50" and "12,50
//     EUR" are EUR 12.5, "USD 3 million"); the amounts equal.
//   - percentage: "12%", "12 percent", "12 Prozent"; a bare 12 is wrong.
//   - quantity: a number with a unit of the same dimension, converted to
//     the gold's unit ("3.2 km" equals "3200 m" and "3,2 km"; a number
//     without a unit is wrong).
//   - year: a four-digit year, a date's year or an integer ("1918" is right
//     for "X was founded in 1918.").
//   - number: a number as ExtractNumber reads it, once dates, money and
//     the rest are taken out ("In 2023 it had 1,967,825" gives 1967825).
//
// Amounts (money, percentages, quantities, numbers) must be equal, or
// within RelTolerance; years and dates always exactly. Verdict.Type names
// the type, Extracted and Expected hold the two values canonically written
// ("1974-03-11", "EUR 12.5", "3.2 km"), and Reason says what differs
// ("got 1905, want 1974-03-11: year 1905, not 1974, no month, no day").
//
// The zero value compares amounts exactly and scores text with
// TextEvaluator{}. Safe for concurrent use if Text is.
type AutoEvaluator struct {
	// RelTolerance is the accepted relative error of amounts; 0 means
	// exact equality. Years and dates are always compared exactly.
	RelTolerance float64
	// Text scores the questions whose gold answer holds no typed value;
	// nil means TextEvaluator{}.
	Text Evaluator
}

var (
	_ Evaluator   = AutoEvaluator{}
	_ GoldChecker = AutoEvaluator{}
)

func (e AutoEvaluator) text() Evaluator {
	if e.Text == nil {
		return TextEvaluator{}
	}
	return e.Text
}

// CheckGold reports whether RelTolerance is valid and q.Gold and every
// alias are typed or scorable by Text (when Text is a GoldChecker).
func (e AutoEvaluator) CheckGold(q Question) error { return checkAliases(q, e.checkGold) }

func (e AutoEvaluator) checkGold(q Question) error {
	if e.RelTolerance < 0 || math.IsNaN(e.RelTolerance) {
		return fmt.Errorf("AutoEvaluator.RelTolerance must be >= 0, got %v", e.RelTolerance)
	}
	if _, ok := answer.Classify(q.Gold); ok {
		return nil
	}
	if gc, ok := e.text().(GoldChecker); ok {
		return gc.CheckGold(q)
	}
	return nil
}

// Evaluate compares answer with q.Gold as the gold's type asks, then with
// each alias as the alias's type asks.
func (e AutoEvaluator) Evaluate(ctx context.Context, q Question, reply string) (Verdict, error) {
	return withAliases(q, func(q Question) (Verdict, error) { return e.evaluate(ctx, q, reply) })
}

func (e AutoEvaluator) evaluate(ctx context.Context, q Question, reply string) (Verdict, error) {
	if e.RelTolerance < 0 || math.IsNaN(e.RelTolerance) {
		return Verdict{}, fmt.Errorf("ragvsft: question %s: AutoEvaluator.RelTolerance must be >= 0, got %v", q.ID, e.RelTolerance)
	}
	want, ok := answer.Classify(q.Gold)
	if !ok {
		return e.text().Evaluate(ctx, q, reply)
	}
	o := answer.Match(want, reply, e.RelTolerance)
	v := Verdict{Type: want.Kind.String(), Correct: o.Correct, Expected: want.String(), Reason: o.Reason}
	if o.Found {
		v.Extracted = o.Got.String()
	}
	return v, nil
}

// isWordRune reports whether r is part of a word for containsWords.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}
