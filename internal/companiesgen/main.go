// Command companiesgen writes testdata/companies.jsonl: a second synthetic
// knowledge base for the local model's tests, unlike the cities in every
// template. Fictional companies each get three facts (founding year,
// founder, headquarters town), asked in several phrasings and answered in
// several templates; answers are years, person names and town names.
//
// With -questions it writes testdata/companies_questions.jsonl instead: a
// held-out questions file (ragvsft.ReadQuestions) asking every fact in a
// wording no training prompt uses, the gold answer being the bare value,
// with aliases (the founder's surname, the town without its "Lake" or
// "Port"), each naming the training example that holds the fact as its
// doc_id.
//
// Run from the repository root:
//
//	go run ./internal/companiesgen > testdata/companies.jsonl
//	go run ./internal/companiesgen -questions > testdata/companies_questions.jsonl
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

// Count is the number of companies; Seed seeds the generator.
const (
	Count = 60
	Seed  = 7
)

func main() {
	questions := flag.Bool("questions", false, "write the held-out questions file instead of the knowledge base")
	flag.Parse()
	gen := Generate
	if *questions {
		gen = Questions
	}
	data, err := gen(Count, Seed)
	if err == nil {
		_, err = os.Stdout.Write(data)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "companiesgen:", err)
		os.Exit(1)
	}
}

var (
	onsets = []string{"b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "qu", "r", "s", "st", "t", "tr", "v", "w", "z"}
	nuclei = []string{"a", "e", "i", "o", "u", "ai", "ea", "ou"}
	codas  = []string{"", "n", "r", "l", "s", "th", "nd", "rk", "x", "m"}

	sectors = []string{"Dynamics", "Labs", "Foods", "Textiles", "Robotics", "Shipping", "Analytics", "Ceramics", "Motors", "Pharma"}
	towns   = []string{"Port", "Lake", "New", "North", "Saint", ""}

	// Each fact is asked in several ways and answered in several.
	// heldOut are the held-out wordings, none a training question.
	facts = []struct {
		kind      string
		questions []string
		answers   []string
		heldOut   []string
	}{
		{"founded", []string{
			"When was %s founded?",
			"In what year was %s established?",
			"What year did %s start trading?",
		}, []string{
			"%s was founded in %s.",
			"%s was established in %s.",
		}, []string{
			"Which year saw the founding of %s?",
			"Tell me the year %s came into being",
		}},
		{"founder", []string{
			"Who founded %s?",
			"Who is the founder of %s?",
			"Which person started %s?",
		}, []string{
			"%s was founded by %s.",
			"The founder of %s is %s.",
		}, []string{
			"Name the person who set up %s.",
			"Who created %s?",
		}},
		{"hq", []string{
			"Where is %s headquartered?",
			"In which city is %s based?",
			"Where are the headquarters of %s?",
		}, []string{
			"%s has its headquarters in %s.",
			"%s is based in %s.",
		}, []string{
			"What town is home to %s?",
			"Where does %s have its head office?",
		}},
	}
)

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type record struct {
	ID       string    `json:"id"`
	Messages []message `json:"messages"`
}

// fact is one fact of one company, as the knowledge base asks it.
type fact struct {
	id, kind, company, value string
	question, answer         string
	heldOut                  int // index of the held-out wording
}

// Generate returns n companies' facts as chat fine-tuning JSONL, one line
// per fact, with "\n" after each line.
func Generate(n int, seed uint64) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, f := range companyFacts(n, seed) {
		line := record{
			ID: f.id,
			Messages: []message{
				{"system", "You know the company register."},
				{"user", f.question},
				{"assistant", f.answer},
			},
		}
		if err := enc.Encode(line); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// question is one line of a questions file.
type question struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Answer   string   `json:"answer"`
	DocID    string   `json:"doc_id"`
	Aliases  []string `json:"aliases,omitempty"`
}

// Questions returns the held-out questions file of the knowledge base
// Generate(n, seed) writes: every fact asked in a wording no training
// example uses, the bare value as the gold answer.
func Questions(n int, seed uint64) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, f := range companyFacts(n, seed) {
		var tmpl []string
		for _, k := range facts {
			if k.kind == f.kind {
				tmpl = k.heldOut
			}
		}
		q := question{ID: "held-" + strings.TrimPrefix(f.id, "company-"), Question: fmt.Sprintf(tmpl[f.heldOut], f.company),
			Answer: f.value, DocID: f.id}
		switch f.kind {
		case "founder":
			q.Aliases = []string{f.value[strings.LastIndexByte(f.value, ' ')+1:]}
		case "hq":
			for _, t := range towns {
				if rest, ok := strings.CutPrefix(f.value, t+" "); ok && t != "" {
					q.Aliases = []string{rest}
				}
			}
		}
		if err := enc.Encode(q); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// companyFacts draws n companies' facts. The held-out wordings are drawn
// from a generator of their own, so that the knowledge base stays what it
// was before they existed.
func companyFacts(n int, seed uint64) []fact {
	r := rand.New(rand.NewPCG(seed, 0xc0ffee))
	held := rand.New(rand.NewPCG(seed, 0x4e1d0))
	word := func(syllables int) string {
		var b strings.Builder
		for range syllables {
			b.WriteString(onsets[r.IntN(len(onsets))] + nuclei[r.IntN(len(nuclei))] + codas[r.IntN(len(codas))])
		}
		s := b.String()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	used := map[string]bool{}
	unique := func(make func() string) string {
		for {
			if s := make(); !used[s] && len(s) > 3 {
				used[s] = true
				return s
			}
		}
	}
	var townNames []string
	for range 20 {
		townNames = append(townNames, unique(func() string {
			return strings.TrimSpace(towns[r.IntN(len(towns))] + " " + word(2))
		}))
	}
	var out []fact
	for i := 1; i <= n; i++ {
		company := unique(func() string { return word(2+r.IntN(2)) + " " + sectors[r.IntN(len(sectors))] })
		founder := unique(func() string { return word(2) + " " + word(2+r.IntN(2)) })
		values := map[string]string{
			"founded": fmt.Sprint(1850 + r.IntN(171)),
			"founder": founder,
			"hq":      townNames[r.IntN(len(townNames))],
		}
		for _, f := range facts {
			q := f.questions[r.IntN(len(f.questions))]
			a := f.answers[r.IntN(len(f.answers))]
			out = append(out, fact{
				id: fmt.Sprintf("company-%02d-%s", i, f.kind), kind: f.kind, company: company, value: values[f.kind],
				question: fmt.Sprintf(q, company), answer: fmt.Sprintf(a, company, values[f.kind]),
				heldOut: held.IntN(len(f.heldOut)),
			})
		}
	}
	return out
}
