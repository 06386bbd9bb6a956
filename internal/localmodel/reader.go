package localmodel

import (
	"math"
	"strings"
	"unicode"
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

// Read answers the last question of a prompt from the prompt's own
// sentences, extractively. The prompt is split into sentences at newlines
// and at '.', '!' or '?' followed by whitespace; a leading label such as
// "Note:" or "[3]:" is removed from each sentence. The question is the
// last sentence ending in '?' (the whole prompt if none does) and the
// candidates are the other sentences. Each candidate scores the summed IDF
// (over the candidates) of the distinct non-stopword question words it
// contains. Only question words found in at least one candidate count
// ("matchable"). Read answers with the best candidate verbatim when it
// covers at least MinCoverage of the matchable mass and no different
// candidate scores as well; otherwise ok is false.
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
	qwords := contentWords(question)
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
	idf := func(w string) float64 { return math.Log(1 + n/float64(df[w])) }
	var mass float64
	for w := range df {
		mass += idf(w)
	}
	if mass == 0 {
		return "", false
	}
	best, bestScore := -1, 0.0
	scores := make([]float64, len(cands))
	for i := range cands {
		for w := range candWords[i] {
			scores[i] += idf(w)
		}
		if scores[i] > bestScore+1e-12 {
			best, bestScore = i, scores[i]
		}
	}
	if best < 0 || bestScore < MinCoverage*mass {
		return "", false
	}
	for i, s := range scores {
		if i != best && s > bestScore-1e-12 && cands[i] != cands[best] {
			return "", false // ambiguous: two different sentences fit as well
		}
	}
	return cands[best], true
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
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r == '\n':
			add(string(rs[start:i]))
			start = i + 1
		case (r == '.' || r == '!' || r == '?') && i+1 < len(rs) && unicode.IsSpace(rs[i+1]):
			add(string(rs[start : i+1]))
			start = i + 1
		}
	}
	add(string(rs[start:]))
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
