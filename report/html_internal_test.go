package report

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragvsft/ragvsft"
)

// The viewer's data is streamed, and is what json.Marshal writes.
func TestWriteViewJSONIsMarshal(t *testing.T) {
	rep := &ragvsft.Report{Settings: ragvsft.ReportSettings{Arms: ragvsft.AllArms}, Results: []ragvsft.Result{
		{Arm: ragvsft.ArmRAG, QuestionID: "q1", Question: `</script><b>"items":null & co</b>`, Answer: "x",
			Retrieved: []ragvsft.RetrievedDoc{{ID: "d1", Text: "passage"}}},
		{Arm: ragvsft.ArmBase, QuestionID: "q1", Answer: "I don't know."},
		{Arm: ragvsft.ArmBase, QuestionID: "q2", Error: "503", Outcome: ragvsft.OutcomeError},
	}}
	for name, v := range map[string]viewData{"items": newViewData(rep), "no items": newViewData(&ragvsft.Report{}), "nil items": {}} {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(v)
			require.NoError(t, err)
			var got jsonBuffer
			require.NoError(t, writeViewJSON(&got, v))
			assert.Equal(t, string(want), string(got))
		})
	}
}

type jsonBuffer []byte

func (b *jsonBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }
