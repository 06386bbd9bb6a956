package ragvsft

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocalModelSaveLoad(t *testing.T) {
	for _, kb := range []string{"cities", "companies"} {
		t.Run(kb, func(t *testing.T) {
			m, _ := fineTuned(t, kb, 30)
			var buf bytes.Buffer
			n, err := m.WriteTo(&buf)
			require.NoError(t, err)
			assert.Equal(t, int64(buf.Len()), n)
			t.Logf("%s after 30 epochs: %d features, %d bytes saved", kb, m.mem.Features(), n)

			got, err := ReadLocalModel(bytes.NewReader(buf.Bytes()))
			require.NoError(t, err)
			assert.Equal(t, m.Name(), got.Name())
			data := citiesForTest(t)
			if kb == "companies" {
				data = companiesForTest(t)
			}
			for _, q := range questionsOf(data) {
				want, err := m.Chat(context.Background(), closedBookRequest(q.question))
				require.NoError(t, err)
				have, err := got.Chat(context.Background(), closedBookRequest(q.question))
				require.NoError(t, err)
				require.Equal(t, want, have, q.question)
			}
		})
	}
}

func TestLocalModelSaveLoadBase(t *testing.T) {
	var buf bytes.Buffer
	_, err := NewLocalModel().WriteTo(&buf)
	require.NoError(t, err)
	got, err := ReadLocalModel(&buf)
	require.NoError(t, err)
	assert.Equal(t, LocalBaseModel, got.Name())
	resp, err := got.Chat(context.Background(), closedBookRequest("What is the population of Ablaton?"))
	require.NoError(t, err)
	assert.Equal(t, localAbstention, resp.Content)
}

func TestReadLocalModelBadData(t *testing.T) {
	_, err := ReadLocalModel(bytes.NewReader([]byte("{\"lora\": true}\n")))
	require.ErrorIs(t, err, ErrBadLocalModel)
	assert.EqualError(t, err, `ragvsft: reading local model: localmodel: not a valid local model file: it does not start with "RVSFTLM\n"`)
}
