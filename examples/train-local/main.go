// Command train-local is a training command for ragvsft.CommandFineTuner that
// fine-tunes ragvsft's embedded local model: the protocol's reference
// implementation, and a way to try the self-hosted path offline, with
// examples/openai-server standing in for vLLM.
//
//	go build -o train-local ./examples/train-local
//
// CommandFineTuner runs it with RAGVSFT_JOB_FILE naming the job (a
// ragvsft.CommandJob). It trains ragvsft.LocalFineTuner on the job's
// training file with the job's hyperparameters and seed, saves the model as
// OUTPUT_DIR/ragvsft-local-model.bin (ragvsft.LocalModelFile, the format
// ragvsfttest's POST /v1/load_lora_adapter reads), prints one metrics event
// per epoch on stdout ({"type":"metrics","step":N,"train_loss":L}), progress
// on stderr, and last the result line:
//
//	{"model":"ft:local-base:SUFFIX:HASH","adapter_path":"OUTPUT_DIR","trained_tokens":N,"hyperparameters":{...}}
//
// It takes no flags. It exits 1, saying why on stderr, on a job it cannot
// read or a training file it cannot train on, and dies by SIGTERM like any
// program.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/ragvsft/ragvsft"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("train-local: ")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, os.Getenv(ragvsft.CommandJobEnv))
	if err != nil {
		log.Fatal(err)
	}
	line, err := json.Marshal(res)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", line)
}

// run trains for the job in jobFile and saves the model.
func run(ctx context.Context, jobFile string) (*ragvsft.CommandResult, error) {
	if jobFile == "" {
		return nil, fmt.Errorf("%s is not set: run me from ragvsft.CommandFineTuner", ragvsft.CommandJobEnv)
	}
	b, err := os.ReadFile(jobFile)
	if err != nil {
		return nil, fmt.Errorf("reading the job: %w", err)
	}
	var job ragvsft.CommandJob
	if err := json.Unmarshal(b, &job); err != nil {
		return nil, fmt.Errorf("reading the job %s: %w", jobFile, err)
	}
	if job.Version != ragvsft.CommandJobVersion {
		return nil, fmt.Errorf("job %s has version %d; I read version %d", jobFile, job.Version, ragvsft.CommandJobVersion)
	}
	f, err := os.Open(job.TrainingFile)
	if err != nil {
		return nil, fmt.Errorf("reading the training file: %w", err)
	}
	defer f.Close()
	training, err := ragvsft.ReadJSONL(f, filepath.Base(job.TrainingFile))
	if err != nil {
		return nil, err
	}
	log.Printf("training %s on %d examples: %d epochs, batch size %d, learning-rate multiplier %g, seed %d",
		ragvsft.LocalBaseModel, len(training.Examples()), job.Hyperparameters.Epochs, job.Hyperparameters.BatchSize,
		job.Hyperparameters.LearningRateMultiplier, job.Seed)
	enc := json.NewEncoder(os.Stdout)
	tuner := ragvsft.LocalFineTuner{OnEpoch: func(epoch int, loss float64) {
		_ = enc.Encode(map[string]any{"type": "metrics", "step": epoch, "train_loss": loss})
	}}
	ft, err := tuner.FineTune(ctx, ragvsft.FineTuneRequest{
		BaseModel:       ragvsft.LocalBaseModel,
		Training:        training,
		Hyperparameters: job.Hyperparameters,
		Suffix:          job.Suffix,
		Seed:            job.Seed,
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := ft.Model.(*ragvsft.LocalModel).WriteTo(&buf); err != nil {
		return nil, err
	}
	path := filepath.Join(job.OutputDir, ragvsft.LocalModelFile)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("saving the model: %w", err)
	}
	log.Printf("saved %s to %s (%d bytes)", ft.ModelID, path, buf.Len())
	return &ragvsft.CommandResult{
		Model:           ft.ModelID,
		AdapterPath:     job.OutputDir,
		TrainedTokens:   ft.TrainedTokens,
		Hyperparameters: ft.Hyperparameters,
	}, nil
}
