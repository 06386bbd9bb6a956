package ragvsft

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
)

//go:embed report.html.tmpl
var reportHTML string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"p":   formatP,
	// The rates of an arm, "n/a" when undefined.
	"accuracy":      ArmSummary.accuracyText,
	"ci":            ArmSummary.ciText,
	"hallucination": ArmSummary.hallucinationText,
	"legend":        func() string { return outcomesLegend },
	"splitarm":      SplitArm.summary,
	"group":         groupTitle,
}).Parse(reportHTML))

// htmlRow is one question across the arms.
type htmlRow struct {
	ID, Question, Gold string
	Cells              []htmlCell
	// Disagree is true when the arms that answered do not all agree.
	Disagree bool
}

type htmlCell struct {
	Ran    bool
	Result Result
}

// Outcome is the cell's outcome, derived for a result recorded without one.
func (c htmlCell) Outcome() Outcome { return c.Result.outcome() }

// WriteHTML writes a self-contained HTML page: the summary table, the chart,
// the statistics and a side-by-side table of every question with each arm's
// answer, verdict and retrieved documents, filterable to the questions on
// which the arms disagree. It needs no network: styles, script and chart are
// inline.
func (r *Report) WriteHTML(w io.Writer) error {
	var chart bytes.Buffer
	var chartURI template.URL
	if err := r.WriteChartPNG(&chart); err == nil {
		chartURI = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(chart.Bytes()))
	}
	arms := r.Settings.Arms
	idx := map[Arm]int{}
	for i, a := range arms {
		idx[a] = i
	}
	var rows []*htmlRow
	byID := map[string]*htmlRow{}
	for _, res := range r.Results {
		row := byID[res.QuestionID]
		if row == nil {
			row = &htmlRow{ID: res.QuestionID, Question: res.Question, Gold: res.Gold, Cells: make([]htmlCell, len(arms))}
			byID[res.QuestionID] = row
			rows = append(rows, row)
		}
		if i, ok := idx[res.Arm]; ok {
			row.Cells[i] = htmlCell{Ran: true, Result: res}
		}
	}
	for _, row := range rows {
		var seen, correct int
		for _, c := range row.Cells {
			if o := c.Result.outcome(); c.Ran && o != OutcomeError {
				seen++
				if o == OutcomeCorrect {
					correct++
				}
			}
		}
		row.Disagree = correct > 0 && correct < seen
	}
	var b strings.Builder
	if err := r.WriteMarkdown(&b); err != nil {
		return err
	}
	var cost []string
	if c := r.costLines(); c != "" {
		cost = strings.Split(c, "\n")
	}
	data := struct {
		R        *Report
		Chart    template.URL
		Rows     []*htmlRow
		Arms     []Arm
		Markdown string
		Cost     []string
		StandIn  string
		Judge    []string
	}{r, chartURI, rows, arms, b.String(), cost, r.standIn(), r.judgeLines()}
	if err := reportTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("ragvsft: writing HTML report: %w", err)
	}
	return nil
}
