package ragvsft_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// An OpenAIFineTuner estimates the job before spending, runs it, and on a
// rerun reuses it. Here it talks to ragvsfttest's server; with a real key,
// start from ragvsft.OpenAIConfigFromEnv() instead.
func ExampleOpenAIFineTuner() {
	// The day the catalog's shutdown dates are checked against, pinned so
	// that the example's output does not change when a model shuts down.
	day := func() time.Time { return time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) }
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{JobStepDelay: time.Millisecond, Now: day})
	defer srv.Close()
	runDir, _ := os.MkdirTemp("", "ragvsft-example")
	defer os.RemoveAll(runDir)

	data, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(20, 42)), "cities.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	req := ragvsft.FineTuneRequest{BaseModel: ragvsft.DefaultBaseModel, Training: data, Suffix: "cities"}
	tuner := &ragvsft.OpenAIFineTuner{
		Config:       ragvsft.OpenAIConfig{APIKey: "test", BaseURL: srv.URL, Now: day},
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
	// 20 examples x 5 epochs = 3880 billed tokens
	// run 1: model ready: true, files uploaded: 1, jobs created: 1
	// run 2: model ready: true, files uploaded: 1, jobs created: 1
}

// A BatchModel sends concurrent calls through the Batch API as one batch,
// at half price, and records it so that a restarted process resumes it.
func ExampleBatchModel() {
	day := func() time.Time { return time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) }
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{Now: day})
	defer srv.Close()
	runDir, _ := os.MkdirTemp("", "ragvsft-example")
	defer os.RemoveAll(runDir)

	cfg := ragvsft.OpenAIConfig{APIKey: "test", BaseURL: srv.URL, Now: day}
	m, err := ragvsft.NewBatchModel(cfg, ragvsft.DefaultBaseModel, ragvsft.BatchOptions{
		Record:       filepath.Join(runDir, "batches.json"),
		Window:       50 * time.Millisecond,
		PollInterval: 5 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(20, 42)), "cities.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	exp := &ragvsft.Experiment{Dataset: data, Base: m, BaseModel: ragvsft.DefaultBaseModel, Arms: []ragvsft.Arm{ragvsft.ArmBase}}
	rep, err := exp.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	rep.ApplyPrices(nil)
	batched := 0
	for _, r := range rep.Results {
		if r.Batch {
			batched++
		}
	}
	fmt.Printf("%d answers, %d through the Batch API, in %d batch\n", len(rep.Results), batched, srv.Stats().BatchesCreated)
	// Output:
	// 20 answers, 20 through the Batch API, in 1 batch
}
