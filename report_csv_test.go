package ragvsft

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteCSV(t *testing.T) {
	r := &Report{Results: []Result{
		{Arm: ArmRAG, QuestionID: "line 1", Question: "What is the population of City_1?", Gold: "City_1 has about 1967825 inhabitants.",
			Answer: "City_1 has about 1,967,825 inhabitants, \"roughly\".", Verdict: Verdict{Correct: true, Type: "number", Extracted: "1967825", Expected: "1967825"},
			GoldRank: 0, Retrieved: []RetrievedDoc{{ID: "line 1"}, {ID: "line 10"}}, Latency: 1500 * time.Microsecond,
			Usage: Usage{PromptTokens: 90, CompletionTokens: 12}, Model: "local-base"},
		{Arm: ArmBase, QuestionID: "line 1", GoldRank: -1, Error: "upstream said 503"},
	}}
	var b strings.Builder
	require.NoError(t, r.WriteCSV(&b))
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, csvHeader, rows[0])
	assert.Equal(t, []string{"rag", "line 1", "What is the population of City_1?", "City_1 has about 1967825 inhabitants.",
		"City_1 has about 1,967,825 inhabitants, \"roughly\".", "true", "number", "1967825", "1967825", "", "0", "line 1 line 10",
		"1.500", "90", "12", "local-base", "", "0", "false", ""}, rows[1])
	assert.Equal(t, "upstream said 503", rows[2][16])
	assert.Equal(t, "-1", rows[2][10])
}

// A priced report's CSV gives each item's cost, then the fine-tuning's, the
// embeddings' and the total.
func TestWriteCSVCosts(t *testing.T) {
	r := pricedReport("text-embedding-3-small")
	r.Results[0].Cached = true
	r.ApplyPrices(nil)
	var b strings.Builder
	require.NoError(t, r.WriteCSV(&b))
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+4+3)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	assert.Equal(t, "true", rows[1][col["cached"]])
	assert.Equal(t, "2.000000", rows[1][col["cost_usd"]])
	assert.Equal(t, "500000", rows[3][col["cached_prompt_tokens"]])
	assert.Equal(t, "0.250000", rows[3][col["cost_usd"]])
	for i, want := range [][]string{
		{"fine-tuning", DefaultBaseModel, "2000000", "10.000000"},
		{"embeddings", "text-embedding-3-small", "1000000", "0.020000"},
		{"total", "", "", "16.470000"},
	} {
		row := rows[5+i]
		assert.Equal(t, want, []string{row[col["arm"]], row[col["model"]], row[col["prompt_tokens"]], row[col["cost_usd"]]})
		assert.Empty(t, row[col["question_id"]], "cost rows have no question")
	}
}
