// Command convgen writes testdata/explorers.jsonl: a multi-turn knowledge
// base for the tests of questions asked in a conversation. Each of 60
// fictional members of an explorers' society is one example of two turns:
// the user names the explorer ("Tell me about Anna Kovacs.") and is told
// their field, then asks a follow-up that names them only by a pronoun
// ("Where was she born?") and is told their birthplace, birth year or
// number of expeditions led. So every example holds two facts, the first
// in an earlier assistant turn (document "ID#3"), the second in the final
// one (document "ID"), and its question cannot be answered, nor its
// document found, from the last user turn alone.
//
// With -questions it writes testdata/explorers_questions.jsonl instead: a
// questions file asking every explorer's fact once more after the same
// first two turns, with a follow-up of its kind that no training example
// uses (held-out wordings), the bare value as gold.
//
// Run from the repository root:
//
//	go run ./internal/convgen > testdata/explorers.jsonl
//	go run ./internal/convgen -questions > testdata/explorers_questions.jsonl
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

// Count is the number of explorers; Seed seeds the generator.
const (
	Count = 60
	Seed  = 5
)

func main() {
	questions := flag.Bool("questions", false, "write the held-out questions file instead of the knowledge base")
	flag.Parse()
	data, held, err := generate(Count, Seed)
	if *questions {
		data = held
	}
	if err == nil {
		_, err = os.Stdout.Write(data)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "convgen:", err)
		os.Exit(1)
	}
}

var (
	women   = []string{"Anna", "Maria", "Ingrid", "Amara", "Yuki", "Leila", "Sofia", "Greta", "Nadia", "Imke", "Ilse", "Zofia"}
	men     = []string{"Tomas", "Kofi", "Hiro", "Pavel", "Emil", "Rafael", "Anders", "Omar", "Luca", "Bram", "Teodor", "Jonas"}
	onsets  = []string{"b", "br", "d", "f", "g", "k", "l", "m", "n", "r", "s", "t", "v", "z"}
	nuclei  = []string{"a", "e", "i", "o", "u", "ei", "ou"}
	codas   = []string{"", "n", "r", "l", "s", "v", "k", "m", "sk"}
	fields  = []string{"cartographer", "botanist", "geologist", "surveyor", "photographer", "navigator", "glaciologist", "zoologist"}
	prefix  = []string{"Port", "Fort", "Upper", "Lower", ""}
	openers = []string{"Tell me about %s.", "Who is %s?", "What do you know about %s?"}
	intros  = []string{"%s is a %s of the explorers' society.", "%s works as a %s for the explorers' society."}

	// followUps are the last turns, by fact: the question uses a pronoun,
	// the answer names the explorer again.
	followUps = []struct {
		kind      string
		questions []string // %s is the pronoun
		answers   []string // the name, then the value
		heldOut   string   // a follow-up no training example uses
	}{
		{"born-in", []string{"Where was %s born?", "In which town was %s born?"}, []string{"%s was born in %s.", "%s's birthplace is %s."}, "Which place does %s come from?"},
		{"born-year", []string{"In what year was %s born?", "When was %s born?"}, []string{"%s was born in %s.", "%s's year of birth is %s."}, "Tell me the year %s was born."},
		{"expeditions", []string{"How many expeditions has %s led?", "How many expeditions did %s lead?"}, []string{"%s has led %s expeditions.", "%s has led %s expeditions so far."}, "How many expeditions has %s headed?"},
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

// Generate returns n explorers as multi-turn chat fine-tuning JSONL, one
// example per line, with "\n" after each line. The first is Anna Kovacs
// ("Tell me about Anna Kovacs.", then "Where was she born?").
func Generate(n int, seed uint64) ([]byte, error) {
	kb, _, err := generate(n, seed)
	return kb, err
}

// heldOutQuestion is one line of the questions file.
type heldOutQuestion struct {
	ID       string    `json:"id"`
	Messages []message `json:"messages"`
	Answer   string    `json:"answer"`
	DocID    string    `json:"doc_id"`
}

// generate returns the knowledge base and its held-out questions file; the
// questions draw nothing from the generator, so the knowledge base is the
// same with or without them.
func generate(n int, seed uint64) (kb, questions []byte, err error) {
	r := rand.New(rand.NewPCG(seed, 0xe4b10))
	word := func(syllables int) string {
		var b strings.Builder
		for range syllables {
			b.WriteString(onsets[r.IntN(len(onsets))] + nuclei[r.IntN(len(nuclei))] + codas[r.IntN(len(codas))])
		}
		s := b.String()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	used := map[string]bool{"Anna Kovacs": true}
	unique := func(make func() string) string {
		for {
			if s := make(); !used[s] && len(s) > 3 {
				used[s] = true
				return s
			}
		}
	}
	var b, q bytes.Buffer
	enc, qenc := json.NewEncoder(&b), json.NewEncoder(&q)
	for i := 1; i <= n; i++ {
		female := r.IntN(2) == 0
		first, pronoun := men, "he"
		if female || i == 1 {
			first, pronoun = women, "she"
		}
		name := unique(func() string { return first[r.IntN(len(first))] + " " + word(2) })
		f := followUps[r.IntN(len(followUps))]
		if i == 1 {
			name, f = "Anna Kovacs", followUps[0]
		}
		opener := openers[r.IntN(len(openers))]
		if i == 1 {
			opener = openers[0]
		}
		var value string
		switch f.kind {
		case "born-in":
			value = unique(func() string { return strings.TrimSpace(prefix[r.IntN(len(prefix))] + " " + word(2)) })
		case "born-year":
			value = fmt.Sprint(1940 + r.IntN(66))
		case "expeditions":
			value = fmt.Sprint(2 + r.IntN(40))
		}
		line := record{
			ID: fmt.Sprintf("explorer-%02d-%s", i, f.kind),
			Messages: []message{
				{"system", "You know the members of the explorers' society."},
				{"user", fmt.Sprintf(opener, name)},
				{"assistant", fmt.Sprintf(intros[r.IntN(len(intros))], name, fields[r.IntN(len(fields))])},
				{"user", fmt.Sprintf(f.questions[r.IntN(len(f.questions))], pronoun)},
				{"assistant", fmt.Sprintf(f.answers[r.IntN(len(f.answers))], name, value)},
			},
		}
		if err := enc.Encode(line); err != nil {
			return nil, nil, err
		}
		held := heldOutQuestion{ID: "held-" + line.ID, Answer: value, DocID: line.ID, Messages: []message{
			line.Messages[1], line.Messages[2], {"user", fmt.Sprintf(f.heldOut, pronoun)}}}
		if err := qenc.Encode(held); err != nil {
			return nil, nil, err
		}
	}
	return b.Bytes(), q.Bytes(), nil
}
