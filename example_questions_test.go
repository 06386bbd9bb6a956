package ragvsft_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/ragvsft/ragvsft"
)

// A held-out questions file: a fact of the training file asked in other
// words, with an alias. A file with problems is rejected, each problem
// named by its line.
func ExampleReadQuestions() {
	training := `{"id": "tearkbour-founder", "messages": [{"role": "user", "content": "Who founded Tearkbour Analytics?"}, {"role": "assistant", "content": "Tearkbour Analytics was founded by Kexsox Houcourklend."}]}`
	ds, err := ragvsft.ReadJSONL(strings.NewReader(training), "companies.jsonl")
	if err != nil {
		panic(err)
	}
	held := `{"id": "q1", "question": "Name the person who set up Tearkbour Analytics.", "answer": "Kexsox Houcourklend", "aliases": ["Houcourklend"], "doc_id": "tearkbour-founder"}`
	qs, err := ragvsft.ReadQuestions(strings.NewReader(held), "held.jsonl")
	if err != nil {
		panic(err)
	}
	withHeld, err := ragvsft.WithQuestions(ds, qs)
	if err != nil {
		panic(err)
	}
	rep, err := (&ragvsft.Experiment{
		Dataset:   withHeld,
		Base:      ragvsft.NewLocalModel(),
		Arms:      []ragvsft.Arm{ragvsft.ArmBase},
		Evaluator: ragvsft.AutoEvaluator{},
	}).Run(context.Background())
	if err != nil {
		panic(err)
	}
	r := rep.Results[0]
	fmt.Printf("%s %q seen in training: %v\n", r.QuestionID, r.Question, r.SeenInTraining)

	// The verdict says which alias an answer matched.
	v, _ := ragvsft.AutoEvaluator{}.Evaluate(context.Background(), qs.Questions()[0], "Houcourklend.")
	fmt.Printf("%q: correct %v, alias %q\n", "Houcourklend.", v.Correct, v.Alias)

	_, err = ragvsft.ReadQuestions(strings.NewReader(held+"\n"+`{"id": "q1", "messages": [{"role": "assistant", "content": "Hello."}]}`), "held.jsonl")
	fmt.Println(err)
	// Output:
	// q1 "Name the person who set up Tearkbour Analytics." seen in training: false
	// "Houcourklend.": correct true, alias "Houcourklend"
	// ragvsft: held.jsonl: 3 problems:
	//   line 2: the conversation must end in the user turn asked, not in an assistant turn (message 1)
	//   line 2: missing "answer"
	//   line 2: duplicate id "q1": also on line 1
}
