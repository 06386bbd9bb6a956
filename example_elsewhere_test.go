package ragvsft_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// A model fine-tuned elsewhere, served behind an OpenAI-compatible endpoint
// of its own (here a ragvsfttest server standing in for vLLM with a LoRA
// adapter named "cities-lora"), is measured against a base model on
// another endpoint: nothing is uploaded or trained.
func ExampleNewOpenAIFineTuned() {
	// The day the catalog's shutdown dates are checked against, pinned so
	// that the example's output does not change when a model shuts down.
	day := func() time.Time { return time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) }
	base := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: "base-key", Now: day})
	defer base.Close()
	lora := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{APIKey: "lora-key", Models: []string{"cities-lora"}, Now: day})
	defer lora.Close()

	ds, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(10, ragvsft.CitiesSeed)), "cities.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	baseModel, err := ragvsft.NewOpenAIModel(ragvsft.OpenAIConfig{APIKey: "base-key", BaseURL: base.URL, Now: day}, ragvsft.DefaultBaseModel)
	if err != nil {
		fmt.Println(err)
		return
	}
	ft, err := ragvsft.NewOpenAIFineTuned(ragvsft.OpenAIConfig{APIKey: "lora-key", BaseURL: lora.URL, Now: day}, "cities-lora")
	if err != nil {
		fmt.Println(err)
		return
	}
	exp := &ragvsft.Experiment{
		Dataset:   ds,
		Base:      baseModel,
		BaseModel: ragvsft.DefaultBaseModel,
		FineTuned: ft,
		Arms:      []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmFineTuned},
	}
	rep, err := exp.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range rep.Arms {
		fmt.Printf("%s: %d answered, %d errors\n", a.Arm, a.Answered, a.Errors)
	}
	fmt.Printf("fine-tuned model %s, served elsewhere: %t\n", rep.FineTune.ModelID, rep.FineTune.Endpoint != "")
	for _, s := range []struct {
		name string
		srv  *ragvsfttest.OpenAIServer
	}{{"base", base}, {"lora", lora}} {
		st := s.srv.Stats()
		fmt.Printf("%s server: %d chat completions, %d files, %d jobs\n", s.name, st.ChatCompletions, st.FilesUploaded, st.JobsCreated)
	}
	// Output:
	// base: 10 answered, 0 errors
	// fine-tuned: 10 answered, 0 errors
	// fine-tuned model cities-lora, served elsewhere: true
	// base server: 10 chat completions, 0 files, 0 jobs
	// lora server: 10 chat completions, 0 files, 0 jobs
}
