package report

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/internal/reportfmt"
)

// The viewer's templates: report.html.tmpl is the report and the styles
// both pages share, compare.html.tmpl the comparison of two runs.
//
//go:embed report.html.tmpl compare.html.tmpl
var htmlFiles embed.FS

var htmlTmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"p":   reportfmt.P,
	// The rates of an arm, "n/a" when undefined.
	"accuracy": func(s ragvsft.ArmSummary) string { return reportfmt.Rate(s.Accuracy, s.HasAccuracy()) },
	"ci":       func(s ragvsft.ArmSummary) string { return reportfmt.Interval(s.CILow, s.CIHigh, s.HasAccuracy()) },
	"hallucination": func(s ragvsft.ArmSummary) string {
		return reportfmt.Rate(s.HallucinationRate, s.HasHallucinationRate())
	},
	"legend":   func() string { return reportfmt.OutcomesLegend },
	"splitarm": splitSummary,
	"group":    reportfmt.Group,
	"outcomes": func() []ragvsft.Outcome { return ragvsft.Outcomes },
	"ms":       func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) },
	"add":      func(a, b int) int { return a + b },
	"ratio": func(n, d int) string {
		if d == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d))
	},
}).ParseFS(htmlFiles, "report.html.tmpl", "compare.html.tmpl"))

// splitSummary is a split's arm as an ArmSummary, for the rates' helpers.
func splitSummary(a ragvsft.SplitArm) ragvsft.ArmSummary {
	return ragvsft.ArmSummary{Arm: a.Arm, Answered: a.Answered, Errors: a.Errors, Correct: a.Correct, Wrong: a.Wrong,
		Abstained: a.Abstained, Accuracy: a.Accuracy, CILow: a.CILow, CIHigh: a.CIHigh, HallucinationRate: a.HallucinationRate}
}

// outcome is what became of res: OutcomeError when it has an Error, else
// its Outcome, or, for a result without one (built by hand, or from a
// report older than schema version 3), the outcome its Verdict gives, as
// the root package counts it.
func outcome(res ragvsft.Result) ragvsft.Outcome {
	switch {
	case res.Error != "":
		return ragvsft.OutcomeError
	case res.Outcome != "":
		return res.Outcome
	case res.Verdict.Judge != nil && res.Verdict.Judge.Verdict == ragvsft.JudgeAbstained:
		return ragvsft.OutcomeAbstained
	case res.Verdict.Correct:
		return ragvsft.OutcomeCorrect
	}
	return ragvsft.OutcomeWrong
}

// retrieves reports whether arm's prompt quotes retrieved passages.
func retrieves(arm ragvsft.Arm) bool {
	return arm == ragvsft.ArmRAG || arm == ragvsft.ArmFineTunedRAG
}

// prompts are p with each empty template the article's, as an Experiment
// fills them (see ragvsft.Prompts).
func prompts(p ragvsft.Prompts) ragvsft.Prompts {
	a := ragvsft.ArticlePrompts
	return ragvsft.Prompts{System: cmp.Or(p.System, a.System), ClosedBook: cmp.Or(p.ClosedBook, a.ClosedBook),
		RAG: cmp.Or(p.RAG, a.RAG), Passage: cmp.Or(p.Passage, a.Passage)}
}

// viewData is what the viewer's script reads: every question with each
// arm's result, in a compact JSON form embedded in the page. The script
// renders a page of rows at a time from it, so a report of 40,000 items
// stays fast: the DOM never holds more than one page.
type viewData struct {
	Arms []ragvsft.Arm `json:"arms"`
	// RAG says, per arm, whether its prompt quotes retrieved passages.
	RAG     []bool          `json:"rag"`
	Prompts ragvsft.Prompts `json:"prompts"`
	Docs    []viewDoc       `json:"docs"`
	Items   []viewRow       `json:"items"`
	// Mixed is true when some wordings were seen in training and some
	// not: only then does a row say which.
	Mixed bool `json:"mixed"`
}

// viewDoc is a retrieved passage, once per document however often it was
// retrieved.
type viewDoc struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// viewRow is one question across the arms.
type viewRow struct {
	ID       string            `json:"id"`
	Question string            `json:"q"`
	Gold     string            `json:"gold"`
	Seen     bool              `json:"seen,omitempty"`
	Turns    []ragvsft.Message `json:"conv,omitempty"`
	// Cells are the arms' results in Arms' order; null for an arm that
	// did not get to the question (an incomplete run).
	Cells []*viewCell `json:"cells"`
}

// viewCell is one arm's result for a question.
type viewCell struct {
	Outcome   ragvsft.Outcome  `json:"o"`
	Answer    string           `json:"a,omitempty"`
	Verdict   *ragvsft.Verdict `json:"v,omitempty"`
	Retrieved []viewHit        `json:"r,omitempty"`
	GoldRank  int              `json:"g"`
	// LatencyMS is the call's latency in milliseconds.
	LatencyMS float64       `json:"ms"`
	Usage     ragvsft.Usage `json:"u"`
	Model     string        `json:"m,omitempty"`
	Cached    bool          `json:"cached,omitempty"`
	Truncated bool          `json:"trunc,omitempty"`
	CostUSD   float64       `json:"cost,omitempty"`
	Error     string        `json:"err,omitempty"`
}

// viewHit is a passage of a cell's prompt: an index into viewData.Docs.
type viewHit struct {
	Doc   int     `json:"d"`
	Rank  int     `json:"r"`
	Score float64 `json:"s"`
}

// latencyRow is one arm's latencies, for the report's latency table.
type latencyRow struct {
	Arm                      ragvsft.Arm
	N                        int
	Mean, P50, P90, P99, Max time.Duration
}

// newViewData builds the viewer's data from r's results.
func newViewData(r *ragvsft.Report) viewData {
	arms := r.Settings.Arms
	v := viewData{Arms: arms, RAG: make([]bool, len(arms)), Prompts: prompts(r.Settings.Prompts), Docs: []viewDoc{}, Items: []viewRow{}}
	idx := map[ragvsft.Arm]int{}
	for i, a := range arms {
		idx[a] = i
		v.RAG[i] = retrieves(a)
	}
	docIdx := map[viewDoc]int{}
	rowIdx := map[string]int{}
	var seen, held bool
	for _, res := range r.Results {
		i, ok := idx[res.Arm]
		if !ok {
			continue
		}
		ri, ok := rowIdx[res.QuestionID]
		if !ok {
			ri = len(v.Items)
			rowIdx[res.QuestionID] = ri
			v.Items = append(v.Items, viewRow{ID: res.QuestionID, Question: res.Question, Gold: res.Gold,
				Seen: res.SeenInTraining, Turns: res.Conversation, Cells: make([]*viewCell, len(arms))})
			seen, held = seen || res.SeenInTraining, held || !res.SeenInTraining
		}
		c := &viewCell{Outcome: outcome(res), Answer: res.Answer, GoldRank: res.GoldRank,
			LatencyMS: float64(res.Latency.Microseconds()) / 1000, Usage: res.Usage, Model: res.Model,
			Cached: res.Cached, Truncated: res.Truncated, CostUSD: res.CostUSD, Error: res.Error}
		if c.Outcome == ragvsft.OutcomeCorrect || c.Outcome == ragvsft.OutcomeWrong || res.Verdict.Judge != nil {
			verdict := res.Verdict
			c.Verdict = &verdict
		}
		for _, d := range res.Retrieved {
			key := viewDoc{ID: d.ID, Text: d.Text}
			di, ok := docIdx[key]
			if !ok {
				di = len(v.Docs)
				docIdx[key] = di
				v.Docs = append(v.Docs, key)
			}
			c.Retrieved = append(c.Retrieved, viewHit{Doc: di, Rank: d.Rank, Score: d.Score})
		}
		v.Items[ri].Cells[i] = c
	}
	v.Mixed = seen && held
	return v
}

// latencies summarizes each arm's call latencies.
func latencies(r *ragvsft.Report) []latencyRow {
	var rows []latencyRow
	for _, a := range r.Settings.Arms {
		var ds []time.Duration
		var sum time.Duration
		for _, res := range r.Results {
			if res.Arm == a {
				ds = append(ds, res.Latency)
				sum += res.Latency
			}
		}
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		// Nearest rank: the smallest latency at least q of the calls took
		// no longer than.
		at := func(q float64) time.Duration {
			i := int(math.Ceil(q*float64(len(ds)))) - 1
			return ds[min(max(i, 0), len(ds)-1)]
		}
		rows = append(rows, latencyRow{Arm: a, N: len(ds), Mean: sum / time.Duration(len(ds)),
			P50: at(0.5), P90: at(0.9), P99: at(0.99), Max: ds[len(ds)-1]})
	}
	return rows
}

// WriteHTML writes r as report.html: a self-contained page (styles, script,
// chart and data inline; it fetches nothing) with the summary, the chart,
// the statistics, the latencies, the epoch sweep when there is one, and a
// viewer of every question. The viewer searches the questions, gold
// answers and answers; filters by arm, by outcome and to the questions on
// which the arms that answered disagree; sorts; pages through the rows;
// and shows for each question the prompt every arm was sent, the
// retrieved passages with their ranks and scores, and each answer with
// its verdict (the answer type and the values compared).
func WriteHTML(w io.Writer, r *ragvsft.Report) error {
	var chart bytes.Buffer
	var chartURI template.URL
	if err := WriteChartPNG(&chart, r); err == nil {
		chartURI = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(chart.Bytes()))
	}
	notes := r.Notes()
	data := struct {
		R          *ragvsft.Report
		Chart      template.URL
		Arms       []ragvsft.Arm
		Cost       []string
		StandIn    string
		Judge      []string
		Wording    []string
		Paraphrase string
		Latencies  []latencyRow
		View       template.JS
	}{r, chartURI, r.Settings.Arms, notes.Cost, notes.StandIn, notes.Judge, notes.Wording, notes.Paraphrase, latencies(r), viewMarker}
	// The page is rendered around a marker where the data goes, and the
	// data is streamed in its place, item by item: a report of 100,000
	// questions is not held as one JSON string besides the page.
	var page bytes.Buffer
	if err := htmlTmpl.ExecuteTemplate(&page, "report.html.tmpl", data); err != nil {
		return fmt.Errorf("report: writing HTML: %w", err)
	}
	before, after, ok := bytes.Cut(page.Bytes(), []byte(viewMarker))
	if !ok {
		return errors.New("report: writing HTML: the template has no place for the data")
	}
	if _, err := w.Write(before); err != nil {
		return fmt.Errorf("report: writing HTML: %w", err)
	}
	if err := writeViewJSON(w, newViewData(r)); err != nil {
		return fmt.Errorf("report: writing HTML: %w", err)
	}
	if _, err := w.Write(after); err != nil {
		return fmt.Errorf("report: writing HTML: %w", err)
	}
	return nil
}

// viewMarker stands for the viewer's data in the rendered page.
const viewMarker template.JS = "RAGVSFT_VIEW_DATA"

// itemsKey is how json.Marshal writes viewData's nil Items: the pattern
// can occur only as that key, since inside a string a quote is escaped.
const itemsKey = `"items":null`

// writeViewJSON writes what json.Marshal(v) would, with the items encoded
// one at a time. encoding/json escapes <, > and & in strings, so the data
// cannot close its script element.
func writeViewJSON(w io.Writer, v viewData) error {
	items := v.Items
	v.Items = nil
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	before, after, ok := bytes.Cut(b, []byte(itemsKey))
	if !ok || items == nil {
		_, err := w.Write(b)
		return err
	}
	if _, err := w.Write(before); err != nil {
		return err
	}
	if _, err := io.WriteString(w, `"items":[`); err != nil {
		return err
	}
	for i := range items {
		ib, err := json.Marshal(&items[i])
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		if _, err := w.Write(ib); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "]"); err != nil {
		return err
	}
	_, err = w.Write(after)
	return err
}

// WriteComparisonHTML writes c as a self-contained HTML page (it
// fetches nothing): the two runs' settings and what differs between them,
// each arm's paired counts, accuracies and exact McNemar p-value, and every
// flipped question with both runs' answers and verdicts.
func WriteComparisonHTML(w io.Writer, c ragvsft.Comparison) error {
	type run struct {
		Name string
		R    *ragvsft.Report
	}
	a, b := c.A, c.B
	if a == nil {
		a = &ragvsft.Report{}
	}
	if b == nil {
		b = &ragvsft.Report{}
	}
	data := struct {
		C           ragvsft.Comparison
		Runs        []run
		Differences []string
	}{c, []run{{"A", a}, {"B", b}}, settingsDiff(a.Settings, b.Settings)}
	if err := htmlTmpl.ExecuteTemplate(w, "compare.html.tmpl", data); err != nil {
		return fmt.Errorf("report: writing comparison: %w", err)
	}
	return nil
}

// settingsDiff names the settings a and b differ in, with both values.
func settingsDiff(a, b ragvsft.ReportSettings) []string {
	var out []string
	diff := func(name string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			out = append(out, fmt.Sprintf("%s %v (A) vs %v (B)", name, x, y))
		}
	}
	diff("questions", a.Questions, b.Questions)
	diff("arms", a.Arms, b.Arms)
	diff("base model", a.BaseModel, b.BaseModel)
	diff("k", a.K, b.K)
	diff("seed", a.Seed, b.Seed)
	diff("temperature", a.Temperature, b.Temperature)
	diff("max tokens", a.MaxTokens, b.MaxTokens)
	diff("hyperparameters", fmt.Sprintf("%+v", a.Hyperparameters), fmt.Sprintf("%+v", b.Hyperparameters))
	pa, pb := prompts(a.Prompts), prompts(b.Prompts)
	for _, p := range []struct {
		name string
		x, y string
	}{{"system prompt", pa.System, pb.System}, {"closed-book prompt", pa.ClosedBook, pb.ClosedBook}, {"rag prompt", pa.RAG, pb.RAG}, {"passage template", pa.Passage, pb.Passage}} {
		if p.x != p.y {
			out = append(out, fmt.Sprintf("%s %q (A) vs %q (B)", p.name, p.x, p.y))
		}
	}
	return out
}
