//go:build unix

package ragvsft_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// A CommandFineTuner hands the validated training file to your own
// training command and serves what it trained from your endpoint; a rerun
// reuses the recorded job. The command here is a two-line sh script; see
// examples/train-local for one that trains, and the README for vLLM.
func ExampleCommandFineTuner() {
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{}) // stands in for vLLM
	defer srv.Close()
	runDir, _ := os.MkdirTemp("", "ragvsft-example")
	defer os.RemoveAll(runDir)

	data, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(20, 42)), "cities.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	tuner := &ragvsft.CommandFineTuner{
		Command: []string{"sh", "-c", `test -s "$RAGVSFT_JOB_FILE" || exit 1
			echo '{"type": "metrics", "step": 1, "train_loss": 0.25}'
			echo '{"model": "cities-lora", "trained_tokens": 1990}'`},
		RunDir:  runDir,
		Serving: ragvsft.OpenAIConfig{APIKey: "EMPTY", BaseURL: srv.URL},
		OnEvent: func(e ragvsft.FineTuneEvent) {
			fmt.Println("event:", e.Type, e.Data["step"], e.Data["train_loss"])
		},
	}
	req := ragvsft.FineTuneRequest{BaseModel: "Qwen/Qwen2.5-0.5B-Instruct", Training: data, Suffix: "cities"}
	for run := 1; run <= 2; run++ {
		ft, err := tuner.FineTune(context.Background(), req)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("run %d: %s, %d epochs, %d trained tokens, reused: %t\n",
			run, ft.ModelID, ft.Hyperparameters.Epochs, ft.TrainedTokens, ft.Reused)
	}
	// Output:
	// event: metrics 1 0.25
	// run 1: cities-lora, 5 epochs, 1990 trained tokens, reused: false
	// run 2: cities-lora, 5 epochs, 1990 trained tokens, reused: true
}
