package report_test

import (
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteCSV(t *testing.T) {
	r := &ragvsft.Report{Results: []ragvsft.Result{
		{Arm: ragvsft.ArmRAG, QuestionID: "line 1", Question: "What is the population of City_1?", Gold: "City_1 has about 1967825 inhabitants.",
			Answer: "City_1 has about 1,967,825 inhabitants, \"roughly\".", Verdict: ragvsft.Verdict{Correct: true, Type: "number", Extracted: "1967825", Expected: "1967825"},
			GoldRank: 0, Retrieved: []ragvsft.RetrievedDoc{{ID: "line 1"}, {ID: "line 10"}}, Latency: 1500 * time.Microsecond,
			Usage: ragvsft.Usage{PromptTokens: 90, CompletionTokens: 12}, Model: "local-base", Fact: ragvsft.FactHeldOut, Knowledge: ragvsft.KnowledgeUnknown},
		{Arm: ragvsft.ArmBase, QuestionID: "line 1", GoldRank: -1, Error: "upstream said 503"},
	}}
	var b strings.Builder
	require.NoError(t, report.WriteCSV(&b, r))
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, []string{"arm", "question_id", "question", "gold", "answer", "outcome", "correct", "type", "extracted", "expected", "reason",
		"gold_rank", "retrieved_ids", "latency_ms", "prompt_tokens", "completion_tokens", "model", "error",
		"cached_prompt_tokens", "cached", "cost_usd", "fact", "knowledge"}, rows[0], "the columns the README documents")
	assert.Equal(t, []string{"rag", "line 1", "What is the population of City_1?", "City_1 has about 1967825 inhabitants.",
		"City_1 has about 1,967,825 inhabitants, \"roughly\".", "correct", "true", "number", "1967825", "1967825", "", "0", "line 1 line 10",
		"1.500", "90", "12", "local-base", "", "0", "false", "", "held_out", "unknown"}, rows[1])
	col := func(name string) int { return slices.Index(rows[0], name) }
	assert.Equal(t, "upstream said 503", rows[2][col("error")])
	assert.Equal(t, "-1", rows[2][col("gold_rank")])
	assert.Equal(t, "error", rows[2][col("outcome")], "a result without an outcome gets the one its error gives")
}

// The outcome column names each item's outcome, by column name.
func TestWriteCSVOutcomes(t *testing.T) {
	r := &ragvsft.Report{Results: []ragvsft.Result{
		{Arm: ragvsft.ArmBase, QuestionID: "q1", Answer: "I don't know.", Outcome: ragvsft.OutcomeAbstained},
		{Arm: ragvsft.ArmBase, QuestionID: "q2", Answer: "7", Outcome: ragvsft.OutcomeWrong, Verdict: ragvsft.Verdict{Reason: "got 7, want 8"}},
		{Arm: ragvsft.ArmBase, QuestionID: "q3", Answer: "8", Outcome: ragvsft.OutcomeCorrect, Verdict: ragvsft.Verdict{Correct: true}},
		{Arm: ragvsft.ArmBase, QuestionID: "q4", Outcome: ragvsft.OutcomeError, Error: "503"},
	}}
	var b strings.Builder
	require.NoError(t, report.WriteCSV(&b, r))
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 5)
	outcome, correct := slices.Index(rows[0], "outcome"), slices.Index(rows[0], "correct")
	require.Positive(t, outcome)
	var got [][2]string
	for _, row := range rows[1:] {
		got = append(got, [2]string{row[outcome], row[correct]})
	}
	assert.Equal(t, [][2]string{{"abstained", "false"}, {"wrong", "false"}, {"correct", "true"}, {"error", "false"}}, got)
}

// A priced report's CSV gives each item's cost, then the fine-tuning's, the
// embeddings' and the total.
func TestWriteCSVCosts(t *testing.T) {
	r := pricedReport()
	r.Results[0].Cached = true
	r.ApplyPrices(nil)
	var b strings.Builder
	require.NoError(t, report.WriteCSV(&b, r))
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
		{"fine-tuning", ragvsft.DefaultBaseModel, "2000000", "10.000000"},
		{"embeddings", "text-embedding-3-small", "1000000", "0.020000"},
		{"total", "", "", "16.470000"},
	} {
		row := rows[5+i]
		assert.Equal(t, want, []string{row[col["arm"]], row[col["model"]], row[col["prompt_tokens"]], row[col["cost_usd"]]})
		assert.Empty(t, row[col["question_id"]], "cost rows have no question")
	}
}
