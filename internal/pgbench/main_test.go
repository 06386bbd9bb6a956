package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft/internal/pgtest"
)

// The benchmark runs end to end on a small table and reports what it
// promises: the index steps, then recall and latency per ef_search.
func TestBenchmarkRunsOnASmallTable(t *testing.T) {
	dsn := pgtest.DSN(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	table := "ragvsft_bench_" + hex.EncodeToString(b)
	t.Cleanup(func() { assert.NoError(t, dropTable(context.Background(), dsn, table)) })

	var out bytes.Buffer
	err := run(context.Background(), []string{"-pg", dsn, "-table", table, "-n", "1500", "-dims", "32",
		"-clusters", "10", "-spread", "0.1", "-queries", "40", "-ef", "4,60"}, &out)
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "| upsert 1500 documents")
	assert.Contains(t, out.String(), "| Index again, building HNSW m=16 ef_construction=64 |")
	recall := map[string]float64{}
	for _, m := range regexp.MustCompile(`\| HNSW ef_search=(\d+) \| ([0-9.]+) \|`).FindAllStringSubmatch(out.String(), -1) {
		recall[m[1]], err = strconv.ParseFloat(m[2], 64)
		require.NoError(t, err)
	}
	require.Len(t, recall, 2, out.String())
	assert.GreaterOrEqual(t, recall["60"], 0.95, out.String())
	assert.GreaterOrEqual(t, recall["60"], recall["4"], "a longer candidate list finds at least as much")
}
