package main

import (
	"bytes"
	"context"
	"log"
	"net"
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
