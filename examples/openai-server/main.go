// Command openai-server serves an OpenAI-compatible API backed by ragvsft's
// embedded local model, so that code written for OpenAI (examples/cities
// with -backend openai, or your own) runs offline, fine-tuning included.
//
//	go run ./examples/openai-server -addr 127.0.0.1:8089
//
// then, in another shell:
//
//	OPENAI_BASE_URL=http://127.0.0.1:8089/v1 OPENAI_API_KEY=test go run ./examples/cities -backend openai -yes
//
// State (files, jobs, fine-tuned models) lives in memory and ends with the
// process. Stop it with Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ragvsft/ragvsft/ragvsfttest"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("openai-server: ")
	addr := flag.String("addr", "127.0.0.1:8089", "`host:port` to listen on")
	key := flag.String("key", "", "API key to require (default: accept any non-empty key; also read from OPENAI_SERVER_API_KEY)")
	step := flag.Duration("job-step", time.Second, "how long a fine-tuning job stays in each of validating_files and queued")
	latency := flag.Duration("latency", 0, "latency added to every request")
	failRate := flag.Float64("fail-rate", 0, "fraction of requests answered with 429 rate_limit_exceeded (retry-after 1s)")
	flag.Parse()
	if *key == "" {
		*key = os.Getenv("OPENAI_SERVER_API_KEY")
	}
	if err := run(*addr, ragvsfttest.ServerConfig{
		APIKey:       *key,
		JobStepDelay: *step,
		Faults: ragvsfttest.Faults{
			Latency:   *latency,
			Rate:      *failRate,
			RateFault: ragvsfttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second},
			Seed:      1,
		},
	}); err != nil {
		log.Fatal(err)
	}
}

func run(addr string, cfg ragvsfttest.ServerConfig) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	api := ragvsfttest.NewOpenAIHandler(cfg)
	defer api.Close()
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}

	fmt.Printf("OPENAI_BASE_URL=http://%s/v1\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Print("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
