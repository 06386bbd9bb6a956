package report_test

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runOf is a report whose rag arm answered each question with the outcome
// given.
func runOf(k int, outcomes ...ragvsft.Outcome) *ragvsft.Report {
	r := &ragvsft.Report{Settings: ragvsft.ReportSettings{K: k, Arms: []ragvsft.Arm{ragvsft.ArmRAG}, Questions: len(outcomes)}}
	for i, o := range outcomes {
		id := fmt.Sprintf("q%d", i+1)
		r.Results = append(r.Results, ragvsft.Result{Arm: ragvsft.ArmRAG, QuestionID: id, Question: "How tall is " + id + "?",
			Gold: "12 m", Answer: string(o) + " <answer>", Outcome: o})
	}
	return r
}

func TestComparisonOfNothing(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, report.WriteComparisonHTML(&b, ragvsft.Compare(nil, nil)))
	assert.Contains(t, b.String(), "no arm in common")
}

func TestWriteComparisonHTML(t *testing.T) {
	a := runOf(3, ragvsft.OutcomeCorrect, ragvsft.OutcomeCorrect, ragvsft.OutcomeWrong)
	b := runOf(5, ragvsft.OutcomeCorrect, ragvsft.OutcomeWrong, ragvsft.OutcomeCorrect)
	b.Settings.Prompts.System = "Be brief."
	var out bytes.Buffer
	require.NoError(t, report.WriteComparisonHTML(&out, ragvsft.Compare(a, b)))
	page := out.String()
	assert.Contains(t, page, `<td class="num only-a">1</td><td class="num only-b">1</td>`)
	assert.Contains(t, page, "<td>rag</td><td class=\"num\">3</td><td class=\"num\">66.7%</td><td class=\"num\">66.7%</td>")
	assert.Contains(t, page, "rag: 2 questions flipped")
	assert.Contains(t, page, "k 3 (A) vs 5 (B)")
	assert.Contains(t, page, `system prompt &#34;You are a helpful assistant.&#34; (A) vs &#34;Be brief.&#34; (B)`,
		"an empty prompt is the article's")
	assert.NotContains(t, page, "closed-book prompt", "the prompts not set are the same")
	assert.Contains(t, page, "correct &lt;answer&gt;", "answers are escaped")
	assert.NotContains(t, page, "<answer>")
	assert.NotRegexp(t, regexp.MustCompile(`(src|href)="https?://`), page, "nothing is fetched from the network")
}
