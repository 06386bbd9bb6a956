package ragvsft

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckpointRoundTripAndTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.jsonl")
	c, err := OpenCheckpoint(path)
	require.NoError(t, err)
	assert.Empty(t, c.Previous())
	r1 := Result{Arm: ArmRAG, QuestionID: "line 1", Answer: "City_1 has about 1967825 inhabitants.", GoldRank: 0,
		Verdict: Verdict{Correct: true, Extracted: "1967825", Expected: "1967825"}}
	r2 := Result{Arm: ArmBase, QuestionID: "line 1", Answer: "I don't know.", GoldRank: -1}
	require.NoError(t, c.Append(r1))
	require.NoError(t, c.Append(r2))
	require.NoError(t, c.Close())

	// A crash in the middle of the third write leaves a fragment behind.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"arm":"rag","question_id":"li`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	c, err = OpenCheckpoint(path)
	require.NoError(t, err)
	assert.Equal(t, []Result{r1, r2}, c.Previous())
	r3 := Result{Arm: ArmRAG, QuestionID: "line 2", GoldRank: 3}
	require.NoError(t, c.Append(r3))
	require.NoError(t, c.Close())

	c, err = OpenCheckpoint(path)
	require.NoError(t, err)
	assert.Equal(t, []Result{r1, r2, r3}, c.Previous(), "the fragment was cut away, not glued to the next line")
	require.NoError(t, c.Close())
}

// Group commit: a line is in the file when Append returns, before any
// fsync (a process that dies there loses nothing), and the background
// syncer makes it durable within the interval; a negative interval syncs
// in Append itself.
func TestCheckpointGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.jsonl")
	c, err := OpenCheckpointWith(path, CheckpointOptions{SyncInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	r := Result{Arm: ArmRAG, QuestionID: "q1", GoldRank: 1}
	require.NoError(t, c.Append(r))
	// Another process reading now, as a resume after kill -9 would.
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(b), "\n"), "written before Append returned")
	assert.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.dirty
	}, 5*time.Second, 5*time.Millisecond, "synced in the background")
	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "a second Close does nothing")
	assert.ErrorIs(t, c.Append(r), os.ErrClosed)

	strict, err := OpenCheckpointWith(path, CheckpointOptions{SyncInterval: -1})
	require.NoError(t, err)
	require.NoError(t, strict.Append(r))
	assert.False(t, strict.dirty, "synced before Append returned")
	assert.Nil(t, strict.stop, "no background syncer")
	require.NoError(t, strict.Close())
}

// Concurrent appends each land on a line of their own.
func TestCheckpointConcurrentAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.jsonl")
	c, err := OpenCheckpoint(path)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				assert.NoError(t, c.Append(Result{Arm: ArmBase, QuestionID: fmt.Sprintf("w%d-%d", w, i), Answer: strings.Repeat("x", 3000)}))
			}
		})
	}
	wg.Wait()
	require.NoError(t, c.Close())
	c, err = OpenCheckpoint(path)
	require.NoError(t, err)
	assert.Len(t, c.Previous(), 400)
	require.NoError(t, c.Close())
}

func TestCheckpointCorruptLineIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("{\"arm\":\"rag\"}\nnot json\n{}\n"), 0o644))
	_, err := OpenCheckpoint(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 2")
	assert.Contains(t, err.Error(), path)
}

// BenchmarkCheckpointAppend: eight workers appending results of about
// 1 KB, an fsync per line (SyncInterval < 0, the checkpoint before the
// group commit) against the default group commit.
//
//	go test -run '^$' -bench CheckpointAppend -count 6 .
func BenchmarkCheckpointAppend(b *testing.B) {
	res := Result{Arm: ArmRAG, QuestionID: "line 1", Question: "What is the population of City_1?", Answer: strings.Repeat("x", 900), GoldRank: 0}
	for _, bc := range []struct {
		name     string
		interval time.Duration
	}{{"fsync-each", -1}, {"group", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := OpenCheckpointWith(filepath.Join(b.TempDir(), "checkpoint.jsonl"), CheckpointOptions{SyncInterval: bc.interval})
			if err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(4) // 8 workers on this 2-core machine
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Append(res); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
