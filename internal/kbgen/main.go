// Command kbgen writes the typed knowledge bases of testdata: synthetic,
// fictional facts whose answers are dates, money, quantities and German
// text, for the tests of the typed evaluators. Each differs from the cities,
// from the companies and from the others in every template:
//
//   - people.jsonl: 60 people, two facts each, both dates written out in
//     English forms ("born on 11 March 1974", "born on March 11, 1974",
//     "joined the guild in May 1999", a month and year only).
//   - products.jsonl: 60 products, three facts each: the price with its
//     currency ("$69.99", "€12,50", "12.50 EUR", "£8.25"), the SKU (text)
//     and the weight ("1.25 kg", "850 g").
//   - rivers.jsonl: 60 rivers, two facts each: length in km and depth in
//     m, with decimals; half the questions are instructions without a
//     question mark ("State the length of the Virode River in
//     kilometres.").
//   - german.jsonl: 40 German towns (population written "1.234.567",
//     founding date "am 23. Mai 1205") and 30 rivers (length "312,5 km"),
//     asked and answered in German.
//   - french.jsonl: 30 French castles, three facts each, asked and
//     answered in French: the opening date written out ("le 1er mars
//     1652"), the entrance fee ("12,50 €", "8,00 euros") and the height of
//     the keep ("35,4 m"); a third of the questions are instructions
//     without a question mark ("Indique la hauteur du donjon de ...").
//     Made after the local embedding and reader were fitted to the
//     others, to check that nothing is fitted to them.
//
// Each knowledge base NAME.jsonl comes with NAME_questions.jsonl, a
// questions file (ragvsft.ReadQuestions) asking every fact once more in a
// wording of its kind that no training prompt uses (held-out wordings, for
// -questions and Experiment.Paraphrases), with the bare value as gold. The
// held-out templates were written with the training templates in view and
// not changed after any measurement.
//
// Run from the repository root:
//
//	go run ./internal/kbgen -dir testdata
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Seed seeds every knowledge base's generator.
const Seed = 11

// Generators are the knowledge bases by file name. Each returns the
// knowledge base and its held-out questions file.
var Generators = map[string]func(seed uint64) (kb, questions []byte, err error){
	"people.jsonl":   People,
	"products.jsonl": Products,
	"rivers.jsonl":   Rivers,
	"german.jsonl":   German,
	"french.jsonl":   French,
}

func main() {
	dir := flag.String("dir", "testdata", "folder to write the knowledge bases into")
	flag.Parse()
	for name, gen := range Generators {
		data, questions, err := gen(Seed)
		if err == nil {
			err = os.WriteFile(filepath.Join(*dir, name), data, 0o644)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(*dir, QuestionsFile(name)), questions, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kbgen:", name+":", err)
			os.Exit(1)
		}
	}
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type record struct {
	ID       string    `json:"id"`
	Messages []message `json:"messages"`
}

// question is one line of a questions file.
type question struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
	DocID    string `json:"doc_id"`
}

// QuestionsFile is the name of the held-out questions file of the
// knowledge base name: people.jsonl's is people_questions.jsonl.
func QuestionsFile(name string) string {
	return strings.TrimSuffix(name, ".jsonl") + "_questions.jsonl"
}

// names makes unique invented words from syllables.
type names struct {
	r    *rand.Rand
	used map[string]bool
}

var (
	onsets = []string{"b", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "kr", "pl", "sk", "tr", "gl"}
	nuclei = []string{"a", "e", "i", "o", "u", "ei", "ia", "oa", "y"}
	codas  = []string{"", "", "n", "r", "s", "l", "k", "t", "m", "v"}
)

func (n *names) word(syllables int) string {
	for {
		var b strings.Builder
		for range syllables {
			b.WriteString(onsets[n.r.IntN(len(onsets))] + nuclei[n.r.IntN(len(nuclei))] + codas[n.r.IntN(len(codas))])
		}
		s := b.String()
		s = strings.ToUpper(s[:1]) + s[1:]
		if !n.used[s] && len(s) > 3 {
			n.used[s] = true
			return s
		}
	}
}

// fact is one kind of fact: its id suffix, questions and answer templates,
// and the held-out question template no training line uses. A question
// holds %[1]s for the entity; an answer %[1]s for the entity and %[2]s for
// the value.
type fact struct {
	kind      string
	questions []string
	answers   []string
	heldOut   string
}

// writer encodes lines, choosing each fact's question and answer template,
// and the held-out question of each line.
type writer struct {
	r    *rand.Rand
	b, q bytes.Buffer
	enc  *json.Encoder
	qenc *json.Encoder
}

func newWriter(r *rand.Rand) *writer {
	w := &writer{r: r}
	w.enc = json.NewEncoder(&w.b)
	w.enc.SetEscapeHTML(false)
	w.qenc = json.NewEncoder(&w.q)
	w.qenc.SetEscapeHTML(false)
	return w
}

func (w *writer) line(id, system string, f fact, entity, value string) error {
	q := f.questions[w.r.IntN(len(f.questions))]
	a := f.answers[w.r.IntN(len(f.answers))]
	doc := id + "-" + f.kind
	if err := w.enc.Encode(record{ID: doc, Messages: []message{
		{"system", system},
		{"user", fmt.Sprintf(q, entity)},
		{"assistant", fmt.Sprintf(a, entity, value)},
	}}); err != nil {
		return err
	}
	// The held-out question draws nothing from r: the knowledge base is
	// the same with or without it.
	return w.qenc.Encode(question{ID: "held-" + doc, Question: fmt.Sprintf(f.heldOut, entity), Answer: value, DocID: doc})
}

// done returns what w wrote.
func (w *writer) done() ([]byte, []byte, error) { return w.b.Bytes(), w.q.Bytes(), nil }

var englishMonths = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

// People writes 60 people with a birth date and a month-and-year fact.
func People(seed uint64) (kb, questions []byte, err error) {
	r := rand.New(rand.NewPCG(seed, 1))
	n := &names{r: r, used: map[string]bool{}}
	w := newWriter(r)
	born := fact{"born", []string{
		"When was %s born?",
		"On what date was %s born?",
		"What is the date of birth of %s?",
	}, []string{
		"%s was born on %s.",
		"%s's birthday is %s.",
	}, "Tell me the birth date of %s."}
	joined := fact{"joined", []string{
		"When did %s join the guild?",
		"In which month did %s become a guild member?",
	}, []string{
		"%s joined the guild in %s.",
		"%s became a member of the guild in %s.",
	}, "Since when has %s been a member of the guild?"}
	guilds := []string{"weavers'", "glassblowers'", "cartographers'", "bookbinders'", "clockmakers'"}
	for i := 1; i <= 60; i++ {
		person := n.word(2) + " " + n.word(2)
		year := 1900 + r.IntN(100)
		month := 1 + r.IntN(12)
		day := 1 + r.IntN(28)
		var date string
		switch r.IntN(3) {
		case 0:
			date = fmt.Sprintf("%d %s %d", day, englishMonths[month-1], year)
		case 1:
			date = fmt.Sprintf("%s %d, %d", englishMonths[month-1], day, year)
		default:
			date = fmt.Sprintf("the %s of %s %d", ordinal(day), englishMonths[month-1], year)
		}
		system := "You keep the records of the " + guilds[r.IntN(len(guilds))] + " guild."
		id := fmt.Sprintf("person-%02d", i)
		if err := w.line(id, system, born, person, date); err != nil {
			return nil, nil, err
		}
		joinedAt := fmt.Sprintf("%s %d", englishMonths[r.IntN(12)], year+18+r.IntN(30))
		if err := w.line(id, system, joined, person, joinedAt); err != nil {
			return nil, nil, err
		}
	}
	return w.done()
}

func ordinal(d int) string {
	switch {
	case d%10 == 1 && d != 11:
		return fmt.Sprintf("%dst", d)
	case d%10 == 2 && d != 12:
		return fmt.Sprintf("%dnd", d)
	case d%10 == 3 && d != 13:
		return fmt.Sprintf("%drd", d)
	}
	return fmt.Sprintf("%dth", d)
}

// Products writes 60 products with a price, a SKU and a weight.
func Products(seed uint64) (kb, questions []byte, err error) {
	r := rand.New(rand.NewPCG(seed, 2))
	n := &names{r: r, used: map[string]bool{}}
	w := newWriter(r)
	kinds := []string{"Kettle", "Lamp", "Backpack", "Blender", "Drill", "Chair", "Toaster", "Tent", "Speaker", "Grinder"}
	price := fact{"price", []string{
		"How much does the %s cost?",
		"What is the price of the %s?",
		"What does the %s sell for?",
	}, []string{
		"The %s costs %s.",
		"The %s sells for %s.",
		"The price of the %s is %s.",
	}, "Tell me what the %s costs"}
	sku := fact{"sku", []string{
		"What is the SKU of the %s?",
		"Which stock-keeping unit code does the %s have?",
	}, []string{
		"The SKU of the %s is %s.",
		"The %s has the stock-keeping unit code %s.",
	}, "Give me the product code of the %s."}
	weight := fact{"weight", []string{
		"How much does the %s weigh?",
		"What is the weight of the %s?",
	}, []string{
		"The %s weighs %s.",
		"The weight of the %s is %s.",
	}, "How heavy is the %s?"}
	for i := 1; i <= 60; i++ {
		product := n.word(2) + " " + kinds[r.IntN(len(kinds))]
		cents := 199 + r.IntN(30000)
		whole, frac := cents/100, cents%100
		var amount string
		switch r.IntN(4) {
		case 0:
			amount = fmt.Sprintf("$%d.%02d", whole, frac)
		case 1:
			amount = fmt.Sprintf("€%d,%02d", whole, frac)
		case 2:
			amount = fmt.Sprintf("%d.%02d EUR", whole, frac)
		default:
			amount = fmt.Sprintf("£%d.%02d", whole, frac)
		}
		code := strings.ToUpper(product[:2]) + fmt.Sprintf("-%04d-", 1000+r.IntN(9000)) + string(rune('A'+r.IntN(26)))
		var mass string
		if g := 150 + r.IntN(9000); g < 1000 {
			mass = fmt.Sprintf("%d g", g)
		} else {
			mass = fmt.Sprintf("%.2f kg", float64(g)/1000)
		}
		system := "You know the catalogue of the Brightwater store."
		id := fmt.Sprintf("product-%02d", i)
		for _, f := range []struct {
			fact  fact
			value string
		}{{price, amount}, {sku, code}, {weight, mass}} {
			if err := w.line(id, system, f.fact, product, f.value); err != nil {
				return nil, nil, err
			}
		}
	}
	return w.done()
}

// Rivers writes 60 rivers with a length in km and a depth in m.
func Rivers(seed uint64) (kb, questions []byte, err error) {
	r := rand.New(rand.NewPCG(seed, 3))
	n := &names{r: r, used: map[string]bool{}}
	w := newWriter(r)
	length := fact{"length", []string{
		"How long is the %s?",
		"What is the length of the %s?",
		"State the length of the %s in kilometres.",
		"Give the total length of the %s",
	}, []string{
		"The %s is %s long.",
		"The %s has a length of %s.",
	}, "Over what distance does the %s flow?"}
	depth := fact{"depth", []string{
		"How deep is the %s at its deepest point?",
		"What is the maximum depth of the %s?",
		"Tell me the greatest depth of the %s.",
		"Name the maximum depth of the %s in metres",
	}, []string{
		"The %s is %s deep at its deepest point.",
		"The maximum depth of the %s is %s.",
	}, "What depth does the %s reach at most?"}
	for i := 1; i <= 60; i++ {
		river := n.word(2+r.IntN(2)) + " River"
		km := fmt.Sprintf("%.1f km", 20+float64(r.IntN(40000))/10)
		if r.IntN(3) == 0 {
			km = fmt.Sprintf("%.1f kilometres", 20+float64(r.IntN(40000))/10)
		}
		m := fmt.Sprintf("%.1f m", 1+float64(r.IntN(600))/10)
		system := "You are the river atlas."
		id := fmt.Sprintf("river-%02d", i)
		if err := w.line(id, system, length, river, km); err != nil {
			return nil, nil, err
		}
		if err := w.line(id, system, depth, river, m); err != nil {
			return nil, nil, err
		}
	}
	return w.done()
}

var germanMonths = []string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}

// German writes 40 towns (population, founding date) and 30 rivers
// (length), in German.
func German(seed uint64) (kb, questions []byte, err error) {
	r := rand.New(rand.NewPCG(seed, 4))
	n := &names{r: r, used: map[string]bool{}}
	w := newWriter(r)
	population := fact{"einwohner", []string{
		"Wie viele Einwohner hat %s?",
		"Wie groß ist die Bevölkerung von %s?",
		"Nenne die Einwohnerzahl von %s.",
	}, []string{
		"%s hat %s Einwohner.",
		"In %s leben %s Menschen.",
	}, "Sag mir, wie viele Menschen in %s leben."}
	founded := fact{"gegruendet", []string{
		"Wann wurde %s gegründet?",
		"An welchem Tag wurde %s gegründet?",
	}, []string{
		"%s wurde am %s gegründet.",
		"Die Gründung von %s war am %s.",
	}, "Seit wann gibt es %s?"}
	length := fact{"laenge", []string{
		"Wie lang ist die %s?",
		"Welche Länge hat die %s?",
		"Gib die Länge der %s in Kilometern an.",
	}, []string{
		"Die %s ist %s lang.",
		"Die Länge der %s beträgt %s.",
	}, "Über wie viele Kilometer erstreckt sich die %s?"}
	system := "Du bist ein Ortslexikon."
	for i := 1; i <= 40; i++ {
		town := n.word(2) + []string{"ingen", "hausen", "dorf", "berg", "stadt"}[r.IntN(5)]
		people := 1000000 + r.IntN(3000000) // two periods: "1.234" alone would read as 1.234
		pop := dots(people)
		date := fmt.Sprintf("%d. %s %d", 1+r.IntN(28), germanMonths[r.IntN(12)], 1100+r.IntN(800))
		id := fmt.Sprintf("stadt-%02d", i)
		if err := w.line(id, system, population, town, pop); err != nil {
			return nil, nil, err
		}
		if err := w.line(id, system, founded, town, date); err != nil {
			return nil, nil, err
		}
	}
	for i := 1; i <= 30; i++ {
		river := n.word(2) + []string{"a", "ach", "au", "bach"}[r.IntN(4)]
		km := strings.Replace(fmt.Sprintf("%.1f km", 5+float64(r.IntN(12000))/10), ".", ",", 1)
		if err := w.line(fmt.Sprintf("fluss-%02d", i), system, length, river, km); err != nil {
			return nil, nil, err
		}
	}
	return w.done()
}

// dots writes n with periods between thousands, as in German.
func dots(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	return b.String()
}

var frenchMonths = []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// French writes 30 castles with an opening date, an entrance fee and the
// height of the keep, in French.
func French(seed uint64) (kb, questions []byte, err error) {
	r := rand.New(rand.NewPCG(seed, 5))
	n := &names{r: r, used: map[string]bool{}}
	w := newWriter(r)
	opened := fact{"ouverture", []string{
		"Quand le château de %s a-t-il ouvert ses portes ?",
		"En quelle année et quel jour le château de %s a-t-il ouvert au public ?",
		"Donne la date d'ouverture du château de %s",
	}, []string{
		"Le château de %s a ouvert ses portes le %s.",
		"L'ouverture du château de %s au public date du %s.",
	}, "À quelle date le château de %s a-t-il été ouvert ?"}
	fee := fact{"entree", []string{
		"Combien coûte l'entrée du château de %s ?",
		"Quel est le prix d'entrée du château de %s ?",
		"Indique le tarif d'entrée du château de %s",
	}, []string{
		"L'entrée du château de %s coûte %s.",
		"Le tarif d'entrée du château de %s est de %s.",
	}, "Quel est le prix du billet pour le château de %s ?"}
	height := fact{"donjon", []string{
		"Quelle est la hauteur du donjon du château de %s ?",
		"Quelle hauteur atteint le donjon du château de %s ?",
		"Indique la hauteur du donjon du château de %s en mètres.",
	}, []string{
		"Le donjon du château de %s mesure %s de haut.",
		"La hauteur du donjon du château de %s est de %s.",
	}, "Dis-moi combien mesure le donjon du château de %s."}
	system := "Tu es le guide des châteaux de France."
	for i := 1; i <= 30; i++ {
		castle := n.word(2) + []string{"", "court", "mont", "ville", "fleury"}[r.IntN(5)]
		day := 1 + r.IntN(28)
		d := fmt.Sprint(day)
		if day == 1 {
			d = "1er"
		}
		date := fmt.Sprintf("%s %s %d", d, frenchMonths[r.IntN(12)], 1850+r.IntN(170))
		cents := 300 + r.IntN(2000)
		amount := fmt.Sprintf("%d,%02d €", cents/100, cents%100)
		if r.IntN(2) == 0 {
			amount = fmt.Sprintf("%d,%02d euros", cents/100, cents%100)
		}
		keep := strings.Replace(fmt.Sprintf("%.1f m", 12+float64(r.IntN(600))/10), ".", ",", 1)
		id := fmt.Sprintf("chateau-%02d", i)
		for _, f := range []struct {
			fact  fact
			value string
		}{{opened, date}, {fee, amount}, {height, keep}} {
			if err := w.line(id, system, f.fact, castle, f.value); err != nil {
				return nil, nil, err
			}
		}
	}
	return w.done()
}
