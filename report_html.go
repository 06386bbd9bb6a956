package ragvsft

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// The viewer's templates: report.html.tmpl is the report and the styles
// both pages share, compare.html.tmpl the comparison of two runs.
//
//go:embed report.html.tmpl compare.html.tmpl
var htmlFiles embed.FS

var htmlTmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"p":   formatP,
	// The rates of an arm, "n/a" when undefined.
	"accuracy":      ArmSummary.accuracyText,
	"ci":            ArmSummary.ciText,
	"hallucination": ArmSummary.hallucinationText,
	"legend":        func() string { return outcomesLegend },
	"splitarm":      SplitArm.summary,
	"group":         groupTitle,
	"outcomes":      func() []Outcome { return Outcomes },
	"ms":            func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) },
	"add":           func(a, b int) int { return a + b },
	"ratio": func(n, d int) string {
		if d == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d))
	},
}).ParseFS(htmlFiles, "report.html.tmpl", "compare.html.tmpl"))

// viewData is what the viewer's script reads: every question with each
// arm's result, in a compact JSON form embedded in the page. The script
// renders a page of rows at a time from it, so a report of 40,000 items
// stays fast: the DOM never holds more than one page.
type viewData struct {
	Arms []Arm `json:"arms"`
	// RAG says, per arm, whether its prompt quotes retrieved passages.
	RAG     []bool    `json:"rag"`
	Prompts Prompts   `json:"prompts"`
	Docs    []viewDoc `json:"docs"`
	Items   []viewRow `json:"items"`
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
	ID       string    `json:"id"`
	Question string    `json:"q"`
	Gold     string    `json:"gold"`
	Seen     bool      `json:"seen,omitempty"`
	Turns    []Message `json:"conv,omitempty"`
	// Cells are the arms' results in Arms' order; null for an arm that
	// did not get to the question (an incomplete run).
	Cells []*viewCell `json:"cells"`
}

// viewCell is one arm's result for a question.
type viewCell struct {
	Outcome   Outcome   `json:"o"`
	Answer    string    `json:"a,omitempty"`
	Verdict   *Verdict  `json:"v,omitempty"`
	Retrieved []viewHit `json:"r,omitempty"`
	GoldRank  int       `json:"g"`
	// LatencyMS is the call's latency in milliseconds.
	LatencyMS float64 `json:"ms"`
	Usage     Usage   `json:"u"`
	Model     string  `json:"m,omitempty"`
	Cached    bool    `json:"cached,omitempty"`
	Truncated bool    `json:"trunc,omitempty"`
	CostUSD   float64 `json:"cost,omitempty"`
	Error     string  `json:"err,omitempty"`
}

// viewHit is a passage of a cell's prompt: an index into viewData.Docs.
type viewHit struct {
	Doc   int     `json:"d"`
	Rank  int     `json:"r"`
	Score float64 `json:"s"`
}

// latencyRow is one arm's latencies, for the report's latency table.
type latencyRow struct {
	Arm                      Arm
	N                        int
	Mean, P50, P90, P99, Max time.Duration
}

// viewData builds the viewer's data from the results.
func (r *Report) viewData() viewData {
	arms := r.Settings.Arms
	v := viewData{Arms: arms, RAG: make([]bool, len(arms)), Prompts: r.Settings.Prompts.withDefaults(), Docs: []viewDoc{}, Items: []viewRow{}}
	idx := map[Arm]int{}
	for i, a := range arms {
		idx[a] = i
		v.RAG[i] = a.retrieves()
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
		c := &viewCell{Outcome: res.outcome(), Answer: res.Answer, GoldRank: res.GoldRank,
			LatencyMS: float64(res.Latency.Microseconds()) / 1000, Usage: res.Usage, Model: res.Model,
			Cached: res.Cached, Truncated: res.Truncated, CostUSD: res.CostUSD, Error: res.Error}
		if c.Outcome == OutcomeCorrect || c.Outcome == OutcomeWrong || res.Verdict.Judge != nil {
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
func (r *Report) latencies() []latencyRow {
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

// WriteHTML writes report.html: a self-contained page (styles, script,
// chart and data inline; it fetches nothing) with the summary, the chart,
// the statistics, the latencies, the epoch sweep when there is one, and a
// viewer of every question. The viewer searches the questions, gold
// answers and answers; filters by arm, by outcome and to the questions on
// which the arms that answered disagree; sorts; pages through the rows;
// and shows for each question the prompt every arm was sent, the
// retrieved passages with their ranks and scores, and each answer with
// its verdict (the answer type and the values compared).
func (r *Report) WriteHTML(w io.Writer) error {
	var chart bytes.Buffer
	var chartURI template.URL
	if err := r.WriteChartPNG(&chart); err == nil {
		chartURI = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(chart.Bytes()))
	}
	// encoding/json escapes <, > and & in strings, so the data cannot
	// close its script element.
	view, err := json.Marshal(r.viewData())
	if err != nil {
		return fmt.Errorf("ragvsft: writing HTML report: %w", err)
	}
	var cost []string
	if c := r.costLines(); c != "" {
		cost = strings.Split(c, "\n")
	}
	var wording []string
	if wl := r.wordingLines(); wl != "" {
		wording = strings.Split(wl, "\n")
	}
	data := struct {
		R          *Report
		Chart      template.URL
		Arms       []Arm
		Cost       []string
		StandIn    string
		Judge      []string
		Wording    []string
		Paraphrase string
		Latencies  []latencyRow
		View       template.JS
	}{r, chartURI, r.Settings.Arms, cost, r.standIn(), r.judgeLines(), wording, r.paraphraseLine(), r.latencies(), template.JS(view)}
	if err := htmlTmpl.ExecuteTemplate(w, "report.html.tmpl", data); err != nil {
		return fmt.Errorf("ragvsft: writing HTML report: %w", err)
	}
	return nil
}
