package ragvsft_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ragvsft/ragvsft"
)

// Half of 20 cities are held out of fine-tuning and all 20 are asked: the
// fine-tuned model knows the cities it was trained on and makes up a
// population for the others (a hallucination), where retrieval, which
// indexes every city, knows them all.
func ExampleExperiment_holdOutFacts() {
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(20, ragvsft.CitiesSeed)), "cities.jsonl")
	if err != nil {
		panic(err)
	}
	retriever, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{})
	if err != nil {
		panic(err)
	}
	exp := &ragvsft.Experiment{
		Dataset:         ds,
		Base:            ragvsft.NewLocalModel(),
		FineTuner:       ragvsft.LocalFineTuner{},
		Retriever:       retriever,
		Arms:            []ragvsft.Arm{ragvsft.ArmFineTuned, ragvsft.ArmRAG},
		Hyperparameters: ragvsft.Hyperparameters{Epochs: 30},
		HoldOutFacts:    0.5,
	}
	rep, err := exp.Run(context.Background())
	if err != nil {
		panic(err)
	}
	facts, _ := rep.Split(ragvsft.SplitFacts)
	for _, g := range facts.Groups {
		for _, a := range g.Arms {
			fmt.Printf("%-10s %-9s %2d/%d correct, %d wrong\n", a.Arm, g.Name, a.Correct, a.Answered, a.Wrong)
		}
	}
	// Output:
	// fine-tuned trained   10/10 correct, 0 wrong
	// rag        trained   10/10 correct, 0 wrong
	// fine-tuned held_out   0/10 correct, 10 wrong
	// rag        held_out  10/10 correct, 0 wrong
}
