package main

import (
	"bytes"
	"context"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/ragvsft/ragvsft/ragvsfttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer hands each write to the test over a channel.
type syncBuffer struct {
	ch chan string
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.ch <- string(p)
	return len(p), nil
}

func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{ch: make(chan string, 1)}
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, ln, ragvsfttest.ServerConfig{APIKey: "k"}, out, log.New(&logs, "", 0))
	}()
	line := <-out.ch
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "OPENAI_BASE_URL=")
	require.True(t, ok, line)
	assert.Equal(t, "http://"+ln.Addr().String()+"/v1", base)

	c := openai.NewClient(option.WithBaseURL(base), option.WithAPIKey("k"), option.WithMaxRetries(0))
	page, err := c.Models.List(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, page.Data)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	assert.Contains(t, logs.String(), "GET /v1/models 200")
	_, err = net.Dial("tcp", ln.Addr().String())
	assert.Error(t, err, "the listener is closed")
}

func TestParseFlags(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "OPENAI_SERVER_API_KEY" {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name  string
		args  []string
		env   string
		check func(t *testing.T, o options)
	}{
		{"defaults", nil, "", func(t *testing.T, o options) {
			assert.Equal(t, "127.0.0.1:8089", o.addr)
			assert.False(t, o.cfg.RefuseFineTuning)
			assert.Equal(t, time.Second, o.cfg.FileProcessingDelay)
			assert.Equal(t, time.Second, o.cfg.JobStepDelay)
			assert.Empty(t, o.cfg.APIKey)
		}},
		{"refuse fine-tuning", []string{"-refuse-fine-tuning"}, "", func(t *testing.T, o options) {
			assert.True(t, o.cfg.RefuseFineTuning)
		}},
		{"file processing", []string{"-file-processing", "250ms", "-job-step", "10ms"}, "", func(t *testing.T, o options) {
			assert.Equal(t, 250*time.Millisecond, o.cfg.FileProcessingDelay)
			assert.Equal(t, 10*time.Millisecond, o.cfg.JobStepDelay)
		}},
		{"models and day", []string{"-models", "llama3, qwen2.5,", "-now", "2027-01-14"}, "", func(t *testing.T, o options) {
			assert.Equal(t, []string{"llama3", "qwen2.5"}, o.cfg.Models)
			require.NotNil(t, o.cfg.Now)
			assert.Equal(t, "2027-01-14", o.cfg.Now().Format(time.DateOnly))
		}},
		{"key from the environment", nil, "envkey", func(t *testing.T, o options) { assert.Equal(t, "envkey", o.cfg.APIKey) }},
		{"flag key wins", []string{"-key", "flagkey", "-v"}, "envkey", func(t *testing.T, o options) {
			assert.Equal(t, "flagkey", o.cfg.APIKey)
			assert.True(t, o.verbose)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, env(tt.env))
			require.NoError(t, err)
			tt.check(t, o)
		})
	}
	_, err := parseFlags([]string{"-refuse-fine-tuning=maybe"}, env(""))
	assert.Error(t, err)
}

// With -refuse-fine-tuning the server refuses job creation with 403, as
// OpenAI refuses most organizations, and serves the rest.
func TestRunRefusingFineTuning(t *testing.T) {
	opts, err := parseFlags([]string{"-refuse-fine-tuning", "-file-processing", "1ms", "-key", "k"}, func(string) string { return "" })
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{ch: make(chan string, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, opts.cfg, out, nil) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	base, _ := strings.CutPrefix(strings.TrimSpace(<-out.ch), "OPENAI_BASE_URL=")
	c := openai.NewClient(option.WithBaseURL(base), option.WithAPIKey("k"), option.WithMaxRetries(0))

	f, err := c.Files.New(ctx, openai.FileNewParams{
		File:    openai.File(strings.NewReader(`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`+"\n"), "t.jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeFineTune,
	})
	require.NoError(t, err)
	_, err = c.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{Model: "gpt-4.1-mini-2025-04-14", TrainingFile: f.ID})
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)
	assert.Contains(t, apiErr.Message, "can no longer create fine-tuning jobs")
	page, err := c.FineTuning.Jobs.List(ctx, openai.FineTuningJobListParams{})
	require.NoError(t, err)
	assert.Empty(t, page.Data)
}

func TestParseFlagsRefusesABadDay(t *testing.T) {
	_, err := parseFlags([]string{"-now", "14.01.2027"}, func(string) string { return "" })
	assert.ErrorContains(t, err, `-now "14.01.2027": want YYYY-MM-DD`)
}
