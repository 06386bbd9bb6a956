package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ragvsft/ragvsft/ragvsfttest"
)

// BenchmarkResumeFinished is issue 11's benchmark 3: a finished run of
// RAGVSFT_BENCH_N cities (default 10,000) through the OpenAI wire
// (ragvsfttest), resumed. Each iteration is one `-resume DIR` of the
// finished folder: it must make no model call and no embedding request,
// and retrieve nothing (the kept results hold their hits). The cold run
// that makes the folder is set up outside the timer; its time is reported
// as cold-s.
//
//	RAGVSFT_BENCH_N=10000 go test -run XXX -bench ResumeFinished -benchtime 3x ./examples/cities/
func BenchmarkResumeFinished(b *testing.B) {
	onTestDay(b)
	n := 10000
	if s := os.Getenv("RAGVSFT_BENCH_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("RAGVSFT_BENCH_N: %v", err)
		}
	}
	srv := ragvsfttest.NewOpenAIServer(ragvsfttest.ServerConfig{JobStepDelay: time.Millisecond})
	b.Cleanup(srv.Close)
	b.Setenv("OPENAI_BASE_URL", srv.URL)
	b.Setenv("OPENAI_API_KEY", "test-key")
	dir := filepath.Join(b.TempDir(), "run")
	run1 := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, nil, &stdout, &stderr); err != nil {
			b.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	start := time.Now()
	run1("-backend", "openai", "-yes", "-n", strconv.Itoa(n), "-poll", "10ms", "-sweep", "", "-out", dir)
	cold := time.Since(start)
	before := srv.Stats()
	b.ResetTimer()
	for b.Loop() {
		out := run1("-resume", dir, "-yes", "-poll", "10ms")
		if !strings.Contains(out, "Plan: 0 items to ask") || !strings.Contains(out, "nothing to retrieve") {
			b.Fatalf("the warm rerun asks or retrieves something:\n%s", out)
		}
	}
	b.StopTimer()
	after := srv.Stats()
	if d := after.ChatCompletions - before.ChatCompletions; d != 0 {
		b.Fatalf("%d chat completions on warm reruns", d)
	}
	if d := after.Embeddings - before.Embeddings; d != 0 {
		b.Fatalf("%d embedding requests on warm reruns", d)
	}
	b.ReportMetric(cold.Seconds(), "cold-s")
	b.ReportMetric(float64(n), "questions")
}
