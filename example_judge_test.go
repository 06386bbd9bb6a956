package ragvsft_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// A JudgeEvaluator asks a model whether each answer states the gold fact,
// and runs a rule-based reference beside it for the report's agreement.
// Here the judge is ragvsfttest's judging mode; with a real key, make the
// OpenAIModel from ragvsft.OpenAIConfigFromEnv() and wrap it with
// Cache.Model.
func ExampleJudgeEvaluator() {
	// The day the catalog's shutdown dates are checked against, pinned so
	// that the example's output does not change when a model shuts down.
	day := func() time.Time { return time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) }
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{Now: day})
	defer srv.Close()
	model, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: "test", BaseURL: srv.URL, Now: day}, ragvsft.DefaultBaseModel)
	if err != nil {
		fmt.Println(err)
		return
	}
	judge := ragvsft.JudgeEvaluator{Model: model}
	q := ragvsft.Question{ID: "q1", Text: "When was Radek Szabo born?", Gold: "Radek Szabo was born on 11 March 1974."}
	for _, answer := range []string{"On March 11, 1974.", "In 1905.", "I don't know."} {
		v, err := judge.Evaluate(context.Background(), q, answer)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-20q %s (reference: %s correct %t): %s\n", answer, v.Judge.Verdict, v.Judge.Reference.Type, v.Judge.Reference.Correct, v.Reason)
	}
	// Output:
	// "On March 11, 1974." correct (reference: date correct true): the answer states date 1974-03-11, as the gold answer does
	// "In 1905."           incorrect (reference: date correct false): got 1905, want 1974-03-11: year 1905, not 1974, no month, no day
	// "I don't know."      abstained (reference: date correct false): the answer declines to answer ("i don't know")
}
