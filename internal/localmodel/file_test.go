package localmodel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	seqs := things(12)
	m, err := Train(context.Background(), seqs, trainOpts)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, m.Save(&buf, "ft:local-base:x:1234"))
	saved := bytes.Clone(buf.Bytes())

	got, name, err := Load(bytes.NewReader(saved))
	require.NoError(t, err)
	assert.Equal(t, "ft:local-base:x:1234", name)
	assert.Equal(t, m.Features(), got.Features())
	for _, s := range seqs {
		assert.Equal(t, greedy(t, m, s.Prompt), greedy(t, got, s.Prompt), s.Prompt)
	}
	// Shared rows stay shared: the file is about one row per group, and
	// saving the loaded model gives the same bytes.
	var again bytes.Buffer
	require.NoError(t, got.Save(&again, name))
	assert.Equal(t, saved, again.Bytes())
	assert.Less(t, len(saved), 4*m.Features()*len(m.vocab), "rows shared in memory must be shared in the file")
}

func TestSaveLoadEmpty(t *testing.T) {
	for _, m := range []*Model{nil, {}} {
		var buf bytes.Buffer
		require.NoError(t, m.Save(&buf, ""))
		got, name, err := Load(&buf)
		require.NoError(t, err)
		assert.Equal(t, "", name)
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
	require.NoError(t, m.Save(&buf, "m"))
	good := buf.Bytes()
	nameEnd := len(fileMagic) + 4 + 4 + 1 // magic, version, name length, "m"

	weights := nameEnd + 4 + 4 // V, then the vocabulary, then G
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
		{"newer version", reseal(version2), "format version 2, this build reads version 1"},
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
