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
// It prints the base URL to use as OPENAI_BASE_URL. State (files, jobs,
// fine-tuned models) lives in memory and ends with the process; stop it with
// Ctrl-C (SIGINT) or SIGTERM, which lets requests in flight finish.
//
// Flags:
//
//	-addr host:port   where to listen (default 127.0.0.1:8089)
//	-key KEY          the only API key accepted (default: any non-empty key;
//	                  also OPENAI_SERVER_API_KEY)
//	-job-step 1s      how long a job stays validating_files, then queued
//	-latency 0        latency added to every request
//	-fail-rate 0      fraction of requests refused with 429 (retry-after 1s)
//	-v                log every request
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	verbose := flag.Bool("v", false, "log every request")
	flag.Parse()
	if *key == "" {
		*key = os.Getenv("OPENAI_SERVER_API_KEY")
	}
	cfg := ragvsfttest.ServerConfig{
		APIKey:       *key,
		JobStepDelay: *step,
		Faults: ragvsfttest.Faults{
			Latency:   *latency,
			Rate:      *failRate,
			RateFault: ragvsfttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second},
			Seed:      1,
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen on %s: %v", *addr, err)
	}
	var logger *log.Logger
	if *verbose {
		logger = log.Default()
	}
	if err := run(ctx, ln, cfg, os.Stdout, logger); err != nil {
		log.Fatal(err)
	}
}

// run serves the API on ln until ctx is done, then shuts down gracefully.
// It first writes the base URL to out; with a logger it logs each request.
func run(ctx context.Context, ln net.Listener, cfg ragvsfttest.ServerConfig, out io.Writer, logger *log.Logger) error {
	api := ragvsfttest.NewOpenAIHandler(cfg)
	defer api.Close()
	var h http.Handler = api
	if logger != nil {
		h = logRequests(api, logger)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}

	fmt.Fprintf(out, "OPENAI_BASE_URL=http://%s/v1\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if logger != nil {
		logger.Print("shutting down")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection, so injected
// dropped connections still work.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func logRequests(h http.Handler, logger *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		logger.Printf("%s %s %d %s", r.Method, r.URL.Path, rec.status, time.Since(start).Round(time.Microsecond))
	})
}
