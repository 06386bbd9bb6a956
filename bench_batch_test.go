package ragvsft_test

import (
	"context"
	"testing"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// BenchmarkBatchAPI (issue 11, benchmark 6): the cities experiment's 400
// chat calls synchronously (the Experiment's default concurrency) and with
// Base and the fine-tuned Model as BatchModels, end to end through
// /v1/batches of the wire-format server. Every HTTP request is answered
// after 50 ms of injected latency; a batch stays validating, in_progress
// and finalizing for ragvsfttest's defaults (20 ms each), and the
// BatchModels collect for 100 ms and poll every 10 ms backing off to
// 50 ms, so the batch mode measures the pipeline (files, batches, polls,
// output parsing), not OpenAI's hours. It reports the run's total cost from
// ApplyPrices(nil) (cost_usd/op), the batches created (batches/op) and the
// HTTP requests the server saw (http/op).
//
//	go test -run '^$' -bench BatchAPI -benchtime 1x -count 3 .
func BenchmarkBatchAPI(b *testing.B) {
	const base = "gpt-4.1-mini-2025-04-14"
	batchOpts := ragvsft.BatchOptions{Window: 100 * time.Millisecond, PollInterval: 10 * time.Millisecond, MaxPollInterval: 50 * time.Millisecond}
	for _, mode := range []string{"sync", "batch"} {
		b.Run("mode="+mode, func(b *testing.B) {
			f := fixture(b)
			f.srv.SetFaults(ragvsfttest.Faults{Latency: benchLatency})
			cfg := benchConfig(f.srv)
			exp := f.experiment(b, cfg, 0, nil, nil)
			var cost float64
			before := f.srv.Stats()
			b.ResetTimer()
			for b.Loop() {
				if mode == "batch" {
					// Fresh models each run: a BatchModel answers a request
					// it has batched before from that batch.
					bm, err := ragvsft.NewBatchModel(cfg, base, batchOpts)
					if err != nil {
						b.Fatal(err)
					}
					tm, err := ragvsft.NewBatchModel(cfg, f.ft, batchOpts)
					if err != nil {
						b.Fatal(err)
					}
					exp.Base, exp.FineTuned = bm, &ragvsft.FineTuned{Model: tm, ModelID: f.ft}
				}
				rep, err := exp.Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if want := len(ragvsft.AllArms) * ragvsft.CitiesCount; len(rep.Results) != want || !rep.Complete {
					b.Fatalf("%d results of %d, complete %v", len(rep.Results), want, rep.Complete)
				}
				for _, r := range rep.Results {
					if r.Error != "" {
						b.Fatalf("%s %s: %s", r.Arm, r.QuestionID, r.Error)
					}
					if r.Batch != (mode == "batch") {
						b.Fatalf("%s %s: Batch %v in mode %s", r.Arm, r.QuestionID, r.Batch, mode)
					}
				}
				if unpriced := rep.ApplyPrices(nil); len(unpriced) > 0 {
					b.Fatalf("unpriced: %v", unpriced)
				}
				cost += rep.TotalCostUSD()
			}
			b.StopTimer()
			after := f.srv.Stats()
			requests := 0
			for route, n := range after.Requests {
				requests += n - before.Requests[route]
			}
			n := float64(b.N)
			b.ReportMetric(cost/n, "cost_usd/op")
			b.ReportMetric(float64(after.BatchesCreated-before.BatchesCreated)/n, "batches/op")
			b.ReportMetric(float64(requests)/n, "http/op")
		})
	}
}
