package ragvsft_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// An OpenAIFineTuner estimates the job before spending, runs it, and on a
// rerun reuses it. Here it talks to ragvsfttest's server; with a real key,
// start from ragvsft.OpenAIConfigFromEnv() instead.
func ExampleOpenAIFineTuner() {
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{JobStepDelay: time.Millisecond})
	defer srv.Close()
	runDir, _ := os.MkdirTemp("", "ragvsft-example")
	defer os.RemoveAll(runDir)

	data, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(20, 42)), "cities.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	req := ragvsft.FineTuneRequest{BaseModel: "gpt-3.5-turbo", Training: data, Suffix: "cities"}
	tuner := &ragvsft.OpenAIFineTuner{
		Config:       ragvsft.OpenAIConfig{APIKey: "test", BaseURL: srv.URL},
		RunDir:       runDir,
		PollInterval: 5 * time.Millisecond,
	}

	est, err := tuner.Estimate(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d examples x %d epochs = %d billed tokens\n", est.Examples, est.Hyperparameters.Epochs, est.BilledTokens)

	for run := 1; run <= 2; run++ {
		ft, err := tuner.FineTune(context.Background(), req)
		if err != nil {
			fmt.Println(err)
			return
		}
		st := srv.Stats()
		fmt.Printf("run %d: model ready: %t, files uploaded: %d, jobs created: %d\n",
			run, ft.ModelID != "", st.FilesUploaded, st.JobsCreated)
	}
	// Output:
	// 20 examples x 5 epochs = 3980 billed tokens
	// run 1: model ready: true, files uploaded: 1, jobs created: 1
	// run 2: model ready: true, files uploaded: 1, jobs created: 1
}
