package ragvsft_test

import (
	"context"
	"testing"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// BenchmarkOverlap (issue 11, benchmark 5): the cities experiment with a
// fine-tuning job on the wire-format server (each job stage lasting
// overlapStep, several seconds in all) and 50 ms per chat call, four arms
// at concurrency 8. "sequential" fine-tunes, then runs the experiment on
// the fine-tuned model, the order of every run before the overlap;
// "overlapped" gives the Experiment the FineTuner, so the base and rag arms
// are asked while the job runs. Each iteration trains a new job (its own
// seed), so no job is reused.
//
//	go test -run '^$' -bench Overlap -benchtime 3x -count 3 .
func BenchmarkOverlap(b *testing.B) {
	const overlapStep = 2 * time.Second
	srv, stop := startTimedServer(ragvsfttest.ServerConfig{APIKey: wireKey, JobStepDelay: overlapStep, Now: onWireDay})
	b.Cleanup(stop)
	srv.SetFaults(ragvsfttest.Faults{Latency: benchLatency})
	cfg := benchConfig(srv)
	data := cities(b, ragvsft.CitiesCount)
	base, err := ragvsft.NewOpenAIModel(cfg, "gpt-4.1-mini-2025-04-14")
	if err != nil {
		b.Fatal(err)
	}
	r := newRetriever(b)
	tuner := &ragvsft.OpenAIFineTuner{Config: cfg, PollInterval: 50 * time.Millisecond, MaxPollInterval: 100 * time.Millisecond}
	seed := int64(1000)
	experiment := func() *ragvsft.Experiment {
		seed++
		return &ragvsft.Experiment{Dataset: data, Base: base, BaseModel: "gpt-4.1-mini-2025-04-14", Retriever: r, Concurrency: 8, Seed: seed}
	}
	check := func(rep *ragvsft.Report, err error) {
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Complete {
			b.Fatalf("%d results", len(rep.Results))
		}
	}
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			exp := experiment()
			ft, err := tuner.FineTune(context.Background(), ragvsft.FineTuneRequest{BaseModel: exp.BaseModel, Training: data, Seed: exp.Seed})
			if err != nil {
				b.Fatal(err)
			}
			exp.FineTuned = ft
			check(exp.Run(context.Background()))
		}
	})
	b.Run("overlapped", func(b *testing.B) {
		for b.Loop() {
			exp := experiment()
			exp.FineTuner = tuner
			check(exp.Run(context.Background()))
		}
	})
}
