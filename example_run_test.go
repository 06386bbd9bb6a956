package ragvsft_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ragvsft/ragvsft"
)

// A run in a run folder: created, cut short, resumed where it stopped,
// and, once finished, opened again with nothing left to ask. A program
// keeps only its flags; the folder keeps the rest.
func ExampleRun() {
	tmp, err := os.MkdirTemp("", "ragvsft-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "run")
	raw := ragvsft.CitiesJSONL(10, ragvsft.CitiesSeed)
	ds, err := ragvsft.ReadJSONL(bytes.NewReader(raw), "cities.jsonl")
	if err != nil {
		panic(err)
	}
	experiment := func() *ragvsft.Experiment {
		retriever, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{Dir: filepath.Join(dir, "index")})
		if err != nil {
			panic(err)
		}
		return &ragvsft.Experiment{Dataset: ds, Base: ragvsft.NewLocalModel(), Retriever: retriever,
			Arms: []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmRAG}, Concurrency: 1}
	}

	// The first process stops after 5 answers (Ctrl-C, say).
	ctx, cancel := context.WithCancel(context.Background())
	answered := 0
	run, err := ragvsft.CreateRun(dir, ragvsft.RunFiles{Config: map[string]any{"k": 5}, Dataset: raw},
		ragvsft.RunOptions{OnResult: func(ragvsft.Result) {
			if answered++; answered == 5 {
				cancel()
			}
		}})
	if err != nil {
		panic(err)
	}
	_, err = run.Execute(ctx, experiment())
	fmt.Println("first run:", errors.Is(err, context.Canceled))
	run.Close()

	// The next one resumes it.
	run, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{})
	if err != nil {
		panic(err)
	}
	plan, err := run.Plan(experiment())
	if err != nil {
		panic(err)
	}
	fmt.Printf("plan: %d kept, %d to ask\n", plan.Kept, plan.Asks())
	rep, err := run.Execute(context.Background(), experiment())
	if err != nil {
		panic(err)
	}
	for _, arm := range rep.Arms {
		fmt.Printf("%-4s %2d/%d correct\n", arm.Arm, arm.Correct, arm.Answered)
	}
	run.Close()

	run, err = ragvsft.OpenRun(dir, ragvsft.RunOptions{})
	if err != nil {
		panic(err)
	}
	defer run.Close()
	plan, err = run.Plan(experiment())
	if err != nil {
		panic(err)
	}
	fmt.Printf("finished: %d to ask, %d questions to retrieve\n", plan.Asks(), plan.Retrievals)
	// Output:
	// first run: true
	// plan: 5 kept, 15 to ask
	// base  0/10 correct
	// rag  10/10 correct
	// finished: 0 to ask, 0 questions to retrieve
}
