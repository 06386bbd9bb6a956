package localmodel

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ragvsft/ragvsft/internal/answer"
)

// Turn is one message of a conversation given to Read: Role is "system",
// "user" or "assistant".
type Turn struct {
	Role, Content string
}

// MinCoverage is the share of the question's matchable weight the chosen
// passage sentence must cover: half, so that a sentence shares more of
// what the question asks (of the words some passage holds) than it misses.
const MinCoverage = 0.5

// nameWeight multiplies the IDF of a question word that names something:
// names identify the fact, other words only describe it. Two is the
// smallest factor by which one shared name outweighs one shared common
// word of equal rarity.
const nameWeight = 2

// Read answers the last user turn of a conversation from the passages in
// it, extractively: it returns one sentence of the prompt verbatim, or ok
// false when it cannot tell.
//
// Structure. The prompt is read as lines; a line may open with labels: a
// word label ("QUESTION:", "Context:", "Q:", one to three words and a
// colon) opens a section, an enumerated label ("[3]:", "(2)", "1)", "- ",
// "Document 4:") opens a passage item that runs to the next label or
// blank line. Text is cut into sentences at newlines and at '.', '!' or
// '?' before a space, except inside a number or date ("1.563.887",
// "3,5", "am 23. Mai 1905", as answer.Scan reads them), after an
// abbreviation ("Dr.", "St.", "e.g.", "z. B.") or an initial, and before a
// lower-case word. A sentence outside the passage items that names the
// label of another section ("Answer the QUESTION from the CONTEXT") is an
// instruction, never the question nor a passage.
//
// The question is, of the other sentences, the one that looks most like
// one: ending in '?' counts most, then opening with a question word or a
// request ("State...", "Give me...", "Nenne..."), then standing alone in
// its section; the last wins a tie. Sentences in passage items are never
// the question. With passage items the passages are their sentences;
// without, every sentence but the question and the instructions.
//
// Matching. Words are folded (lower case, no accents) and stemmed (stem);
// a question word meets a passage word of the same stem, of the same
// attribute group (attributeGroups: "cost" meets "price", "long"
// "length"), the same unit ("in kilometres" meets "km"), or through an
// acronym ("SKU" meets "stock-keeping unit", and back). The question's
// names (capitalized words after the first, words with a digit or an
// underscore, not function, question, attribute or unit words) in runs
// are its entities; a name found in no passage means the passages are
// about something else, and Read abstains. A question holding a pronoun,
// or naming nothing the passages hold, takes its entities from the
// latest earlier turn of the conversation (or earlier sentence of its own
// section) whose names the passages hold.
//
// Choice. A passage sentence is eligible if it holds, for each entity,
// one of the entity's rarest words (or is in the same item as a sentence
// that does, and refers back with a pronoun); if it meets one of the
// question's other content words whenever some sentence about the entity
// does (so of several facts about one entity the asked one is taken); and
// if it offers what the question asks for outside the question's words
// (interrogatives: a date or year for "when", a number for "how many", a
// measure for "how long", a person for "who", a place for "where"; a
// request asks by its type noun: "Tell me the year..."). When none of the
// question's other words meets any passage (a wording the passages do not
// use: "came into being", "set up") and it asks for a type of answer, the
// second test is dropped: of two or more sentences about the entity, the
// one offering the type asked is the fact. Each
// sentence scores the IDF weight (over the passage sentences) of the
// question words it meets, names weighing nameWeight. Read answers with
// the best eligible sentence if it covers MinCoverage of the weight of
// the question words some sentence meets, and no different sentence
// scores as well unless it gives the same values.
func Read(conv []Turn) (answer string, ok bool) {
	last := -1
	for i, t := range conv {
		if t.Role == "user" {
			last = i
		}
	}
	if last < 0 {
		return "", false
	}
	p := parsePrompt(conv[last].Content)
	if p.question == "" || len(p.passages) == 0 {
		return "", false
	}
	// Earlier turns, latest first, after the question's own context.
	history := slices.Clone(p.context)
	slices.Reverse(history)
	for i := last - 1; i >= 0; i-- {
		switch conv[i].Role {
		case "user":
			if q := parsePrompt(conv[i].Content).question; q != "" {
				history = append(history, q)
			} else {
				history = append(history, conv[i].Content)
			}
		case "assistant":
			history = append(history, conv[i].Content)
		}
	}
	return choose(p.question, history, p.passages)
}

// A passage is one sentence of the prompt's passages.
type passage struct {
	text string
	item int // the passage item it is in; -1 for none
}

// parsed is a prompt taken apart.
type parsed struct {
	question string
	context  []string // sentences of the question's section before it
	passages []passage
}

// A unit is one sentence of a prompt, with where it stands.
type unit struct {
	text    string
	section int // 0 is the text before any word label
	item    int // -1 outside passage items
}

// parsePrompt finds the question and the passages of a prompt.
func parsePrompt(s string) parsed {
	units, labels := segment(s)
	items := false
	perSection := map[int]int{}
	for _, u := range units {
		if u.item >= 0 {
			items = true
		} else {
			perSection[u.section]++
		}
	}
	// An instruction names the label of another, non-empty section.
	instruction := make([]bool, len(units))
	for i, u := range units {
		if u.item >= 0 {
			continue
		}
		for _, w := range words(u.text) {
			if sec, ok := labels[w.fold]; ok && (len(sec) > 1 || sec[0] != u.section) {
				instruction[i] = true
				break
			}
		}
	}
	q, best := -1, 0
	for i, u := range units {
		if u.item >= 0 || instruction[i] {
			continue
		}
		score := questionLikeness(u.text)
		if u.section > 0 && perSection[u.section] == 1 && !sectionHasItems(units, u.section) {
			score++
		}
		if score >= best && (score > 0 || items) {
			q, best = i, score
		}
	}
	if q < 0 {
		return parsed{}
	}
	out := parsed{question: units[q].text}
	for i, u := range units {
		switch {
		case i == q || instruction[i]:
		case u.item >= 0:
			out.passages = append(out.passages, passage{u.text, u.item})
		case items && u.section == units[q].section:
			if i < q {
				out.context = append(out.context, u.text)
			}
		case !items:
			out.passages = append(out.passages, passage{u.text, -1})
		}
	}
	return out
}

func sectionHasItems(units []unit, section int) bool {
	for _, u := range units {
		if u.section == section && u.item >= 0 {
			return true
		}
	}
	return false
}

// questionLikeness scores how much a sentence looks like a question: 4
// for a final '?', 2 for a question word or request among its first two
// words.
func questionLikeness(s string) int {
	score := 0
	if strings.HasSuffix(strings.TrimRight(s, `"')]»“”`), "?") {
		score += 4
	}
	ws := words(s)
	for i := 0; i < len(ws) && i < 2; i++ {
		if _, ok := interrogatives[ws[i].fold]; ok || requests[ws[i].fold] {
			score += 2
			break
		}
	}
	return score
}

// segment cuts a prompt into sentences and returns them with the sections'
// label words (folded word -> the sections labelled with it; only
// sections with text).
func segment(s string) ([]unit, map[string][]int) {
	var units []unit
	var labelOf []string // per section, 1-based
	section, item, items, lastItem := 0, -1, 0, -1
	hasText := map[int]bool{}
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			item = -1 // a blank line ends a passage item
			continue
		}
		rest := line
		oneLine := false // an item whose label has text on its line ends with it
		for {
			label, enumerated, n := peelLabel(rest, item >= 0)
			if n == 0 {
				break
			}
			rest = rest[n:]
			if enumerated {
				items++
				item = items
				continue
			}
			oneLine = false
			labelOf = append(labelOf, label)
			section, item = len(labelOf), -1
		}
		startsItem := item > lastItem
		for _, t := range sentences(rest) {
			units = append(units, unit{text: t, section: section, item: item})
			hasText[section] = true
			oneLine = startsItem
		}
		lastItem = item
		if oneLine {
			item = -1
		}
	}
	labels := map[string][]int{}
	for i, l := range labelOf {
		if !hasText[i+1] {
			continue
		}
		for _, w := range words(l) {
			labels[w.fold] = append(labels[w.fold], i+1)
		}
	}
	return units, labels
}

// peelLabel reads a label at the start of s (after spaces): an enumerated
// one ("[3]:", "(2)", "12)", "- ", "Passage 4:") or, unless inItem, a word
// label of one to three words and at most 24 bytes followed by a colon
// and a space or the end. n is the bytes it takes, 0 for none.
func peelLabel(s string, inItem bool) (label string, enumerated bool, n int) {
	t := strings.TrimLeft(s, " \t")
	skip := len(s) - len(t)
	end := func(k int) int { // k bytes of t, then ':' and a space or the end
		if k < len(t) && t[k] == ':' {
			k++
		}
		if k < len(t) && t[k] != ' ' && t[k] != '\t' {
			return 0
		}
		return skip + k
	}
	switch {
	case t == "":
		return "", false, 0
	case t[0] == '[' || t[0] == '(':
		closer := map[byte]byte{'[': ']', '(': ')'}[t[0]]
		if k := strings.IndexByte(t, closer); k > 1 && k <= 12 && !strings.ContainsAny(t[1:k], "[]()") {
			if n := end(k + 1); n > 0 {
				return t[1:k], true, n
			}
		}
		return "", false, 0
	case (t[0] == '-' || t[0] == '*' || strings.HasPrefix(t, "•")) && len(t) > 1:
		k := 1
		if t[0] != '-' && t[0] != '*' {
			k = len("•")
		}
		if k < len(t) && t[k] == ' ' {
			return "", true, skip + k + 1
		}
		return "", false, 0
	}
	if k := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsDigit(r) }); k > 0 && k <= 3 && (t[k] == ')' || t[k] == ':') {
		if n := end(k + 1); n > 0 {
			return t[:k], true, n
		}
	}
	colon := strings.IndexByte(t, ':')
	if inItem || colon <= 0 || colon > 24 {
		return "", false, 0
	}
	label = t[:colon]
	first, _ := utf8.DecodeRuneInString(label)
	if !unicode.IsLetter(first) || len(strings.Fields(label)) > 3 || strings.ContainsFunc(label, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '_' || r == '-' || r == '\'')
	}) {
		return "", false, 0
	}
	n = end(colon)
	if n == 0 {
		return "", false, 0
	}
	f := strings.Fields(label)
	return label, len(f) > 1 && shortNumber(f[len(f)-1]), n
}

// shortNumber reports whether s is a run of one to four digits.
func shortNumber(s string) bool {
	return s != "" && len(s) <= 4 && !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

// closers may stand between a sentence's final punctuation and the space.
const closers = `"')]»“”’`

// sentences cuts one line into trimmed, non-empty sentences, verbatim.
func sentences(s string) []string {
	var protected [][2]int
	for _, v := range answer.Scan(s) {
		protected = append(protected, [2]int{v.Start, v.End})
	}
	var out []string
	add := func(t string) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		j := i + 1
		for j < len(s) && strings.IndexByte(closers, s[j]) >= 0 && s[j] < utf8.RuneSelf {
			j++
		}
		for _, q := range []string{"»", "“", "”", "’"} {
			for strings.HasPrefix(s[j:], q) {
				j += len(q)
			}
		}
		if j < len(s) && s[j] != ' ' && s[j] != '\t' {
			continue
		}
		if c == '.' && !endsSentence(s, i, j, protected) {
			continue
		}
		add(s[start:j])
		start = j
		i = j - 1
	}
	add(s[start:])
	return out
}

// endsSentence reports whether the period at s[i] (closers up to j) ends
// a sentence.
func endsSentence(s string, i, j int, protected [][2]int) bool {
	for _, p := range protected {
		if i >= p[0] && i < p[1] {
			return false // inside a number or date ("1.563.887", "am 5. Mai", "3 Mio.")
		}
	}
	next := strings.TrimLeft(s[j:], " \t")
	if next == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(next)
	if unicode.IsLower(r) {
		return false
	}
	k := i
	for k > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:k])
		if !unicode.IsLetter(r) && r != '.' {
			break
		}
		k -= n
	}
	tok := s[k:i]
	switch {
	case tok == "":
		return true
	case abbreviations[fold(tok)]:
		return false
	case utf8.RuneCountInString(tok) == 1:
		return !unicode.IsUpper([]rune(tok)[0]) && !unicode.IsLower([]rune(tok)[0]) // an initial ("J. Smith", "z. B.")
	case strings.Contains(tok, "."):
		first, _ := utf8.DecodeRuneInString(tok)
		return !unicode.IsLower(first) // "e.g." and "z.B." go on, "U.S." may end
	}
	return true
}

// A word of a text, with its spellings.
type word struct {
	raw, fold, stem string
	start, end      int
}

// words cuts s into words: runs of letters, digits, marks and underscores.
func words(s string) []word {
	var out []word
	start := -1
	for i, r := range s + " " {
		if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			raw := s[start:i]
			f := fold(raw)
			out = append(out, word{raw: raw, fold: f, stem: stem(f), start: start, end: i})
			start = -1
		}
	}
	return out
}

// keys are what a word meets another by: its stem, its attribute groups,
// its unit.
func keys(w word) []string {
	ks := []string{"s:" + w.stem}
	for _, g := range groupsOf(w.fold) {
		ks = append(ks, "g:"+string(rune('A'+g)))
	}
	if u, ok := unitOf(w.raw); ok {
		ks = append(ks, "u:"+u)
	}
	return ks
}

func isUnit(w word) bool {
	_, ok := unitOf(w.raw)
	return ok
}

func capitalized(raw string) bool {
	r, _ := utf8.DecodeRuneInString(raw)
	return unicode.IsUpper(r)
}

// allCaps reports whether raw is an acronym: two to six capitals.
func allCaps(raw string) bool {
	n := 0
	for _, r := range raw {
		if !unicode.IsUpper(r) {
			return false
		}
		n++
	}
	return n >= 2 && n <= 6
}

// minAcronym is the shortest acronym matched against the initials of a
// run of words: three, as two letters spell the initials of some pair of
// words too often by chance.
const minAcronym = 3

func hasDigitOrUnderscore(raw string) bool {
	return strings.ContainsFunc(raw, func(r rune) bool { return r == '_' || unicode.IsDigit(r) })
}

// lexical reports whether a folded word is in one of the language tables.
func lexical(w word) bool {
	_, q := interrogatives[w.fold]
	_, t := typeNouns[w.fold]
	_, u := unitOf(w.raw)
	return stopwords[w.fold] || pronouns[w.fold] || requests[w.fold] || q || t || u || len(groupsOf(w.fold)) > 0 || measureAdjectives[w.fold]
}

// question is a question read for matching.
type question struct {
	words    []word
	content  []int   // indexes of content words
	name     []bool  // per word
	phrases  [][]int // runs of names
	want     kinds
	pronoun  bool
	foldText string
}

// readQuestion reads what a question asks and names; with firstIsName
// its first word may be a name too (a statement of an earlier turn).
func readQuestion(q string, firstIsName bool) question {
	ws := words(q)
	var spans [][2]int
	for _, v := range answer.Scan(q) {
		spans = append(spans, [2]int{v.Start, v.End})
	}
	inValue := func(w word) bool {
		for _, sp := range spans {
			if w.start < sp[1] && w.end > sp[0] {
				return true
			}
		}
		return false
	}
	out := question{words: ws, name: make([]bool, len(ws)), foldText: " " + fold(q) + " "}
	consumed := make([]bool, len(ws))
	for i, w := range ws {
		k, ok := interrogatives[w.fold]
		if !ok || (i > 1 && w.fold == "was") {
			continue
		}
		consumed[i] = true
		switch {
		case w.fold == "how" || w.fold == "wie":
			if i+1 < len(ws) {
				if hk, ok := howWords[ws[i+1].fold]; ok {
					k = hk
					consumed[i+1] = true
				} else if measureAdjectives[ws[i+1].fold] {
					k = wantMeasure
				}
			}
		case k == wantAny:
			for j := i + 1; j < len(ws) && j <= i+4; j++ {
				if tk, ok := typeNouns[ws[j].fold]; ok {
					k = tk
					consumed[j] = true
					break
				}
				if !stopwords[ws[j].fold] {
					break
				}
			}
		}
		if out.want == wantAny {
			out.want = k
		}
	}
	// A request with no question word asks by the type noun that follows
	// it ("Tell me the year...", "Name the city...").
	for i := 0; out.want == wantAny && i < len(ws) && i < 2; i++ {
		if !requests[ws[i].fold] {
			continue
		}
		for j := i + 1; j < len(ws) && j <= i+4; j++ {
			if tk, ok := typeNouns[ws[j].fold]; ok {
				out.want = tk
				consumed[j] = true
				break
			}
			if !stopwords[ws[j].fold] {
				break
			}
		}
	}
	prev := -2
	for i, w := range ws {
		switch {
		case consumed[i] || requests[w.fold] || stopwords[w.fold] && !pronouns[w.fold]:
			continue
		case pronouns[w.fold]:
			// It points back to the conversation unless a name of the
			// question comes before it ("the X River at its deepest").
			out.pronoun = out.pronoun || len(out.phrases) == 0
			continue
		}
		if _, q := interrogatives[w.fold]; q {
			continue
		}
		out.content = append(out.content, i)
		if (capitalized(w.raw) && (i > 0 || firstIsName) || hasDigitOrUnderscore(w.raw) || allCaps(w.raw)) && !lexical(w) && !inValue(w) {
			out.name[i] = true
			if prev == i-1 {
				out.phrases[len(out.phrases)-1] = append(out.phrases[len(out.phrases)-1], i)
			} else {
				out.phrases = append(out.phrases, []int{i})
			}
			prev = i
		}
	}
	return out
}

// psg is a passage sentence read for matching.
type psg struct {
	passage
	words    []word
	keys     map[string]bool
	initials map[string]bool // initials of runs of 2..6 words ("sku")
	acronyms map[string]bool // its all-capital words, folded
	values   []answer.Value
}

func readPassage(p passage) *psg {
	out := &psg{passage: p, words: words(p.text), keys: map[string]bool{}, initials: map[string]bool{}, acronyms: map[string]bool{}}
	for _, w := range out.words {
		for _, k := range keys(w) {
			out.keys[k] = true
		}
		if allCaps(w.raw) && len(w.fold) >= minAcronym {
			out.acronyms[w.fold] = true
		}
	}
	for i := range out.words {
		var b strings.Builder
		for j := i; j < len(out.words) && j < i+6; j++ {
			r, _ := utf8.DecodeRuneInString(out.words[j].fold)
			b.WriteRune(r)
			if j > i {
				out.initials[b.String()] = true
			}
		}
	}
	out.values = answer.Scan(p.text)
	for _, v := range out.values {
		if v.Kind == answer.Quantity || v.Kind == answer.Money {
			out.keys["u:"+v.Unit] = true
		}
	}
	return out
}

// meets returns, per question word, whether passage p meets it.
func (q question) meets(p *psg) []bool {
	met := make([]bool, len(q.words))
	for _, i := range q.content {
		w := q.words[i]
		for _, k := range keys(w) {
			if p.keys[k] {
				met[i] = true
				break
			}
		}
		if !met[i] && allCaps(w.raw) && len(w.fold) >= minAcronym && p.initials[w.fold] {
			met[i] = true
		}
	}
	// A passage acronym spelt by a run of question words meets them all.
	for a := range p.acronyms {
		for i := 0; i+len(a) <= len(q.words); i++ {
			var b strings.Builder
			for j := i; j < i+len(a); j++ {
				r, _ := utf8.DecodeRuneInString(q.words[j].fold)
				b.WriteRune(r)
			}
			if b.String() == a {
				for j := i; j < i+len(a); j++ {
					met[j] = true
				}
			}
		}
	}
	return met
}

// choose picks the passage sentence that answers q; see Read.
func choose(qtext string, history []string, passages []passage) (string, bool) {
	q := readQuestion(qtext, false)
	ps := make([]*psg, len(passages))
	for i, p := range passages {
		ps[i] = readPassage(p)
	}
	met := make([][]bool, len(ps))
	df := make([]int, len(q.words))
	for i, p := range ps {
		met[i] = q.meets(p)
		for j, m := range met[i] {
			if m {
				df[j]++
			}
		}
	}
	// Entities: the question's own, then the conversation's.
	var entities [][]int // phrases of q.words or of history words
	for _, ph := range q.phrases {
		for _, i := range ph {
			if df[i] == 0 {
				return "", false // a name no passage holds: they are about something else
			}
		}
		entities = append(entities, ph)
	}
	var needs []func(p int) bool
	for _, ph := range entities {
		fewest := math.MaxInt
		for _, i := range ph {
			fewest = min(fewest, df[i])
		}
		rarest := map[int]bool{}
		for _, i := range ph {
			if df[i] == fewest {
				rarest[i] = true
			}
		}
		needs = append(needs, func(p int) bool {
			for i := range rarest {
				if met[p][i] {
					return true
				}
			}
			return false
		})
	}
	if len(entities) == 0 || q.pronoun {
		// A pronoun, or nothing named: the entity of the conversation.
		if need := historyEntity(history, ps); need != nil {
			needs = append(needs, need)
		}
	}
	if len(needs) == 0 {
		return "", false // nothing named: no way to tell which passage is meant
	}
	// Weights and mass.
	n := float64(len(ps))
	weight := make([]float64, len(q.words))
	var mass float64
	for _, i := range q.content {
		if df[i] == 0 {
			continue
		}
		weight[i] = math.Log(1 + n/float64(df[i]))
		if q.name[i] {
			weight[i] *= nameWeight
		}
		mass += weight[i]
	}
	// Entity eligibility, with pronoun sentences inheriting their item's.
	about := make([]bool, len(ps))
	from := make([]int, len(ps)) // the sentence a pronoun sentence refers to, or -1
	for i := range ps {
		about[i], from[i] = true, -1
		for _, need := range needs {
			if need(i) {
				continue
			}
			if j := antecedent(ps, i, need); j >= 0 {
				from[i] = j
				continue
			}
			about[i] = false
			break
		}
	}
	// The asked fact: meet a non-name content word if any sentence about
	// the entity does.
	attribute := func(i int) bool {
		for _, j := range q.content {
			if !q.name[j] && met[i][j] {
				return true
			}
		}
		return false
	}
	// The question's other content words name the fact asked ("born",
	// "join the guild"): when some sentence, about any entity, meets one,
	// a sentence that meets none states another fact. A known attribute
	// word (of attributeGroups, or a unit) names it even when no sentence
	// does.
	needAttribute := false
	for _, j := range q.content {
		if w := q.words[j]; !q.name[j] && (len(groupsOf(w.fold)) > 0 || isUnit(w)) {
			needAttribute = true
		}
	}
	for i := range ps {
		needAttribute = needAttribute || attribute(i)
	}
	// A sentence that meets none of the question's attribute words but
	// holds a known attribute word of another group states another known
	// fact ("X's birthday is..." for "When did X join the guild?").
	asked := map[int]bool{}
	hasAttribute := false
	for _, j := range q.content {
		if !q.name[j] {
			hasAttribute = true
			for _, g := range groupsOf(q.words[j].fold) {
				asked[g] = true
			}
		}
	}
	statesOther := func(i int) bool {
		if !hasAttribute || attribute(i) {
			return false
		}
		for _, w := range ps[i].words {
			for _, g := range groupsOf(w.fold) {
				if !asked[g] {
					return true
				}
			}
		}
		return false
	}
	// When none of the question's other words meets any passage and the
	// question asks for a type of answer, its wording gives no evidence
	// of which fact it asks ("Who set up X?" against "X was founded by
	// ..."): the fact is the one of the entity's sentences that offers
	// the type asked, and a tie between different facts abstains. The
	// type sets a fact apart only from other facts: with one sentence
	// about the entity the question's unmatched words may name a fact the
	// passages lack, and Read abstains as before.
	fallback := false
	if !needAttribute && q.want != wantAny {
		var facts []string
		for i := range ps {
			if about[i] && !slices.Contains(facts, ps[i].text) {
				facts = append(facts, ps[i].text)
			}
		}
		fallback = len(facts) >= 2
	}
	scores := make([]float64, len(ps))
	eligible := make([]bool, len(ps))
	best := -1
	for i, p := range ps {
		for _, j := range q.content {
			if met[i][j] || q.name[j] && from[i] >= 0 && met[from[i]][j] {
				scores[i] += weight[j]
			}
		}
		eligible[i] = about[i] && (!needAttribute || attribute(i)) && (fallback || !statesOther(i)) && offers(p, q, met[i])
		if eligible[i] && (best < 0 || scores[i] > scores[best]+1e-12) {
			best = i
		}
	}
	if best < 0 || scores[best] < MinCoverage*mass-1e-12 {
		return "", false
	}
	for i := range ps {
		if i != best && eligible[i] && scores[i] > scores[best]-1e-12 && ps[i].text != ps[best].text && !sameValues(ps[i], ps[best]) {
			return "", false // two different facts fit as well
		}
	}
	return ps[best].text, true
}

// antecedent returns the earlier sentence of sentence i's passage item
// that satisfies need, when sentence i refers back with a pronoun; else -1.
func antecedent(ps []*psg, i int, need func(int) bool) int {
	if ps[i].item < 0 || !slices.ContainsFunc(ps[i].words, func(w word) bool { return pronouns[w.fold] }) {
		return -1
	}
	for j := i - 1; j >= 0 && ps[j].item == ps[i].item; j-- {
		if need(j) {
			return j
		}
	}
	return -1
}

// historyEntity returns a test for the entity of the latest history text
// whose names the passages hold: a passage must hold one of its rarest
// found names.
func historyEntity(history []string, ps []*psg) func(int) bool {
	for _, h := range history {
		hq := readQuestion(h, true)
		found := map[string]int{} // stem -> passages holding it
		for _, ph := range hq.phrases {
			for _, i := range ph {
				w := hq.words[i]
				for _, p := range ps {
					if p.keys["s:"+w.stem] {
						found[w.stem]++
					}
				}
			}
		}
		fewest := math.MaxInt
		for _, c := range found {
			if c > 0 {
				fewest = min(fewest, c)
			}
		}
		if fewest == math.MaxInt {
			continue
		}
		var rarest []string
		for s, c := range found {
			if c == fewest {
				rarest = append(rarest, s)
			}
		}
		return func(p int) bool {
			for _, s := range rarest {
				if ps[p].keys["s:"+s] {
					return true
				}
			}
			return false
		}
	}
	return nil
}

// sameValues reports whether two sentences give the same typed values.
func sameValues(a, b *psg) bool {
	if len(a.values) == 0 || len(a.values) != len(b.values) {
		return false
	}
	for i := range a.values {
		if a.values[i].String() != b.values[i].String() {
			return false
		}
	}
	return true
}

// offers reports whether passage p holds, outside the question's words,
// an answer of the kind q asks for.
func offers(p *psg, q question, met []bool) bool {
	switch q.want {
	case wantAny:
		return true
	case wantPerson, wantPlace:
		return offersName(p, q)
	}
	for _, v := range p.values {
		if q.want.has(v.Kind) && !strings.Contains(q.foldText, " "+fold(p.text[v.Start:v.End])+" ") {
			return true
		}
	}
	return false
}

// placeCopula reports whether words[i] follows a copula whose subject is a
// place noun or ends in one (typeNouns asking for a place: "X's birthplace
// is Y", "the home town was Y", "der Geburtsort ist Y"), which names a place
// as a place preposition does.
func placeCopula(words []word, i int) bool {
	if i < 2 || !copulas[words[i-1].fold] {
		return false
	}
	subject := words[i-2].fold
	for noun, k := range typeNouns {
		if k == wantPlace && strings.HasSuffix(subject, noun) {
			return true
		}
	}
	return false
}

// offersName reports whether p holds a capitalized name that is not the
// question's, not part of a value ("°C", "März") and, for a place, comes
// after a place preposition (for a person, not).
func offersName(p *psg, q question) bool {
	asked := map[string]bool{}
	for _, w := range q.words {
		asked[w.stem] = true
	}
	inValue := func(w word) bool {
		for _, v := range p.values {
			if w.start < v.End && w.end > v.Start {
				return true
			}
		}
		return false
	}
	for i, w := range p.words {
		if !capitalized(w.raw) || asked[w.stem] || lexical(w) || inValue(w) {
			continue
		}
		if i > 0 {
			prev := p.words[i-1]
			if capitalized(prev.raw) && !stopwords[prev.fold] && !asked[prev.stem] && !inValue(prev) && p.text[prev.end:w.start] == " " {
				continue // inside a name already judged by its first word
			}
		}
		afterPlace := i > 0 && placePrepositions[p.words[i-1].fold] || placeCopula(p.words, i)
		if afterPlace == (q.want == wantPlace) {
			return true
		}
	}
	return false
}
