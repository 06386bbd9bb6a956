package localmodel

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MinCoverage is the share of the question's matchable IDF mass the best
// passage sentence must cover for Read to answer from it.
const MinCoverage = 0.5

// stopwords are generic English function words the reader ignores.
var stopwords = func() map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but if then else of in on at to for from by with
		about as into onto over under than that this these those there here is are was were be been
		being am do does did done has have had having it its it's i me my we our you your he him his
		she her they them their what which who whom whose when where why how not no yes so such can
		could will would shall should may might must s t don doesn didn isn aren wasn weren any all
		some each every please tell say said also just only very more most much many`) {
		set[w] = true
	}
	return set
}()

// nameWeight multiplies the IDF of a question word that looks like a name
// (capitalized after the first word, or holding a digit or underscore).
const nameWeight = 2

// Answer types a question may ask for.
const (
	anyType = iota
	numberType
	personType
	placeType
)

// Read answers the last question of a prompt from the prompt's own
// sentences, extractively. The prompt is split into sentences at newlines
// and at '.', '!' or '?' followed by whitespace; a leading label such as
// "Note:" or "[3]:" is removed from each sentence. The question is the
// last sentence ending in '?' (the whole prompt if none does) and the
// candidates are the other sentences.
//
// Each candidate scores the summed weight of the distinct non-stopword
// question words it contains; a word weighs its IDF over the candidates,
// doubled if it looks like a name. Only question words found in at least
// one candidate count ("matchable"). A candidate is eligible only if it
// holds one of the question's rarest names, those found in the fewest
// candidates (when the question has names), and, when
// the question asks for a number (when, what year, how many...), a person
// (who, which person) or a place (where, which city...), only if it offers
// one outside the question's words: a number; a capitalized name; a
// capitalized name after in, at, from, near, to or into. Read answers with
// the best eligible candidate verbatim when it covers at least MinCoverage
// of the matchable weight and no different eligible candidate scores as
// well; otherwise ok is false.
func Read(prompt string) (answer string, ok bool) {
	sents := sentences(prompt)
	qi := -1
	for i := len(sents) - 1; i >= 0; i-- {
		if strings.HasSuffix(sents[i], "?") {
			qi = i
			break
		}
	}
	var question string
	var cands []string
	if qi < 0 {
		question = prompt
		cands = sents
	} else {
		question = sents[qi]
		cands = append(append(cands, sents[:qi]...), sents[qi+1:]...)
	}
	if len(cands) == 0 {
		return "", false
	}
	qwords, names := questionWords(question)
	candWords := make([]map[string]bool, len(cands))
	df := map[string]int{}
	for i, c := range cands {
		candWords[i] = map[string]bool{}
		for _, w := range Words(c) {
			if qwords[w] && !candWords[i][w] {
				candWords[i][w] = true
				df[w]++
			}
		}
	}
	n := float64(len(cands))
	weight := func(w string) float64 {
		idf := math.Log(1 + n/float64(df[w]))
		if names[w] {
			idf *= nameWeight
		}
		return idf
	}
	var mass float64
	for w := range df {
		mass += weight(w)
	}
	if mass == 0 {
		return "", false
	}
	want := answerType(Words(question))
	scores := make([]float64, len(cands))
	key := rarestNames(names, df)
	eligible := make([]bool, len(cands))
	for i, c := range cands {
		for w := range candWords[i] {
			scores[i] += weight(w)
		}
		eligible[i] = (want == anyType || offers(c, qwords, want)) && holdsName(candWords[i], key)
	}
	best, bestScore := -1, 0.0
	for i := range cands {
		if eligible[i] && scores[i] > bestScore+1e-12 {
			best, bestScore = i, scores[i]
		}
	}
	if best < 0 || bestScore < MinCoverage*mass {
		return "", false
	}
	for i, sc := range scores {
		if i != best && eligible[i] && sc > bestScore-1e-12 && cands[i] != cands[best] {
			return "", false // ambiguous: two different sentences fit as well
		}
	}
	return cands[best], true
}

// rarestNames returns the question's names found in the fewest candidates
// (possibly none): the words that identify what the question is about.
func rarestNames(names map[string]bool, df map[string]int) map[string]bool {
	fewest := math.MaxInt
	for w := range names {
		fewest = min(fewest, df[w])
	}
	rarest := map[string]bool{}
	for w := range names {
		if df[w] == fewest {
			rarest[w] = true
		}
	}
	return rarest
}

// holdsName reports whether a candidate's matched words include one of
// names, or names is empty.
func holdsName(matched, names map[string]bool) bool {
	if len(names) == 0 {
		return true
	}
	for w := range names {
		if matched[w] {
			return true
		}
	}
	return false
}

// questionWords returns the non-stopword words of a question and, among
// them, those that look like names.
func questionWords(q string) (words, names map[string]bool) {
	words, names = map[string]bool{}, map[string]bool{}
	raw := strings.FieldsFunc(q, notWordRune)
	for i, w := range raw {
		lw := strings.ToLower(w)
		if stopwords[lw] {
			continue
		}
		words[lw] = true
		first, _ := utf8.DecodeRuneInString(w)
		if (i > 0 && unicode.IsUpper(first)) || strings.ContainsFunc(w, func(r rune) bool { return r == '_' || unicode.IsDigit(r) }) {
			names[lw] = true
		}
	}
	return words, names
}

// answerType reads what a question asks for from its lower-cased words.
func answerType(ws []string) int {
	for i, w := range ws {
		next := ""
		if i+1 < len(ws) {
			next = ws[i+1]
		}
		switch w {
		case "when":
			return numberType
		case "who", "whom", "whose":
			return personType
		case "where":
			return placeType
		case "how":
			if next == "many" || next == "much" || next == "old" {
				return numberType
			}
		case "what", "which":
			switch next {
			case "year", "date", "number":
				return numberType
			case "person", "man", "woman":
				return personType
			case "city", "town", "country", "place", "village":
				return placeType
			}
		}
	}
	return anyType
}

// placePrepositions introduce a place name.
var placePrepositions = map[string]bool{"in": true, "at": true, "from": true, "near": true, "to": true, "into": true}

// offers reports whether sentence s holds, outside the question's words,
// an answer of type want.
func offers(s string, qwords map[string]bool, want int) bool {
	raw := strings.FieldsFunc(s, notWordRune)
	for i, w := range raw {
		lw := strings.ToLower(w)
		if qwords[lw] || stopwords[lw] {
			continue
		}
		first, _ := utf8.DecodeRuneInString(w)
		switch {
		case want == numberType && unicode.IsDigit(first):
			return true
		case unicode.IsUpper(first) && (want == personType || want == placeType):
			prev := ""
			if i > 0 {
				prev = raw[i-1]
			}
			if p, _ := utf8.DecodeRuneInString(prev); prev != "" && unicode.IsUpper(p) && !stopwords[strings.ToLower(prev)] {
				continue // inside a name already judged by its first word
			}
			if placePrepositions[strings.ToLower(prev)] == (want == placeType) {
				return true
			}
		}
	}
	return false
}

func notWordRune(r rune) bool {
	return !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r))
}

// contentWords returns the set of non-stopword words of s.
func contentWords(s string) map[string]bool {
	set := map[string]bool{}
	for _, w := range Words(s) {
		if !stopwords[w] {
			set[w] = true
		}
	}
	return set
}

// sentences splits s at newlines and at '.', '!' or '?' followed by
// whitespace, strips leading labels and drops empty sentences.
func sentences(s string) []string {
	var out []string
	add := func(t string) {
		t = stripLabels(strings.TrimSpace(t))
		if t != "" {
			out = append(out, t)
		}
	}
	start := 0
	for i, r := range s { // byte offsets, so sentences stay verbatim
		switch {
		case r == '\n':
			add(s[start:i])
			start = i + 1
		case r == '.' || r == '!' || r == '?':
			if next, _ := utf8.DecodeRuneInString(s[i+1:]); i+1 < len(s) && unicode.IsSpace(next) {
				add(s[start : i+1])
				start = i + 1
			}
		}
	}
	add(s[start:])
	return out
}

// stripLabels removes leading "Word:" and "[x]:" labels.
func stripLabels(s string) string {
	for {
		i := strings.IndexByte(s, ':')
		if i <= 0 || i > 24 {
			return s
		}
		label := s[:i]
		isLabel := strings.HasPrefix(label, "[") && strings.HasSuffix(label, "]")
		if !isLabel {
			isLabel = true
			for _, r := range label {
				if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
					isLabel = false
					break
				}
			}
		}
		if !isLabel {
			return s
		}
		s = strings.TrimSpace(s[i+1:])
	}
}
