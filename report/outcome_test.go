package report_test

import (
	"bytes"
	"encoding/csv"
	"html"
	"slices"
	"strings"
	"testing"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outcomesReport has an arm of each kind: base answers some right, some
// wrong, abstains on some and fails on one; fine-tuned only abstains; rag
// only fails.
func outcomesReport(t testing.TB) *ragvsft.Report {
	ids := []string{"qa", "qb", "qc", "qd", "qe", "qf", "qg", "qh"}
	rep, _ := scriptedRun(t, ids, []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmFineTuned, ragvsft.ArmRAG}, func(arm ragvsft.Arm, id string) string {
		i := slices.Index(ids, id)
		switch {
		case arm == ragvsft.ArmRAG, arm == ragvsft.ArmBase && i == 7:
			return ""
		case arm == ragvsft.ArmFineTuned, i >= 4:
			return "I don't know."
		case i == 3:
			return id + " has about 7 inhabitants."
		}
		return id + " has about 100 inhabitants."
	})
	return rep
}

func TestHTMLShowsOutcomes(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, report.WriteHTML(&b, outcomesReport(t)))
	page := b.String()
	row := func(cells ...string) string {
		return "<tr><td>" + strings.Join(cells[:1], "") + `</td><td class="num">` + strings.Join(cells[1:6], `</td><td class="num">`) +
			"</td><td>" + html.EscapeString(cells[6]) + `</td><td class="num">` + cells[7] + "</td>"
	}
	assert.Contains(t, page, row("base", "3", "1", "3", "1", "42.9%", "15.8% – 75.0%", "25.0%"))
	assert.Contains(t, page, row("fine-tuned", "0", "0", "8", "0", "0.0%", "0.0% – 32.4%", "n/a"))
	assert.Contains(t, page, row("rag", "0", "0", "0", "8", "n/a", "n/a", "n/a"), "nothing answered: n/a, not 0%")
	assert.Contains(t, page, "<th>abstained</th>")
	assert.Contains(t, page, "<th>hallucination rate</th>")
	// The rows are rendered by the page's script from its data (see
	// TestViewerInChromium): an abstention keeps its answer, an error its
	// message, and neither has a verdict.
	var abstained, failed, wrong int
	for _, it := range viewOf(t, page).Items {
		for _, c := range it.Cells {
			require.NotNil(t, c)
			switch c.Outcome {
			case ragvsft.OutcomeAbstained:
				abstained++
				assert.Equal(t, "I don't know.", c.Answer)
				assert.Nil(t, c.Verdict)
			case ragvsft.OutcomeError:
				failed++
				assert.Contains(t, c.Error, "503 Service Unavailable")
				assert.Nil(t, c.Verdict)
			case ragvsft.OutcomeWrong:
				wrong++
				require.NotNil(t, c.Verdict)
				assert.Equal(t, "7", c.Verdict.Extracted)
			}
		}
	}
	assert.Equal(t, [3]int{11, 9, 1}, [3]int{abstained, failed, wrong})
}

// The CSV's outcome column and the chart of an arm with nothing answered.
func TestCSVAndChartOfOutcomes(t *testing.T) {
	r := outcomesReport(t)
	var b strings.Builder
	require.NoError(t, report.WriteCSV(&b, r))
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	require.NoError(t, err)
	arm, outcome := slices.Index(rows[0], "arm"), slices.Index(rows[0], "outcome")
	counts := map[string]int{}
	for _, row := range rows[1:] {
		counts[row[arm]+" "+row[outcome]]++
	}
	assert.Equal(t, map[string]int{"base correct": 3, "base wrong": 1, "base abstained": 3, "base error": 1,
		"fine-tuned abstained": 8, "rag error": 8}, counts)
	var png bytes.Buffer
	require.NoError(t, report.WriteChartPNG(&png, r), "an arm with no answer is drawn as n/a")
	assert.NotZero(t, png.Len())
}

// A result without an outcome (a report older than schema version 3, or
// one built by hand) is rendered with the outcome the root package counts
// it as: an error if it has one, else what its verdict says.
func TestResultsWithoutOutcome(t *testing.T) {
	r := &ragvsft.Report{Settings: ragvsft.ReportSettings{Arms: []ragvsft.Arm{ragvsft.ArmBase}}, Results: []ragvsft.Result{
		{Arm: ragvsft.ArmBase, QuestionID: "q1", Verdict: ragvsft.Verdict{Correct: true}},
		{Arm: ragvsft.ArmBase, QuestionID: "q2"},
		{Arm: ragvsft.ArmBase, QuestionID: "q3", Error: "503"},
		{Arm: ragvsft.ArmBase, QuestionID: "q4", Verdict: ragvsft.Verdict{Judge: &ragvsft.JudgeCall{Verdict: ragvsft.JudgeAbstained}}},
	}}
	var b strings.Builder
	require.NoError(t, report.WriteCSV(&b, r))
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	require.NoError(t, err)
	outcome := slices.Index(rows[0], "outcome")
	var got []string
	for _, row := range rows[1:] {
		got = append(got, row[outcome])
	}
	assert.Equal(t, []string{"correct", "wrong", "error", "abstained"}, got)
}

// The HTML report says what the Markdown report says beside its tables:
// the cost paragraph, the stand-in model, the judge.
func TestHTMLWritesTheNotes(t *testing.T) {
	r := pricedReport()
	r.Results[0].Batch = true
	r.Settings.ArticleModel = ragvsft.ArticleModel
	r.Judge = &ragvsft.JudgeSummary{Model: "gpt-4.1-2025-04-14", Judged: 4}
	r.ApplyPrices(nil)
	notes := r.Notes()
	require.Len(t, notes.Cost, 2, "the costs and the Batch API's line")
	require.NotEmpty(t, notes.StandIn)
	require.NotEmpty(t, notes.Judge)
	var b bytes.Buffer
	require.NoError(t, report.WriteHTML(&b, r))
	page := b.String()
	escape := strings.NewReplacer("+", "&#43;", "'", "&#39;")
	for _, line := range slices.Concat(notes.Cost, []string{notes.StandIn}, notes.Judge) {
		assert.Contains(t, page, escape.Replace(html.EscapeString(line)))
	}
}
