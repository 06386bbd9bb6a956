package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerateIsValidAndVaried(t *testing.T) {
	for _, ids := range []bool{false, true} {
		var b bytes.Buffer
		n, err := generate(&b, 2000, ids)
		require.NoError(t, err)
		assert.EqualValues(t, b.Len(), n)
		require.NoError(t, ragvsft.ValidateJSONL(bytes.NewReader(b.Bytes()), "gen.jsonl"))
		ds, err := ragvsft.ReadJSONL(bytes.NewReader(b.Bytes()), "gen.jsonl")
		require.NoError(t, err)
		require.Equal(t, 2000, ds.Len())
		if ids {
			assert.Equal(t, "ex-7", ds.Examples()[6].ID)
		} else {
			assert.Equal(t, "line 7", ds.Examples()[6].ID)
		}

		// The lines are what the doc comment promises: multi-turn, parts,
		// weights, escapes, non-ASCII.
		var turns, parts, weights int
		for line := range bytes.Lines(b.Bytes()) {
			var ex struct {
				Messages []struct {
					Content json.RawMessage `json:"content"`
					Weight  *int            `json:"weight"`
				} `json:"messages"`
			}
			require.NoError(t, json.Unmarshal(line, &ex))
			if len(ex.Messages) > 3 {
				turns++
			}
			for _, m := range ex.Messages {
				if bytes.HasPrefix(m.Content, []byte("[")) {
					parts++
				}
				if m.Weight != nil {
					weights++
				}
			}
		}
		assert.Greater(t, turns, 500)
		assert.Greater(t, parts, 100)
		assert.Greater(t, weights, 100)
		for _, s := range []string{`\n`, `\t`, `\"`, `\\`, "é", "😀"} {
			assert.Contains(t, b.String(), s)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	_, err := generate(&a, 300, false)
	require.NoError(t, err)
	_, err = generate(&b, 300, false)
	require.NoError(t, err)
	assert.Equal(t, a.String(), b.String())
}

func TestParseResult(t *testing.T) {
	r, err := parseResult([]byte("lines=3 bytes=10 ns=2000000 alloc=5 peakheap=6 heapsys=7 startrss=8 rss=9\n"))
	require.NoError(t, err)
	assert.Equal(t, result{lines: 3, bytes: 10, elapsed: 2 * time.Millisecond, totalAlloc: 5, peakHeap: 6, heapSys: 7, startRSS: 8, peakRSS: 9}, r)
	for _, bad := range []string{"", "lines=3", "lines=x bytes=10 ns=2 alloc=5 peakheap=6 heapsys=7 startrss=8 rss=9",
		"what=3 bytes=10 ns=2 alloc=5 peakheap=6 heapsys=7 startrss=8 rss=9"} {
		_, err := parseResult([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func TestParseStatus(t *testing.T) {
	status := []byte("Name:\tx\nVmPeak:\t  1000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n")
	hwm, err := parseStatus(status, "VmHWM")
	require.NoError(t, err)
	assert.EqualValues(t, 20480<<10, hwm)
	rss, err := parseStatus(status, "VmRSS")
	require.NoError(t, err)
	assert.EqualValues(t, 10240<<10, rss)
	_, err = parseStatus(status, "VmSwap")
	assert.EqualError(t, err, "no VmSwap in /proc/self/status")
	_, err = parseStatus([]byte("VmHWM: lots kB\n"), "VmHWM")
	assert.Error(t, err)
}
