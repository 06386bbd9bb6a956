package ragvsft_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// Benchmarks of issue 4 (speed and limits, cheap to repeat). They run the
// cities experiment (100 questions x 4 arms) through openai-go against the
// in-process wire-format server. Run them with
//
//	go test -run '^$' -bench 'Throughput|RateLimit|WarmRerun' -count 5 . | tee bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest bench.txt
//
// The fine-tuning is done once, through the server, before any timer runs.

const benchLatency = 50 * time.Millisecond

// benchFixture is the server with the cities fine-tune done.
type benchFixture struct {
	srv  *timedServer
	data *ragvsft.JSONLDataset
	ft   string // fine-tuned model id
	// retriever is indexed with the local embedding, outside any timer;
	// Run's Index then reuses every vector.
	retriever *ragvsft.ChromemRetriever
}

var benchSetup = sync.OnceValues(func() (*benchFixture, error) {
	// The server lives as long as the test binary: benchmarks share it.
	srv, _ := startTimedServer(ragvsfttest.ServerConfig{APIKey: wireKey, JobStepDelay: time.Millisecond, Now: onWireDay})
	data, err := ragvsft.ReadJSONL(bytes.NewReader(ragvsft.CitiesJSONL(ragvsft.CitiesCount, ragvsft.CitiesSeed)), "cities.jsonl")
	if err != nil {
		return nil, err
	}
	tuner := &ragvsft.OpenAIFineTuner{Config: benchConfig(srv), PollInterval: 5 * time.Millisecond, MaxPollInterval: 50 * time.Millisecond}
	ft, err := tuner.FineTune(context.Background(), ragvsft.FineTuneRequest{BaseModel: "gpt-4.1-mini-2025-04-14", Training: data, Seed: ragvsft.DefaultSeed})
	if err != nil {
		return nil, err
	}
	r, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{})
	if err != nil {
		return nil, err
	}
	docs, err := ragvsft.Documents(data)
	if err != nil {
		return nil, err
	}
	if err := r.Index(context.Background(), docs); err != nil {
		return nil, err
	}
	return &benchFixture{srv: srv, data: data, ft: ft.ModelID, retriever: r}, nil
})

func fixture(b *testing.B) *benchFixture {
	b.Helper()
	f, err := benchSetup()
	if err != nil {
		b.Fatal(err)
	}
	f.srv.SetFaults(ragvsfttest.Faults{})
	f.srv.reset()
	return f
}

func benchConfig(s *timedServer) ragvsft.OpenAIConfig {
	return ragvsft.OpenAIConfig{APIKey: wireKey, BaseURL: s.URL, Now: onWireDay}
}

// experiment is the cities experiment on the server's base model and the
// fine-tune; wrap, if set, wraps both models (the cache).
func (f *benchFixture) experiment(b *testing.B, cfg ragvsft.OpenAIConfig, concurrency int, retriever ragvsft.Retriever, wrap func(ragvsft.Model) ragvsft.Model) *ragvsft.Experiment {
	b.Helper()
	base, err := ragvsft.NewOpenAIModel(cfg, "gpt-4.1-mini-2025-04-14")
	if err != nil {
		b.Fatal(err)
	}
	tuned, err := ragvsft.NewOpenAIModel(cfg, f.ft)
	if err != nil {
		b.Fatal(err)
	}
	var bm, tm ragvsft.Model = base, tuned
	if wrap != nil {
		bm, tm = wrap(base), wrap(tuned)
	}
	if retriever == nil {
		retriever = f.retriever
	}
	return &ragvsft.Experiment{
		Dataset:     f.data,
		Base:        bm,
		BaseModel:   "gpt-4.1-mini-2025-04-14",
		FineTuned:   &ragvsft.FineTuned{Model: tm, ModelID: f.ft},
		Retriever:   retriever,
		Concurrency: concurrency,
	}
}

// run runs exp and fails the benchmark unless every item was answered or
// recorded as an error; it returns the errors.
func run(b *testing.B, exp *ragvsft.Experiment) (errs int) {
	b.Helper()
	rep, err := exp.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if want := len(ragvsft.AllArms) * ragvsft.CitiesCount; len(rep.Results) != want || !rep.Complete {
		b.Fatalf("%d results of %d, complete %v", len(rep.Results), want, rep.Complete)
	}
	for _, r := range rep.Results {
		if r.Error != "" {
			if errs == 0 {
				b.Logf("%s %s: %s", r.Arm, r.QuestionID, r.Error)
			}
			errs++
		}
	}
	return errs
}

// BenchmarkThroughput: 400 chat calls, each answered after 50 ms of
// injected latency, at concurrency 1 (the article's loop) and at the
// Experiment's default. The latency bound is concurrency x 20 items/s.
func BenchmarkThroughput(b *testing.B) {
	for _, c := range []struct {
		name        string
		concurrency int
	}{{"concurrency=1", 1}, {"concurrency=default", 0}} {
		b.Run(c.name, func(b *testing.B) {
			f := fixture(b)
			f.srv.SetFaults(ragvsfttest.Faults{Latency: benchLatency})
			exp := f.experiment(b, benchConfig(f.srv), c.concurrency, nil, nil)
			errs := 0
			b.ResetTimer()
			for b.Loop() {
				errs += run(b, exp)
			}
			if errs > 0 {
				b.Fatalf("%d items failed", errs)
			}
			b.ReportMetric(float64(b.N*len(ragvsft.AllArms)*ragvsft.CitiesCount)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkRateLimit: a limit of 6000 requests per minute on the models,
// 30% of requests answered 429 with Retry-After 100 ms, 32 workers. It
// reports what the server saw, retries included: the rate from the first
// request to the last (rpm), that count as a share of what the limit allows
// in that time (%limit: one at the start, then 100 a second), and the most
// requests seen in one second (peak/s; above 100 when time lost to pauses
// is made up).
func BenchmarkRateLimit(b *testing.B) {
	const rpm = 6000
	f := fixture(b)
	f.srv.SetFaults(ragvsfttest.Faults{Rate: 0.3, Seed: 1, RateFault: ragvsfttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 100 * time.Millisecond}})
	cfg := benchConfig(f.srv)
	cfg.MaxRetries = 5
	// The fine-tune shares its base model's limit.
	cfg.RateLimits = map[string]*ragvsft.RateLimiter{"gpt-4.1-mini-2025-04-14": ragvsft.NewRateLimiter(ragvsft.Limits{RequestsPerMinute: rpm})}
	exp := f.experiment(b, cfg, 32, nil, nil)
	var requests, limited, errs, peak int
	var busy time.Duration
	b.ResetTimer()
	for b.Loop() {
		f.srv.reset()
		errs += run(b, exp)
		var at []time.Time
		for _, a := range f.srv.log() {
			at = append(at, a.at)
			if a.status == http.StatusTooManyRequests {
				limited++
			}
		}
		slices.SortFunc(at, time.Time.Compare)
		requests += len(at)
		busy += at[len(at)-1].Sub(at[0])
		for i, j := 0, 0; j < len(at); j++ {
			for at[j].Sub(at[i]) >= time.Second {
				i++
			}
			peak = max(peak, j-i+1)
		}
	}
	b.StopTimer()
	allowed := float64(rpm)/60*busy.Seconds() + float64(b.N)
	b.ReportMetric(float64(requests)/busy.Minutes(), "rpm")
	b.ReportMetric(100*float64(requests)/allowed, "%limit")
	b.ReportMetric(float64(peak), "peak/s")
	b.ReportMetric(float64(limited)/float64(b.N), "429s/op")
	b.ReportMetric(float64(errs)/float64(b.N), "errors/op")
}

// BenchmarkWarmRerun: the finished cities experiment run again with the
// cache, chat and embeddings: no request may reach the server.
func BenchmarkWarmRerun(b *testing.B) {
	f := fixture(b)
	cfg := benchConfig(f.srv)
	cache, err := ragvsft.OpenCache(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	embed := cache.Embedding(ragvsft.DefaultOpenAIEmbeddingModel, ragvsft.NewOpenAIEmbeddingFunc(cfg, ""))
	newRetriever := func() ragvsft.Retriever {
		// A fresh index each run: every document is embedded again, from
		// the cache.
		r, err := ragvsft.NewChromemRetriever(ragvsft.ChromemOptions{Embed: embed, Model: ragvsft.DefaultOpenAIEmbeddingModel})
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	wrap := func(m ragvsft.Model) ragvsft.Model { return cache.Model("", m) }
	if errs := run(b, f.experiment(b, cfg, 0, newRetriever(), wrap)); errs > 0 {
		b.Fatalf("cold run: %d items failed", errs)
	}
	before := f.srv.Stats()
	hits := cache.Hits()
	b.ResetTimer()
	for b.Loop() {
		run(b, f.experiment(b, cfg, 0, newRetriever(), wrap))
	}
	b.StopTimer()
	after := f.srv.Stats()
	calls := 0
	for _, route := range []string{chatRoute, embeddingRoute} {
		if n := after.Requests[route] - before.Requests[route]; n != 0 {
			b.Errorf("warm rerun made %d requests to %s", n, route)
			calls += n
		}
	}
	if per := b.Elapsed() / time.Duration(b.N); per >= time.Second {
		b.Errorf("warm rerun took %v, want under 1 s", per)
	}
	b.ReportMetric(float64(cache.Hits()-hits)/float64(b.N), "hits/op")
	b.ReportMetric(float64(calls)/float64(b.N), "model-calls/op")
}

// BenchmarkIndexOpenAI (issue 11, benchmark 4): a fresh in-memory
// ChromemRetriever indexes 10,000 documents through OpenAIEmbedder against
// the wire-format server, every request answered after 50 ms: one document
// per request (Embed only, chromem's way, NumCPU at once) against batches
// (EmbedBatch). One op is the whole index; run it with -benchtime 1x.
func BenchmarkIndexOpenAI(b *testing.B) {
	const n = 10_000
	docs := make([]ragvsft.Document, n)
	for i := range docs {
		docs[i] = ragvsft.Document{ID: fmt.Sprintf("city-%d", i+1), Text: fmt.Sprintf("City_%d has about %d inhabitants.", i+1, 1000+7919*i)}
	}
	srv, stop := startTimedServer(ragvsfttest.ServerConfig{APIKey: wireKey, Now: onWireDay})
	defer stop()
	srv.SetFaults(ragvsfttest.Faults{Latency: benchLatency})
	for _, batched := range []bool{false, true} {
		name := "one-per-request"
		if batched {
			name = "batched"
		}
		b.Run(name, func(b *testing.B) {
			e, err := ragvsft.NewOpenAIEmbedder(benchConfig(srv), "")
			if err != nil {
				b.Fatal(err)
			}
			opts := ragvsft.ChromemOptions{Embed: e.Embed, Model: e.Model()}
			if batched {
				opts.EmbedBatch = e.EmbedBatch
			}
			before := e.Usage()
			for b.Loop() {
				r, err := ragvsft.NewChromemRetriever(opts)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Index(context.Background(), docs); err != nil {
					b.Fatal(err)
				}
			}
			u := e.Usage()
			b.ReportMetric(float64(u.Requests-before.Requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
