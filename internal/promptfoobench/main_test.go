package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain lets the test binary be the ragvsft child, as the program is.
func TestMain(m *testing.M) {
	if a := os.Getenv(childEnv); a != "" {
		if err := runChild(context.Background(), a, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestParseFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		err  string
	}{
		{"defaults", nil, ""},
		{"zero rounds", []string{"-rounds", "0"}, "must be positive"},
		{"negative latency", []string{"-latency", "-1ms"}, "must be positive"},
		{"stray argument", []string{"eval"}, "unexpected arguments"},
		{"unknown flag", []string{"-j", "8"}, "not defined"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, err := parseFlags(c.args, io.Discard)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 3, o.rounds)
			assert.Equal(t, 100, o.n)
			assert.InDelta(t, 160, o.bound(), 1e-9)
			assert.Equal(t, "0.123.1", o.promptfoo)
		})
	}
}

// TestWithoutPromptfoo runs the ragvsft side and the net/http floor alone,
// without npm (an empty -dir), on a few calls: the server must see each call
// once, 4 at a time.
func TestWithoutPromptfoo(t *testing.T) {
	// The benchmark's server serves the default model, which shuts down on
	// 2027-01-14: pin a day before.
	t.Setenv("RAGVSFT_TODAY", "2026-12-02")
	var out bytes.Buffer
	err := run(context.Background(), []string{"-dir", "", "-rounds", "2", "-n", "12", "-concurrency", "4", "-latency", "20ms"}, &out)
	require.NoError(t, err, out.String())
	table := out.String()[strings.Index(out.String(), "| tool"):]
	rows := strings.Split(strings.TrimSpace(table), "\n")
	require.Len(t, rows, 4, table)
	for i, tool := range []string{"ragvsft", floorTool} {
		cells := strings.Split(rows[2+i], "|")
		assert.Equal(t, " "+tool+" ", cells[1])
		assert.Equal(t, " 12 / 12 ", cells[10], "chat calls / requests")
		assert.True(t, strings.HasPrefix(cells[11], " 4 / "), "most in flight: %s", cells[11])
	}
}

func TestWriteConfig(t *testing.T) {
	dir := t.TempDir()
	p := &promptfoo{}
	o := options{concurrency: 8, model: "gpt-4.1-mini-2025-04-14", latency: time.Millisecond}
	require.NoError(t, p.writeConfig(dir, "http://127.0.0.1:1/v1", o, []string{`What is "City_1"?`, "What is the population of City_2?"}))
	b, err := os.ReadFile(dir + "/promptfooconfig.yaml")
	require.NoError(t, err)
	cfg := string(b)
	assert.Contains(t, cfg, `id: "openai:chat:gpt-4.1-mini-2025-04-14"`)
	assert.Contains(t, cfg, `apiBaseUrl: "http://127.0.0.1:1/v1"`)
	assert.Contains(t, cfg, `question: "What is \"City_1\"?"`)
	assert.Equal(t, 2, strings.Count(cfg, "- vars:"))
	prompt, err := os.ReadFile(dir + "/prompt.json")
	require.NoError(t, err)
	assert.Contains(t, string(prompt), `QUESTION: {{question}}`)
	assert.Contains(t, strings.Join(p.command(context.Background(), dir).Args, " "), " -j 8 --no-cache ")
}
