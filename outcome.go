package ragvsft

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Outcome is what became of one item (one question put to one arm): it is
// exactly one of OutcomeCorrect, OutcomeWrong, OutcomeAbstained and
// OutcomeError, so the four counts of an arm add up to the items asked.
//
// Telling a refusal from a wrong answer is what lets a report separate a
// model that says it does not know from one that makes something up (the
// hallucination rate, ArmSummary.HallucinationRate).
type Outcome string

// The four outcomes, in the order reports show them.
const (
	// OutcomeCorrect: the Evaluator judged the answer correct.
	OutcomeCorrect Outcome = "correct"
	// OutcomeWrong: the Evaluator judged the answer wrong.
	OutcomeWrong Outcome = "wrong"
	// OutcomeAbstained: the answer is a refusal ("I don't know.") by the
	// Experiment's Abstention rule, and then not evaluated, or a
	// JudgeEvaluator's verdict is JudgeAbstained. It is never correct.
	OutcomeAbstained Outcome = "abstained"
	// OutcomeError: the model call or the evaluation failed (Result.Error
	// says why); there is no answer to count.
	OutcomeError Outcome = "error"
)

// Outcomes lists the four outcomes in the order reports show them.
var Outcomes = []Outcome{OutcomeCorrect, OutcomeWrong, OutcomeAbstained, OutcomeError}

func (o Outcome) valid() bool {
	switch o {
	case OutcomeCorrect, OutcomeWrong, OutcomeAbstained, OutcomeError:
		return true
	}
	return false
}

// verdictOutcome is the outcome of an evaluated answer: a judge that calls
// it an abstention catches a refusal the Abstention rule did not.
func verdictOutcome(v Verdict) Outcome {
	if v.Judge != nil && v.Judge.Verdict == JudgeAbstained {
		return OutcomeAbstained
	}
	if v.Correct {
		return OutcomeCorrect
	}
	return OutcomeWrong
}

// outcome is OutcomeError for a result with an Error, else res.Outcome, or,
// for a result that has none (one built by hand, or read from a checkpoint
// written before outcomes existed), the outcome its Verdict gives.
func (res Result) outcome() Outcome {
	switch {
	case res.Error != "":
		return OutcomeError
	case res.Outcome.valid():
		return res.Outcome
	}
	return verdictOutcome(res.Verdict)
}

// derivedOutcome is the outcome of an earlier run's result: an error if it
// has an Error, else its Outcome, else (a checkpoint written before
// outcomes existed) abstained if its answer is a refusal by s.Abstention,
// else what its verdict says. A resumed run thus counts old and new items
// alike.
func (s *Experiment) derivedOutcome(res Result) Outcome {
	switch {
	case res.Error != "":
		return OutcomeError
	case res.Outcome.valid():
		return res.Outcome
	case s.Abstention.Abstains(res.Answer):
		return OutcomeAbstained
	}
	return verdictOutcome(res.Verdict)
}

// Abstention tells a refusal ("I don't know.") from an answer. An
// Experiment asks it about every answer before the Evaluator: an answer it
// calls a refusal is recorded as OutcomeAbstained and not evaluated.
//
// Experiment.Abstention nil means DefaultAbstentionPatterns(); an empty
// AbstentionPatterns{} turns detection off (no answer is a refusal).
// Implementations must be safe for concurrent use.
type Abstention interface {
	// Abstains reports whether answer declines to answer.
	Abstains(answer string) bool
}

// AbstentionPatterns is the rule-based Abstention: an answer is a refusal
// when its leading sentence matches one of the patterns as a whole. Not
// anywhere: "The population is unknown to most people, but it is 5,000"
// answers, though it holds "unknown".
//
// How an answer is read:
//   - It is lower-cased (simple case folding, accents kept), curly
//     apostrophes become "'", and it is cut into sentences at '.', '!',
//     '?', ';', ':' or '…' followed by a space or the end (so "5.000" is
//     one word) and at line breaks.
//   - Each sentence becomes its words: every other punctuation mark, quote,
//     bracket and Markdown emphasis is dropped, so "**Sorry, I don't
//     know!**" reads "sorry i don't know".
//   - Polite openers are skipped at the start: sorry, i'm sorry, i am
//     sorry, i'm afraid, i am afraid, apologies, unfortunately, well, hmm,
//     honestly, but, however, answer, and leider, es tut mir leid, tut mir
//     leid, entschuldigung, désolé(e), malheureusement, lo siento,
//     lamentablemente, perdón. A sentence left empty (just "Sorry.") is
//     skipped too; the first sentence with words left is the leading
//     sentence.
//
// A pattern is written as a sentence and read the same way, except that a
// word "*" stands for any number of words, none included. "i don't know *"
// matches "I don't know.", "I don't know the population of City_7." and
// "I don't know, but it could be 5,000." (a guess its own author disowns is
// not counted as an answer); "* is unknown" matches "The population is
// unknown." but not "It is unknown to most people"; "unknown" matches
// only "Unknown." itself. A pattern must hold at least one word besides
// "*" (CheckPatterns; Experiment.Run refuses one that does not).
//
// To add patterns, append to the defaults:
//
//	exp.Abstention = append(ragvsft.DefaultAbstentionPatterns(), "keine Angabe *")
//
// An AbstentionPatterns is read-only once in use, so safe for concurrent
// use.
type AbstentionPatterns []string

var _ Abstention = AbstentionPatterns(nil)

// DefaultAbstentionPatterns returns a new copy of the patterns an
// Experiment uses when its Abstention is nil: refusals in English, German,
// French and Spanish, and the embedded local model's own ("I don't
// know."):
//
//	I don't know *, I do not know *, I dont know *, Don't know, Idk,
//	I'm not sure *, I am not sure *, Not sure *, I have no idea *, No idea *,
//	I cannot answer *, I can't answer *, I can not answer *,
//	I am unable to answer *, I'm unable to answer *, I cannot determine *,
//	I can't determine *, I am unable to determine *, I'm unable to determine *,
//	I cannot say *, I can't say *,
//	No information *, There is no information *, There's no information *,
//	I have no information *, I don't have * information *,
//	I do not have * information *,
//	* not in the * context *, * not in the * passages *, * not in the * passage *,
//	* not in the * documents *, * not mentioned in the * context *,
//	* not mentioned in the * passages *, * not mentioned in the * passage *,
//	The * context does not *, The * passages do not *, The * passage does not *,
//	Unknown, * is unknown, * are unknown, It is not known *, Not known;
//	Ich weiß es nicht *, Ich weiß nicht *, Ich weiss es nicht *, Ich weiss nicht *,
//	Das weiß ich nicht *, Das weiss ich nicht *, Weiß ich nicht, Keine Ahnung *,
//	Ich bin mir nicht sicher *, Ich bin nicht sicher *,
//	Ich kann * nicht beantworten *, Unbekannt, * ist unbekannt,
//	* ist nicht bekannt, Keine Information *, Keine Informationen *,
//	Es gibt keine Informationen *, * nicht im * Kontext *,
//	* nicht in den * Passagen *;
//	Je ne sais pas *, Je ne le sais pas *, Je l'ignore *, Je ne suis pas sûr *,
//	Je ne suis pas sûre *, Aucune idée *, Je n'en ai aucune idée *,
//	Je ne peux pas répondre *, Inconnu, Inconnue, * est inconnu, * est inconnue,
//	Aucune information *, Il n'y a aucune information *,
//	* pas dans le * contexte *, * pas dans les * passages *;
//	No lo sé *, No lo se *, No sé *, No estoy seguro *, No estoy segura *,
//	Ni idea *, No tengo idea *, No tengo ni idea *, No puedo responder *,
//	Desconocido, Desconocida, * es desconocido, * es desconocida,
//	No hay información *, No tengo información *,
//	* no está en el * contexto *, * no está en los * pasajes *.
func DefaultAbstentionPatterns() AbstentionPatterns {
	return append(AbstentionPatterns{localAbstention}, defaultAbstentionPatterns...)
}

var defaultAbstentionPatterns = []string{
	// English
	"I don't know *", "I do not know *", "I dont know *", "Don't know", "Idk",
	"I'm not sure *", "I am not sure *", "Not sure *", "I have no idea *", "No idea *",
	"I cannot answer *", "I can't answer *", "I can not answer *",
	"I am unable to answer *", "I'm unable to answer *", "I cannot determine *",
	"I can't determine *", "I am unable to determine *", "I'm unable to determine *",
	"I cannot say *", "I can't say *",
	"No information *", "There is no information *", "There's no information *",
	"I have no information *", "I don't have * information *",
	"I do not have * information *",
	"* not in the * context *", "* not in the * passages *", "* not in the * passage *",
	"* not in the * documents *", "* not mentioned in the * context *",
	"* not mentioned in the * passages *", "* not mentioned in the * passage *",
	"The * context does not *", "The * passages do not *", "The * passage does not *",
	"Unknown", "* is unknown", "* are unknown", "It is not known *", "Not known",
	// German
	"Ich weiß es nicht *", "Ich weiß nicht *", "Ich weiss es nicht *", "Ich weiss nicht *",
	"Das weiß ich nicht *", "Das weiss ich nicht *", "Weiß ich nicht", "Keine Ahnung *",
	"Ich bin mir nicht sicher *", "Ich bin nicht sicher *",
	"Ich kann * nicht beantworten *", "Unbekannt", "* ist unbekannt",
	"* ist nicht bekannt", "Keine Information *", "Keine Informationen *",
	"Es gibt keine Informationen *", "* nicht im * Kontext *",
	"* nicht in den * Passagen *",
	// French
	"Je ne sais pas *", "Je ne le sais pas *", "Je l'ignore *", "Je ne suis pas sûr *",
	"Je ne suis pas sûre *", "Aucune idée *", "Je n'en ai aucune idée *",
	"Je ne peux pas répondre *", "Inconnu", "Inconnue", "* est inconnu", "* est inconnue",
	"Aucune information *", "Il n'y a aucune information *",
	"* pas dans le * contexte *", "* pas dans les * passages *",
	// Spanish
	"No lo sé *", "No lo se *", "No sé *", "No estoy seguro *", "No estoy segura *",
	"Ni idea *", "No tengo idea *", "No tengo ni idea *", "No puedo responder *",
	"Desconocido", "Desconocida", "* es desconocido", "* es desconocida",
	"No hay información *", "No tengo información *",
	"* no está en el * contexto *", "* no está en los * pasajes *",
}

// abstentionOpeners are skipped at the start of an answer (see
// AbstentionPatterns), each as its words.
var abstentionOpeners = [][]string{
	{"i'm", "sorry"}, {"i", "am", "sorry"}, {"sorry"}, {"i'm", "afraid"}, {"i", "am", "afraid"},
	{"apologies"}, {"unfortunately"}, {"well"}, {"hmm"}, {"honestly"}, {"but"}, {"however"}, {"answer"},
	{"leider"}, {"es", "tut", "mir", "leid"}, {"tut", "mir", "leid"}, {"entschuldigung"},
	{"désolé"}, {"désolée"}, {"malheureusement"}, {"lo", "siento"}, {"lamentablemente"}, {"perdón"},
}

// ErrBadAbstentionPattern is wrapped by CheckPatterns (and so by
// Experiment.Run) for a pattern that has no word besides "*": it would call
// every answer, or none, a refusal.
var ErrBadAbstentionPattern = errors.New("ragvsft: abstention pattern has no word")

// CheckPatterns returns an error wrapping ErrBadAbstentionPattern naming the
// first pattern that has no word besides "*".
func (p AbstentionPatterns) CheckPatterns() error {
	for i, pat := range p {
		if !hasLiteral(patternWords(pat)) {
			return fmt.Errorf("%w: pattern %d, %q", ErrBadAbstentionPattern, i, pat)
		}
	}
	return nil
}

func hasLiteral(words []string) bool {
	for _, w := range words {
		if w != "*" {
			return true
		}
	}
	return false
}

// Abstains reports whether the leading sentence of answer matches one of
// the patterns. A pattern without a word matches nothing.
func (p AbstentionPatterns) Abstains(answer string) bool {
	lead := leadingSentence(answer)
	if len(lead) == 0 {
		return false
	}
	for _, pat := range p {
		if words := patternWords(pat); hasLiteral(words) && globWords(words, lead) {
			return true
		}
	}
	return false
}

// patternWords reads a pattern as an answer's sentence is read, keeping "*".
func patternWords(pattern string) []string {
	var out []string
	for _, f := range strings.Fields(pattern) {
		if f == "*" {
			out = append(out, f)
			continue
		}
		out = append(out, sentenceWords(foldAnswer(f))...)
	}
	return out
}

// leadingSentence is the words of answer's first sentence with words left
// once the openers are skipped.
func leadingSentence(answer string) []string {
	for _, s := range splitSentences(foldAnswer(answer)) {
		words := sentenceWords(s)
	skip:
		for len(words) > 0 {
			for _, o := range abstentionOpeners {
				if len(words) >= len(o) && equalWords(words[:len(o)], o) {
					words = words[len(o):]
					continue skip
				}
			}
			break
		}
		if len(words) > 0 {
			return words
		}
	}
	return nil
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// foldAnswer lower-cases s and writes every apostrophe as "'".
func foldAnswer(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\u2019', '\u2018', '\u02bc', '`', '\u00b4':
			return '\''
		}
		return unicode.ToLower(r)
	}, s)
}

// sentenceClosers may stand between a sentence's final mark and the space
// after it: `"I don't know."`, `**Unknown.**`.
const sentenceClosers = `"'*_)]»”’`

// splitSentences cuts s at '.', '!', '?', ';', ':' or '…' followed (after
// closing quotes, brackets or emphasis) by a space or the end, and at line
// breaks.
func splitSentences(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		end := false
		switch r {
		case '\n', '\r':
			end = true
		case '.', '!', '?', ';', ':', '…':
			rest := strings.TrimLeft(s[i+utf8.RuneLen(r):], sentenceClosers)
			next, _ := utf8.DecodeRuneInString(rest)
			end = rest == "" || unicode.IsSpace(next)
		}
		if end {
			stop := i + utf8.RuneLen(r)
			out = append(out, s[start:stop])
			start = stop
		}
	}
	return append(out, s[start:])
}

// sentenceWords splits s into words: letters, digits and marks, with
// apostrophes and hyphens inside a word kept ("don't", "well-known").
func sentenceWords(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '\'' || r == '-' || r == '_')
	})
	out := f[:0]
	for _, w := range f {
		if w = strings.Trim(w, "'-_"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// globWords matches words against pattern, in which "*" stands for any
// number of words: the classic wildcard match, backtracking only to the
// last "*", so O(len(pattern)·len(words)).
func globWords(pattern, words []string) bool {
	p, w := 0, 0
	star, mark := -1, 0
	for w < len(words) {
		switch {
		case p < len(pattern) && pattern[p] == "*":
			star, mark = p, w
			p++
		case p < len(pattern) && pattern[p] == words[w]:
			p++
			w++
		case star >= 0:
			p = star + 1
			mark++
			w = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == "*" {
		p++
	}
	return p == len(pattern)
}
