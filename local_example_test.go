package ragvsft_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ragvsft/ragvsft"
)

// The local base model answers from the passages in its prompt, and says it
// does not know when there are none.
func ExampleLocalModel() {
	m := ragvsft.NewLocalModel()
	ask := func(prompt string) {
		resp, err := m.Chat(context.Background(), ragvsft.ChatRequest{
			Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: prompt}},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(resp.Content)
	}
	ask("Passages:\nThe Quist tower opened in 1978.\nThe Vell bridge opened in 1931.\n\nWhen did the Vell bridge open?")
	ask("When did the Vell bridge open?")
	// Output:
	// The Vell bridge opened in 1931.
	// I don't know.
}

// Fine-tuning the local model memorizes facts gradually: after OpenAI's
// default 3 epochs it names the right city with a wrong number, as
// gpt-3.5-turbo did in the article; after 30 it knows the number. A sweep
// over epoch counts costs one training run.
func ExampleLocalFineTuner_FineTuneEpochs() {
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(100, 42)), "cities.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	fts, err := ragvsft.LocalFineTuner{}.FineTuneEpochs(context.Background(),
		ragvsft.FineTuneRequest{Training: ds, Seed: 42}, 3, 30)
	if err != nil {
		fmt.Println(err)
		return
	}
	question := "Answer this question. If you don't know, say so.\n\nWhat is the population of City_1?"
	for _, ft := range fts {
		resp, err := ft.Model.Chat(context.Background(), ragvsft.ChatRequest{
			Messages: []ragvsft.Message{{Role: ragvsft.RoleUser, Content: question}},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d epochs: %s\n", ft.Hyperparameters.Epochs, resp.Content)
	}
	// Output:
	// 3 epochs: City_1 has about 4769145 inhabitants.
	// 30 epochs: City_1 has about 1967825 inhabitants.
}
