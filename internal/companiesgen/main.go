// Command companiesgen writes testdata/companies.jsonl: a second synthetic
// knowledge base for the local model's tests, unlike the cities in every
// template. Fictional companies each get three facts (founding year,
// founder, headquarters town), asked in several phrasings and answered in
// several templates; answers are years, person names and town names.
//
// Run from the repository root:
//
//	go run ./internal/companiesgen > testdata/companies.jsonl
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

// Count is the number of companies.
const Count = 60

func main() {
	data, err := Generate(Count, 7)
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
	facts = []struct {
		kind      string
		questions []string
		answers   []string
	}{
		{"founded", []string{
			"When was %s founded?",
			"In what year was %s established?",
			"What year did %s start trading?",
		}, []string{
			"%s was founded in %s.",
			"%s was established in %s.",
		}},
		{"founder", []string{
			"Who founded %s?",
			"Who is the founder of %s?",
			"Which person started %s?",
		}, []string{
			"%s was founded by %s.",
			"The founder of %s is %s.",
		}},
		{"hq", []string{
			"Where is %s headquartered?",
			"In which city is %s based?",
			"Where are the headquarters of %s?",
		}, []string{
			"%s has its headquarters in %s.",
			"%s is based in %s.",
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

// Generate returns n companies' facts as chat fine-tuning JSONL, one line
// per fact, with "\n" after each line.
func Generate(n int, seed uint64) ([]byte, error) {
	r := rand.New(rand.NewPCG(seed, 0xc0ffee))
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
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
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
			line := record{
				ID: fmt.Sprintf("company-%02d-%s", i, f.kind),
				Messages: []message{
					{"system", "You know the company register."},
					{"user", fmt.Sprintf(q, company)},
					{"assistant", fmt.Sprintf(a, company, values[f.kind])},
				},
			}
			if err := enc.Encode(line); err != nil {
				return nil, err
			}
		}
	}
	return b.Bytes(), nil
}
