package ragvsft

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckpointRoundTripAndTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.jsonl")
	c, prev, err := OpenCheckpoint(path)
	require.NoError(t, err)
	assert.Empty(t, prev)
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

	c, prev, err = OpenCheckpoint(path)
	require.NoError(t, err)
	assert.Equal(t, []Result{r1, r2}, prev)
	r3 := Result{Arm: ArmRAG, QuestionID: "line 2", GoldRank: 3}
	require.NoError(t, c.Append(r3))
	require.NoError(t, c.Close())

	_, prev, err = OpenCheckpoint(path)
	require.NoError(t, err)
	assert.Equal(t, []Result{r1, r2, r3}, prev, "the fragment was cut away, not glued to the next line")
}

func TestCheckpointCorruptLineIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("{\"arm\":\"rag\"}\nnot json\n{}\n"), 0o644))
	_, _, err := OpenCheckpoint(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 2")
	assert.Contains(t, err.Error(), path)
}
