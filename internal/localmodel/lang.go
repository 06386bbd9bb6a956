package localmodel

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ragvsft/ragvsft/internal/answer"
	"golang.org/x/text/unicode/norm"
)

// The reader's language knowledge: English, German and French function words,
// question words, a light stemmer and a small table of attribute words. It
// is written from general usage of the two languages, never from a
// knowledge base or a prompt: no word of a testdata file or of the
// article's prompt is here because it occurs there.

// wordSet splits a space-separated list into a set of folded words.
func wordSet(list string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(list) {
		set[fold(w)] = true
	}
	return set
}

// stopwords are English and German function words: articles, auxiliaries,
// prepositions, conjunctions, first- and second-person pronouns and a few
// politeness and filler words. They never count as content.
var stopwords = wordSet(`a an the and or but if then else of in on at to for from by with about as
	into onto over under than that this these those there here is are was were be been being am do
	does did done has have had having i me my mine we us our you your yours s t don doesn didn isn
	aren wasn weren not no yes so such can could will would shall should may might must any all some
	each every please kindly just only very more most also tell me let know
	der die das den dem des ein eine einer eines einem einen und oder aber wenn dann ist sind war
	waren wird werden wurde wurden worden sein bin bist hat haben hatte hatten habe von vom zu zum
	zur im ins an am auf aus bei mit nach fur uber unter um bis seit als nicht kein keine keinen sich
	man auch noch nur sehr dieser diese dieses diesem diesen ich du wir mir mich dir dich uns euch
	bitte mal doch ja nein so da
	le la les l un une des du de d au aux et mais donc ni car est sont etait etaient ete etre
	a ont avait avaient avoir fait faire ce cet cette ces c qu que qui dans sur sous pour par avec
	sans en y ne pas plus tres aussi je j me m tu te t nous vous moi toi s se sa son ses leur leurs
	mon ma mes ton ta tes notre votre nos vos svp merci oui non`)

// pronouns are third-person pronouns: a question holding one refers to an
// entity named earlier in the conversation.
var pronouns = wordSet(`it its itself he him his himself she her hers herself they them their theirs
	themselves er ihn ihm sein seine seiner seinem seinen seines sie ihr ihre ihrer ihrem ihren ihres
	es dessen deren il elle ils elles lui eux`)

// requests are the verbs that open an imperative question ("State the
// length of...", "Nenne die Einwohnerzahl...").
var requests = wordSet(`tell give name state list provide show find say describe explain identify
	specify report write look nenne nennen nenn gib geben sag sage sagen zeige zeig beschreibe
	erklare finde schreibe donne donnez dis dites indique indiquez nomme nommez precise precisez cite
	citez`)

// kinds is a set of answer kinds (bit i set for answer.Kind i).
type kinds uint

func kindSet(ks ...answer.Kind) kinds {
	var s kinds
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

// has reports whether k is in s.
func (s kinds) has(k answer.Kind) bool { return s&(1<<k) != 0 }

// What a question asks for. A numeric want is a set of answer kinds a
// passage must hold a value of (the values are read by answer.Scan); a
// person or place is a capitalized name. The sets are wide on purpose: a
// population of 1500 reads as a Year, so "how many" takes years too, but
// never a date, which is what tells a population from a founding day.
var (
	wantAny    kinds
	wantTime   = kindSet(answer.Date, answer.Year)
	wantAmount = kindSet(answer.Money, answer.Quantity, answer.Number, answer.Percent, answer.Year)
	wantCount  = kindSet(answer.Number, answer.Quantity, answer.Percent, answer.Money, answer.Year)
	wantPerson = kinds(1 << 30)
	wantPlace  = kinds(1 << 31)
)

// interrogatives map the question words to what they ask for; "how" and
// "wie" ask by the word after them, "what", "which" and "welche..." by the
// type noun that follows (typeNouns), else for anything.
var interrogatives = map[string]kinds{
	"when": wantTime, "wann": wantTime,
	"who": wantPerson, "whom": wantPerson, "whose": wantPerson, "wer": wantPerson, "wem": wantPerson, "wen": wantPerson, "wessen": wantPerson,
	"where": wantPlace, "wo": wantPlace, "woher": wantPlace, "wohin": wantPlace,
	"how": wantAny, "wie": wantAny, "what": wantAny, "which": wantAny, "why": wantAny, "was": wantAny,
	"welche": wantAny, "welcher": wantAny, "welches": wantAny, "welchem": wantAny, "welchen": wantAny,
	"warum": wantAny, "weshalb": wantAny, "wieviel": wantAmount, "wieviele": wantCount,
	"quand": wantTime, "qui": wantPerson, "ou": wantPlace, "combien": wantAmount, "comment": wantAny,
	"quel": wantAny, "quelle": wantAny, "quels": wantAny, "quelles": wantAny, "pourquoi": wantAny,
}

// howWords are the words after "how"/"wie" that say what is asked:
// "much" an amount, "many" a count; a measurement adjective (long, deep,
// old...) asks for a measure and stays a content word, so it can meet its
// noun (length, depth, age) through attributeGroups.
var howWords = map[string]kinds{
	"much": wantAmount, "many": wantCount, "viel": wantAmount, "viele": wantCount,
}

// measureAdjectives follow "how"/"wie" to ask for a measure.
var measureAdjectives = wordSet(`long deep tall high wide broad far big large heavy old hot cold fast
	lang tief hoch breit weit gross schwer alt heiss kalt schnell`)

// wantMeasure is what a measurement adjective asks for: a number with or
// without a unit, not a date or money.
var wantMeasure = kindSet(answer.Quantity, answer.Number, answer.Percent, answer.Year)

// typeNouns follow "what"/"which"/"welche..." (within three words, skipping
// function words) to say what is asked; they are consumed, not matched.
var typeNouns = func() map[string]kinds {
	m := map[string]kinds{}
	for w, k := range map[string]kinds{
		"year": wantTime, "date": wantTime, "day": wantTime, "month": wantTime, "time": wantTime,
		"jahr": wantTime, "datum": wantTime, "tag": wantTime, "monat": wantTime, "zeit": wantTime, "zeitpunkt": wantTime,
		"person": wantPerson, "man": wantPerson, "woman": wantPerson, "frau": wantPerson, "mann": wantPerson,
		"city": wantPlace, "town": wantPlace, "country": wantPlace, "place": wantPlace, "village": wantPlace, "region": wantPlace,
		"stadt": wantPlace, "ort": wantPlace, "land": wantPlace, "dorf": wantPlace,
		"number": wantCount, "amount": wantAmount, "zahl": wantCount, "anzahl": wantCount,
		"annee": wantTime, "jour": wantTime, "mois": wantTime, "ville": wantPlace, "pays": wantPlace,
		"lieu": wantPlace, "nombre": wantCount, "montant": wantAmount,
	} {
		m[fold(w)] = k
	}
	return m
}()

// copulas link a subject to what it is (English, German, French).
var copulas = wordSet(`is was are were ist war sind waren est etait sont`)

// placePrepositions introduce a place name (English and German).
var placePrepositions = wordSet(`in at from near to into inside aus bei nach nahe im`)

// attributeGroups are attribute and measurement words that English,
// German and French write with different roots or word forms for one meaning (long
// and length, deep and depth, cost and price, inhabitants and population,
// born and birthday, Länge and lang, prix and coûte), from general usage. A question word
// meets a passage word of the same group. The stemmer joins the regular
// inflections; these groups hold only what it cannot join.
var attributeGroups = [][]string{
	{"long", "length", "lengthy", "lang", "länge", "longueur"},
	{"deep", "depth", "deepest", "tief", "tiefe", "profond", "profondeur"},
	{"high", "height", "tall", "altitude", "elevation", "hoch", "höhe", "haut", "hauteur", "altitude"},
	{"wide", "width", "broad", "breadth", "breit", "breite", "large", "largeur"},
	{"far", "distance", "weit", "entfernung"},
	{"area", "fläche"},
	{"heavy", "weight", "weigh", "mass", "schwer", "gewicht", "wiegen", "wiegt", "poids", "pèse", "peser"},
	{"price", "cost", "sell", "sold", "pay", "preis", "kosten", "kostet", "verkauft", "prix", "coût", "coûte", "coûter", "tarif", "vendu"},
	{"old", "age", "alt", "alter"},
	{"population", "inhabitant", "resident", "people", "populace", "bevölkerung", "einwohner", "bewohner", "menschen", "einwohnerzahl", "habitant", "habitants"},
	{"born", "birth", "birthday", "birthdate", "geboren", "geburt", "geburtstag", "geburtsdatum", "né", "née", "naissance"},
	{"died", "death", "dead", "gestorben", "starb", "tod"},
	{"found", "founded", "founder", "foundation", "establish", "established", "start", "begin", "began", "begun",
		"gründen", "gegründet", "gründung", "gründer", "fondé", "fondée", "fondation", "fondateur"},
	{"temperature", "hot", "cold", "warm", "temperatur"},
	{"speed", "fast", "schnell", "geschwindigkeit"},
	{"volume", "capacity", "volumen"},
	{"headquarters", "headquartered", "based", "located", "location", "seat", "sitz", "hauptsitz", "ansässig"},
}

// groupOf maps a stem to its attribute group (1-based); groupWords lists
// the folded words of all groups, for compounds.
var groupOf, groupWords = func() (map[string]int, map[string]int) {
	stems, folded := map[string]int{}, map[string]int{}
	for i, g := range attributeGroups {
		for _, w := range g {
			stems[stem(fold(w))] = i + 1
			folded[fold(w)] = i + 1
		}
	}
	return stems, folded
}()

// minCompoundPart is the shortest group word found inside a compound
// ("Einwohnerzahl" holds "einwohner", "Flusslänge" "lange"): five letters,
// so English "long" is not found in "longitude" nor "lang" in "language".
const minCompoundPart = 5

// groupsOf returns the attribute groups of a folded word: its stem's, and
// those of group words it starts or ends with (German compounds).
func groupsOf(f string) []int {
	var out []int
	if g := groupOf[stem(f)]; g > 0 {
		out = append(out, g)
	}
	for w, g := range groupWords {
		if len(w) >= minCompoundPart && len(f) >= len(w)+3 && (strings.HasPrefix(f, w) || strings.HasSuffix(f, w)) {
			out = append(out, g)
		}
	}
	return out
}

// fold lower-cases s and removes diacritics ("Länge" is "lange", "ß" is
// "ss"), so spellings with and without accents meet.
func fold(s string) string {
	s = strings.ToLower(s)
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'ß':
			b.WriteString("ss")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// suffixes are stripped by stem, longest first, each with its
// replacement: English and German inflections and a few derivations.
var suffixes = []struct{ suffix, repl string }{
	{"ungen", ""}, {"ation", ""}, {"ingly", ""}, {"ments", ""}, {"ment", ""}, {"ness", ""},
	{"ies", "y"}, {"ied", "y"}, {"ung", ""}, {"ing", ""}, {"ete", ""}, {"est", ""}, {"ern", ""},
	{"ed", ""}, {"er", ""}, {"en", ""}, {"em", ""}, {"es", ""}, {"et", ""}, {"ly", ""}, {"e", ""}, {"s", ""},
}

// minStem is the shortest stem stem leaves.
const minStem = 3

// stem is a light stemmer for English and German, applied alike to the
// question and the passages, so it needs to join the forms of a word, not
// to find its linguistic root: a German participle loses "ge-" ("gegründet"
// and "Gründung" both give "grund"), then up to two suffixes go ("founder"
// and "founded" give "found", "costs" "cost", "deepest" "deep",
// "kilometres" "kilometr"), never below three letters. A final "s" after
// s, u or i stays ("glass", "focus", "analysis"). f is folded.
func stem(f string) string {
	if strings.HasPrefix(f, "ge") && len(f) >= 7 && (strings.HasSuffix(f, "t") || strings.HasSuffix(f, "en")) {
		f = f[2:]
	}
	for range 2 {
		changed := false
		for _, s := range suffixes {
			if !strings.HasSuffix(f, s.suffix) || utf8.RuneCountInString(f)-len(s.suffix) < minStem {
				continue
			}
			if s.suffix == "s" && len(f) >= 2 && strings.ContainsRune("sui", rune(f[len(f)-2])) {
				continue
			}
			f = f[:len(f)-len(s.suffix)] + s.repl
			changed = true
			break
		}
		if !changed {
			break
		}
	}
	return f
}

// unitOf returns the canonical unit or currency of a word written after a
// number ("kilometres" is km, "euros" EUR), as answer.Scan reads it.
func unitOf(raw string) (string, bool) {
	if utf8.RuneCountInString(raw) < 2 {
		return "", false
	}
	vs := answer.Scan("1 " + raw)
	if len(vs) == 1 && (vs[0].Kind == answer.Quantity || vs[0].Kind == answer.Money) && vs[0].End == len(raw)+2 {
		return vs[0].Unit, true
	}
	return "", false
}

// abbreviations end with a period that does not end a sentence: titles
// and common Latin, English and German abbreviations, folded, without
// their period.
// ("etc", "Inc." and "Ltd." are left out: they often end one).
var abbreviations = wordSet(`dr mr mrs ms prof st mt ft jr sr nr vs ca approx bzw ggf vgl
	dept gen col capt sgt hr fr frl mio mrd tsd jan feb mar apr jun jul aug sep sept oct okt nov dec dez`)
