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
//	-file-processing 1s
//	                  how long an uploaded file stays "uploaded" before it is
//	                  "processed"; a job on it is refused until then, as
//	                  OpenAI refuses it
//	-refuse-fine-tuning
//	                  refuse every job creation with 403, as OpenAI refuses
//	                  most organizations since its wind-down of self-serve
//	                  fine-tuning (2026-05-07; nobody from 2027-01-06):
//	                  try what your code does then, e.g. that a rerun
//	                  uploads nothing twice
//	-latency 0        latency added to every request
//	-fail-rate 0      fraction of requests refused with 429 (retry-after 1s)
//	-models a,b       model ids served besides OpenAI's catalog and the
//	                  fine-tunes, as a vLLM or Ollama server names its
//	                  models (answered by the embedded base model)
//	-now YYYY-MM-DD   the day the catalog's shutdown dates are checked
//	                  against (default: today)
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
	"strings"
	"syscall"
	"time"

	"github.com/ragvsft/ragvsft/ragvsfttest"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("openai-server: ")
	opts, err := parseFlags(os.Args[1:], os.Getenv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		os.Exit(2) // the flag package has printed the error and the usage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		log.Fatalf("listen on %s: %v", opts.addr, err)
	}
	var logger *log.Logger
	if opts.verbose {
		logger = log.Default()
	}
	if opts.cfg.RefuseFineTuning {
		log.Print("refusing every fine-tuning job creation (-refuse-fine-tuning)")
	}
	if err := run(ctx, ln, opts.cfg, os.Stdout, logger); err != nil {
		log.Fatal(err)
	}
}

// options are the command's flags, read by parseFlags.
type options struct {
	addr    string
	verbose bool
	cfg     ragvsfttest.ServerConfig
}

// parseFlags reads the command line (without the program name); getenv
// supplies OPENAI_SERVER_API_KEY when -key is not given.
func parseFlags(args []string, getenv func(string) string) (options, error) {
	fs := flag.NewFlagSet("openai-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8089", "`host:port` to listen on")
	key := fs.String("key", "", "API key to require (default: accept any non-empty key; also read from OPENAI_SERVER_API_KEY)")
	step := fs.Duration("job-step", time.Second, "how long a fine-tuning job stays in each of validating_files and queued")
	processing := fs.Duration("file-processing", time.Second, "how long an uploaded file stays \"uploaded\" before it is \"processed\" (a job on it is refused until then)")
	refuse := fs.Bool("refuse-fine-tuning", false, "refuse every fine-tuning job creation with 403, as OpenAI refuses most organizations since its wind-down of self-serve fine-tuning")
	latency := fs.Duration("latency", 0, "latency added to every request")
	failRate := fs.Float64("fail-rate", 0, "fraction of requests answered with 429 rate_limit_exceeded (retry-after 1s)")
	models := fs.String("models", "", "comma-separated `ids` served besides OpenAI's catalog and the fine-tunes (e.g. llama3,qwen2.5), answered by the embedded base model")
	day := fs.String("now", "", "the `day` (YYYY-MM-DD) the catalog's shutdown dates are checked against (default: today)")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	var now func() time.Time
	if *day != "" {
		t, err := time.Parse(time.DateOnly, *day)
		if err != nil {
			return options{}, fmt.Errorf("-now %q: want YYYY-MM-DD", *day)
		}
		now = func() time.Time { return t }
	}
	var extra []string
	for m := range strings.SplitSeq(*models, ",") {
		if m = strings.TrimSpace(m); m != "" {
			extra = append(extra, m)
		}
	}
	if *key == "" {
		*key = getenv("OPENAI_SERVER_API_KEY")
	}
	return options{addr: *addr, verbose: *verbose, cfg: ragvsfttest.ServerConfig{
		APIKey:              *key,
		JobStepDelay:        *step,
		FileProcessingDelay: *processing,
		RefuseFineTuning:    *refuse,
		Models:              extra,
		Now:                 now,
		Faults: ragvsfttest.Faults{
			Latency:   *latency,
			Rate:      *failRate,
			RateFault: ragvsfttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second},
			Seed:      1,
		},
	}}, nil
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
