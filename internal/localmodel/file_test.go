package localmodel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	seqs := things(12)
	m, err := Train(context.Background(), seqs, trainOpts)
	require.NoError(t, err)
	var buf bytes.Buffer
	h := Header{Name: "ft:local-base:x:1234", MinConfidence: 0.25}
	require.NoError(t, m.Save(&buf, h))
	saved := bytes.Clone(buf.Bytes())

	got, gotH, err := Load(bytes.NewReader(saved))
	require.NoError(t, err)
	assert.Equal(t, h, gotH)
	assert.Equal(t, m.Features(), got.Features())
	assert.Equal(t, m.copy, got.copy, "the copy weights are saved")
	assert.NotEmpty(t, got.copy)
	for _, s := range seqs {
		assert.Equal(t, greedy(t, m, s.Prompt), greedy(t, got, s.Prompt), s.Prompt)
	}
	// Shared rows stay shared: the file is about one row per group, and
	// saving the loaded model gives the same bytes.
	var again bytes.Buffer
	require.NoError(t, got.Save(&again, gotH))
	assert.Equal(t, saved, again.Bytes())
	assert.Less(t, len(saved), 4*m.Features()*len(m.vocab), "rows shared in memory must be shared in the file")
}

func TestSaveLoadEmpty(t *testing.T) {
	for _, m := range []*Model{nil, {}} {
		var buf bytes.Buffer
		require.NoError(t, m.Save(&buf, Header{}))
		got, h, err := Load(&buf)
		require.NoError(t, err)
		assert.Equal(t, Header{}, h)
		assert.True(t, got.Empty())
	}
}

// reseal recomputes the checksum of a file edited by a test, so the edit
// itself is what Load sees.
func reseal(b []byte) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
	return b
}

func TestLoadRefusesBadFiles(t *testing.T) {
	m, err := Train(context.Background(), things(4), trainOpts)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, m.Save(&buf, Header{Name: "m"}))
	good := buf.Bytes()
	nameEnd := len(fileMagic) + 4 + 4 + 1 + 8 // magic, version, name length, "m", gate

	weights := nameEnd + 4 + 4 // V, then the vocabulary, then D
	for _, tok := range m.vocab {
		weights += 4 + len(tok)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01 // the lowest mantissa bit: still a finite weight
		return b
	}
	version2 := bytes.Clone(good)
	binary.LittleEndian.PutUint32(version2[len(fileMagic):], 2)
	version4 := bytes.Clone(good)
	binary.LittleEndian.PutUint32(version4[len(fileMagic):], 4)
	// A model with sparse rows: its first sparse row claims every token
	// and one more, or holds a token twice.
	sm, err := trainSnapshots(context.Background(), things(4), trainOpts, []int{1}, 3*len(m.vocab))
	require.NoError(t, err)
	var sbuf bytes.Buffer
	require.NoError(t, sm[0].Save(&sbuf, Header{Name: "m"}))
	sparse := sbuf.Bytes()
	firstRow := weights + 4*3*len(m.vocab) + 4 // the dense rows, S
	tooMany := bytes.Clone(sparse)
	binary.LittleEndian.PutUint32(tooMany[firstRow:], uint32(len(m.vocab)+1))
	repeated := bytes.Clone(sparse)
	require.GreaterOrEqual(t, binary.LittleEndian.Uint32(sparse[firstRow:]), uint32(2))
	copy(repeated[firstRow+4+8:firstRow+4+12], sparse[firstRow+4:firstRow+8])
	badGate := bytes.Clone(good)
	binary.LittleEndian.PutUint64(badGate[nameEnd-8:], math.Float64bits(1.5))
	nan := bytes.Clone(good)
	binary.LittleEndian.PutUint32(nan[weights:], 0x7fc00000)
	hugeVocab := bytes.Clone(good)
	binary.LittleEndian.PutUint32(hugeVocab[nameEnd:], 1<<30)

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "does not start with"},
		{"json", []byte(`{"model": "x"}`), "does not start with"},
		{"older version", reseal(version2), "format version 2, this build reads version 3"},
		{"newer version", reseal(version4), "format version 4, this build reads version 3"},
		{"sparse row too long", reseal(tooMany), fmt.Sprintf("sparse row 0 holds %d of %d tokens", len(m.vocab)+1, len(m.vocab))},
		{"sparse token repeated", reseal(repeated), "sparse row 0, entry 1"},
		{"gate out of range", reseal(badGate), "confidence threshold 1.5 is not in [0, 1]"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"no checksum", good[:len(good)-4], "truncated"},
		{"flipped weight bit", flip(weights + 4), "checksum mismatch"},
		{"trailing data", append(bytes.Clone(good), 0), "data after the checksum"},
		{"NaN weight", reseal(nan), "weight 0 is NaN"},
		{"huge vocabulary", reseal(hugeVocab), "vocabulary of 1073741824 tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := Load(bytes.NewReader(tt.data))
			require.ErrorIs(t, err, ErrBadFile)
			assert.ErrorContains(t, err, tt.want)
			assert.Nil(t, got)
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestLoadReportsReadErrors(t *testing.T) {
	_, _, err := Load(failingReader{})
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrBadFile)
	assert.ErrorContains(t, err, "disk on fire")
}
