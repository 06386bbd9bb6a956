package ragvsft

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// htmlTestReport is four cities put to three arms, as in the article: the
// base arm always abstains, so the arms disagree, among those that
// answered, only on City_1 (fine-tuned wrong, rag right). City_4's rag call
// failed.
func htmlTestReport() *Report {
	r := &Report{Complete: true, Settings: ReportSettings{Arms: []Arm{ArmBase, ArmFineTuned, ArmRAG}, Questions: 4, K: 2, Seed: 42,
		Prompts: ArticlePrompts}}
	add := func(arm Arm, q string, answer string, o Outcome, latency time.Duration) *Result {
		res := Result{Arm: arm, QuestionID: q, Question: "What is the population of " + q + "?",
			Gold: q + " has about 100 inhabitants.", Answer: answer, Outcome: o, GoldRank: -1, Latency: latency}
		if o == OutcomeCorrect || o == OutcomeWrong {
			res.Verdict = Verdict{Correct: o == OutcomeCorrect, Type: "number", Extracted: "100", Expected: "100"}
			if o == OutcomeWrong {
				res.Verdict.Extracted, res.Verdict.Reason = "7", "7 is not 100"
			}
		}
		if o == OutcomeError {
			res.Answer, res.Error = "", "chat: 503 Service Unavailable"
		}
		if arm == ArmRAG {
			res.Retrieved = []RetrievedDoc{{ID: q, Rank: 0, Score: 0.91, Text: q + " has about 100 inhabitants."},
				{ID: "City_9", Rank: 1, Score: 0.52, Text: "City_9 has about <9> inhabitants."}}
			res.GoldRank = 0
		}
		r.Results = append(r.Results, res)
		return &r.Results[len(r.Results)-1]
	}
	for i := 1; i <= 4; i++ {
		add(ArmBase, fmt.Sprintf("City_%d", i), "I don't know.", OutcomeAbstained, 10*time.Millisecond)
	}
	add(ArmFineTuned, "City_1", "<b>City_1 has about 7</b>", OutcomeWrong, 20*time.Millisecond)
	add(ArmFineTuned, "City_2", "City_2 has about 100 inhabitants.", OutcomeCorrect, 20*time.Millisecond)
	add(ArmFineTuned, "City_3", "I don't know.", OutcomeAbstained, 20*time.Millisecond)
	add(ArmFineTuned, "City_4", "City_4 has about 100 inhabitants.", OutcomeCorrect, 20*time.Millisecond)
	add(ArmRAG, "City_1", "City_1 has about 100 inhabitants.", OutcomeCorrect, 30*time.Millisecond)
	add(ArmRAG, "City_2", "City_2 has about 100 inhabitants.", OutcomeCorrect, 30*time.Millisecond)
	add(ArmRAG, "City_3", "City_3 has about 100 inhabitants.", OutcomeCorrect, 900*time.Millisecond)
	add(ArmRAG, "City_4", "", OutcomeError, 30*time.Millisecond)
	r.summarize()
	return r
}

// viewOf decodes the viewer's data from a written page.
func viewOf(t *testing.T, page string) viewData {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="view-data">(.*?)</script>`).FindStringSubmatch(page)
	require.NotNil(t, m, "the page embeds its data")
	var v viewData
	require.NoError(t, json.Unmarshal([]byte(m[1]), &v))
	return v
}

func TestWriteHTMLIsSelfContainedAndEscaped(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, htmlTestReport().WriteHTML(&b))
	page := b.String()
	assert.NotContains(t, page, "<b>City_1", "answers are data, never markup")
	assert.NotContains(t, page, "<9>")
	assert.Contains(t, page, `src="data:image/png;base64,`, "the chart is inline")
	assert.NotRegexp(t, regexp.MustCompile(`(src|href)="https?://`), page, "nothing is fetched from the network")
	assert.NotContains(t, page, "<script src")

	v := viewOf(t, page)
	require.Len(t, v.Items, 4)
	assert.Equal(t, "<b>City_1 has about 7</b>", v.Items[0].Cells[1].Answer, "the JSON holds the answer as it was")
	assert.Equal(t, &Verdict{Type: "number", Extracted: "7", Expected: "100", Reason: "7 is not 100"}, v.Items[0].Cells[1].Verdict)
	assert.Nil(t, v.Items[0].Cells[0].Verdict, "an abstention has no verdict")
	assert.Equal(t, []bool{false, false, true}, v.RAG)
	// Every city's own passage and City_9's, once each however often
	// retrieved.
	assert.Len(t, v.Docs, 5)
	assert.Equal(t, "chat: 503 Service Unavailable", v.Items[3].Cells[2].Error)
	assert.Contains(t, page, `<table id="latency">`)
	assert.Contains(t, page, "900.0 ms", "the slowest rag call")
}

func TestWriteHTMLShowsTheEpochSweep(t *testing.T) {
	r := htmlTestReport()
	var b bytes.Buffer
	require.NoError(t, r.WriteHTML(&b))
	assert.NotContains(t, b.String(), `id="epochs"`, "no sweep, no section")

	r.Epochs = []EpochSummary{
		{Epochs: 1, Summary: ArmSummary{Arm: ArmFineTuned, Answered: 40, Correct: 4, Wrong: 30, Abstained: 6, Accuracy: 0.1, CILow: 0.04, CIHigh: 0.23, HallucinationRate: 30.0 / 34}},
		{Epochs: 30, Summary: ArmSummary{Arm: ArmFineTuned, Answered: 40, Correct: 38, Wrong: 2, Accuracy: 0.95, CILow: 0.83, CIHigh: 0.99, HallucinationRate: 0.05}},
	}
	b.Reset()
	require.NoError(t, r.WriteHTML(&b))
	page := b.String()
	i := strings.Index(page, `<table id="epochs">`)
	require.GreaterOrEqual(t, i, 0)
	sweep := page[i : i+strings.Index(page[i:], "</table>")]
	assert.Contains(t, sweep, `<td class="num">30</td><td class="num">38</td><td class="num">2</td>`)
	assert.Contains(t, sweep, "95.0%")
	assert.Contains(t, sweep, "88.2%", "the hallucination rate after 1 epoch")
}

func TestLatencyPercentilesAreNearestRank(t *testing.T) {
	r := &Report{Settings: ReportSettings{Arms: []Arm{ArmBase, ArmRAG}}}
	for i := 1; i <= 10; i++ {
		r.Results = append(r.Results, Result{Arm: ArmBase, Latency: time.Duration(i) * time.Millisecond})
	}
	rows := r.latencies()
	require.Len(t, rows, 1, "an arm with no calls has no row")
	assert.Equal(t, latencyRow{Arm: ArmBase, N: 10, Mean: 5500 * time.Microsecond, P50: 5 * time.Millisecond,
		P90: 9 * time.Millisecond, P99: 10 * time.Millisecond, Max: 10 * time.Millisecond}, rows[0])
}

// recordingModel answers every question with the gold-less "I don't know."
// and keeps every conversation it was sent.
type recordingModel struct {
	mu   sync.Mutex
	sent [][]Message
}

func (m *recordingModel) Chat(_ context.Context, req ChatRequest) (ChatResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, slices.Clone(req.Messages))
	return ChatResponse{Content: "It is 1,000.", Model: "recorder"}, nil
}

// firstDocs is a Retriever that returns the first k documents indexed.
type firstDocs struct{ docs []Document }

func (r *firstDocs) Index(_ context.Context, docs []Document) error {
	r.docs = slices.Clone(docs)
	return nil
}

func (r *firstDocs) Retrieve(_ context.Context, _ string, k int) ([]Hit, error) {
	var hits []Hit
	for i, d := range r.docs[:min(k, len(r.docs))] {
		hits = append(hits, Hit{Document: d, Rank: i, Score: 1 - float64(i)/10})
	}
	return hits, nil
}

// sentPrompt rebuilds, from a report, the conversation an arm was sent for
// one result: what the viewer shows.
func sentPrompt(r *Report, res Result) []Message {
	q := Question{Text: res.Question, Messages: res.Conversation}
	if !res.Arm.retrieves() {
		return r.Settings.Prompts.closedBook(q)
	}
	var hits []Hit
	for _, d := range res.Retrieved {
		hits = append(hits, Hit{Document: Document{ID: d.ID, Text: d.Text}, Rank: d.Rank, Score: d.Score})
	}
	return r.Settings.Prompts.rag(q, hits)
}

// A report records enough to show the prompt every arm was sent: the
// conversation of a multi-turn question and the passages' text.
func TestReportRecordsThePromptSent(t *testing.T) {
	ds := fixedDataset{
		{ID: "a", Messages: []Message{{Role: RoleUser, Content: "Tell me about Anna Kovacs."}, {Role: RoleAssistant, Content: "Anna Kovacs is a cartographer."},
			{Role: RoleUser, Content: "How many maps did she draw?"}, {Role: RoleAssistant, Content: "She drew 412 maps."}}},
		{ID: "b", Messages: []Message{{Role: RoleUser, Content: "How long is the river Osk?"}, {Role: RoleAssistant, Content: "The Osk is 312 km long."}}},
	}
	model := &recordingModel{}
	exp := Experiment{Dataset: ds, Base: model, Retriever: &firstDocs{}, Arms: []Arm{ArmBase, ArmRAG}, K: 2,
		Prompts: Prompts{System: "Be exact.", Passage: "<{rank}> {document}\n"}}
	rep, err := exp.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Results, 4)
	var rebuilt [][]Message
	for _, res := range rep.Results {
		rebuilt = append(rebuilt, sentPrompt(rep, res))
		if res.Arm == ArmRAG {
			require.NotEmpty(t, res.Retrieved)
			assert.NotEmpty(t, res.Retrieved[0].Text, "the passage's text is recorded")
		}
	}
	assert.ElementsMatch(t, model.sent, rebuilt, "the prompts rebuilt from the report are the prompts sent")
	assert.Contains(t, fmt.Sprint(model.sent), "Tell me about Anna Kovacs.", "the conversation was sent and recorded")
}

// chromium finds Debian's headless browser. CI installs it (.ci/run), so
// there a missing browser fails the test instead of skipping it.
func chromium(t testing.TB) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run should have installed it")
	}
	t.Skip("chromium not installed (apt-get install chromium); the viewer's browser tests are skipped outside CI")
	return ""
}

func runChromium(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromium(t), append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	return out
}

// writePage writes r's HTML report into a temporary folder and returns its
// file URL.
func writePage(t testing.TB, write func(*bytes.Buffer) error) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, write(&b))
	page := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, os.WriteFile(page, b.Bytes(), 0o600))
	return "file://" + page
}

// The page opens in a real browser: its script runs (the filter counts the
// questions) and it renders the coloured verdict cells and the chart.
func TestReportHTMLInHeadlessChromium(t *testing.T) {
	url := writePage(t, func(b *bytes.Buffer) error { return htmlTestReport().WriteHTML(b) })
	dom := string(runChromium(t, "--dump-dom", url+"#disagree"))
	assert.Contains(t, dom, "1 of 4 questions shown", "the script ran and filtered to the disagreement")
	dom = string(runChromium(t, "--dump-dom", url))
	assert.Contains(t, dom, "4 of 4 questions shown")

	shot := filepath.Join(t.TempDir(), "shot.png")
	runChromium(t, "--screenshot="+shot, "--window-size=1200,2400", "--hide-scrollbars", url)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 1200, img.Bounds().Dx())

	// Count pixels of the verdict colours (green #e6f4ea, red #fce8e6) and
	// the chart's bars: a blank or unstyled page has none.
	var green, red, bars int
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			switch [3]uint32{r >> 8, g >> 8, b >> 8} {
			case [3]uint32{0xe6, 0xf4, 0xea}:
				green++
			case [3]uint32{0xfc, 0xe8, 0xe6}:
				red++
			case [3]uint32{uint32(chartBarColor.R), uint32(chartBarColor.G), uint32(chartBarColor.B)}:
				bars++
			}
		}
	}
	assert.Greater(t, green, 1000, "correct answers are shown green")
	assert.Greater(t, red, 200, "the wrong answer is shown red")
	assert.Greater(t, bars, 1000, "the chart is rendered")
}

// browser starts one headless Chromium for a test, driven over the
// DevTools protocol; every call on the returned context shares its tab.
func browser(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// The first Run starts the browser, which lives as long as ctx.
	require.NoError(t, chromedp.Do(ctx))
	return ctx
}

// within bounds one step of a browser test: a loaded machine is slow, a
// broken page never answers.
func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

func run[T any](t testing.TB, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := within(ctx, 2*time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

// shown waits for the count of questions shown to read want.
func shown(t testing.TB, ctx context.Context, want string) {
	t.Helper()
	ctx, cancel := within(ctx, 2*time.Minute)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.getElementById('shown').textContent === %q`, want),
		chromedp.WithPollingTimeout(time.Minute)))
	if err != nil {
		got, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("shown")))
		t.Fatalf("shown: want %q, got %q (%v)", want, got, err)
	}
}

// rowIDs are the question ids of the rows on the page, in order.
func rowIDs(t testing.TB, ctx context.Context) []string {
	t.Helper()
	ids := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#items-body tr.item')).map(function (r) {
		return r.querySelector('td .muted').firstChild.textContent; })`))
	if ids == nil {
		return []string{}
	}
	return ids
}

// search empties the search box and types text into it.
func search(t testing.TB, ctx context.Context, text string) {
	t.Helper()
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('search').value = ''`))
	run(t, ctx, chromedp.SendKeys(chromedp.ID("search"), text))
}

// choose picks value in the select element id, as a user would.
func choose(t testing.TB, ctx context.Context, id, value string) {
	t.Helper()
	run(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(function () { var s = document.getElementById(%q); s.value = %q;
		s.dispatchEvent(new Event('change')); })()`, id, value)))
}

// The viewer's filters, search, sorting and details, clicked in a real
// browser.
func TestViewerInChromium(t *testing.T) {
	ctx := browser(t)
	rep := htmlTestReport()
	url := writePage(t, func(b *bytes.Buffer) error { return rep.WriteHTML(b) })
	load := func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(url))
		shown(t, ctx, "4 of 4 questions shown")
	}
	outcome := func(o Outcome) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`input.outcome[data-outcome=%q]`, o)) }
	count := func(t *testing.T, o Outcome) string {
		return run(t, ctx, chromedp.TextContent(chromedp.CSS(fmt.Sprintf(`[data-count=%q]`, o))))
	}

	t.Run("disagreement counts only the arms that answered", func(t *testing.T) {
		load(t)
		run(t, ctx, chromedp.Click(chromedp.ID("only-disagree")))
		shown(t, ctx, "1 of 4 questions shown")
		assert.Equal(t, []string{"City_1"}, rowIDs(t, ctx), "base always abstains; only City_1 has a right and a wrong answer")
		// Without rag, fine-tuned and base never disagree: base answers nothing.
		run(t, ctx, chromedp.Click(chromedp.CSS(`input.arm[data-arm="2"]`)))
		shown(t, ctx, "0 of 4 questions shown")
		run(t, ctx, chromedp.Click(chromedp.ID("only-disagree")))
		shown(t, ctx, "4 of 4 questions shown")
		heads := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#items-head th')).map(function (h) { return h.textContent; })`))
		assert.Equal(t, []string{"question", "gold", "base", "fine-tuned"}, heads, "the rag column is hidden")
	})

	t.Run("outcome filters change the counts", func(t *testing.T) {
		load(t)
		assert.Equal(t, "(5)", count(t, OutcomeCorrect))
		assert.Equal(t, "(1)", count(t, OutcomeWrong))
		assert.Equal(t, "(5)", count(t, OutcomeAbstained))
		assert.Equal(t, "(1)", count(t, OutcomeError))
		for _, o := range []Outcome{OutcomeCorrect, OutcomeWrong, OutcomeAbstained} {
			run(t, ctx, chromedp.Click(outcome(o)))
		}
		shown(t, ctx, "1 of 4 questions shown")
		assert.Equal(t, []string{"City_4"}, rowIDs(t, ctx), "only City_4 has an error")
		run(t, ctx, chromedp.Click(outcome(OutcomeError)))
		run(t, ctx, chromedp.Click(outcome(OutcomeWrong)))
		shown(t, ctx, "1 of 4 questions shown")
		assert.Equal(t, []string{"City_1"}, rowIDs(t, ctx))
		// The outcome filter applies to the arms shown: without
		// fine-tuned, nothing is wrong.
		run(t, ctx, chromedp.Click(chromedp.CSS(`input.arm[data-arm="1"]`)))
		shown(t, ctx, "0 of 4 questions shown")
		assert.Equal(t, "(0)", count(t, OutcomeWrong))
		assert.Equal(t, "(3)", count(t, OutcomeCorrect), "the rag arm's three right answers")
	})

	t.Run("search finds a question", func(t *testing.T) {
		load(t)
		run(t, ctx, chromedp.SendKeys(chromedp.ID("search"), "population of city_3"))
		shown(t, ctx, "1 of 4 questions shown")
		assert.Equal(t, []string{"City_3"}, rowIDs(t, ctx))
		// Answers are searched too, as written: the markup is text.
		search(t, ctx, "<b>city_1")
		shown(t, ctx, "1 of 4 questions shown")
		cell := run(t, ctx, chromedp.TextContent(chromedp.CSS(`#items-body td.bad`)))
		assert.Contains(t, cell, "<b>City_1 has about 7</b>", "the answer is shown as text, not rendered")
		assert.Contains(t, cell, `got "7", want "100" (number); 7 is not 100`)
		run(t, ctx, chromedp.SendKeys(chromedp.ID("search"), " nothing like this"))
		shown(t, ctx, "0 of 4 questions shown")
	})

	t.Run("sorting", func(t *testing.T) {
		load(t)
		choose(t, ctx, "sort", "slowest")
		shown(t, ctx, "4 of 4 questions shown")
		assert.Equal(t, "City_3", rowIDs(t, ctx)[0], "its rag call took 900 ms")
		choose(t, ctx, "sort", "fastest")
		assert.Equal(t, "City_3", rowIDs(t, ctx)[3])
		choose(t, ctx, "sort", "order")
		assert.Equal(t, []string{"City_1", "City_2", "City_3", "City_4"}, rowIDs(t, ctx))
	})

	t.Run("details show the prompt sent, the passages and the verdicts", func(t *testing.T) {
		load(t)
		run(t, ctx, chromedp.Click(chromedp.CSS(`button.more[data-item="0"]`)))
		_, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS(`.arm-detail[data-arm="2"]`)))
		require.NoError(t, err)
		for arm := range rep.Settings.Arms {
			res := rep.Results[4*arm] // City_1 of each arm
			want := sentPrompt(rep, res)
			got := run(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`Array.from(document.querySelectorAll('.arm-detail[data-arm="%d"] pre.message')).map(function (p) { return p.textContent; })`, arm)))
			var contents []string
			for _, m := range want {
				contents = append(contents, m.Content)
			}
			assert.Equal(t, contents, got, "arm %s: the prompt shown is the prompt sent", res.Arm)
		}
		passages := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.arm-detail[data-arm="2"] table.passages tr')).slice(1).map(function (r) { return r.textContent; })`))
		assert.Equal(t, []string{"0 (gold)0.9100City_1City_1 has about 100 inhabitants.", "10.5200City_9City_9 has about <9> inhabitants."}, passages)
		verdict := run(t, ctx, chromedp.TextContent(chromedp.CSS(`.arm-detail[data-arm="1"] .verdict`)))
		assert.Contains(t, verdict, `verdict: wrong · type: number · extracted: "7" · expected: "100" · reason: 7 is not 100`)
		run(t, ctx, chromedp.Click(chromedp.CSS(`button.more[data-item="0"]`)))
		n := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('.arm-detail').length`))
		assert.Zero(t, n, "details close again")
	})
}

// bigReport is a report of n questions put to the fine-tuned and rag arms,
// every tenth question answered right by one arm and wrong by the other.
func bigReport(n int) (rep *Report, disagree int) {
	rep = &Report{Complete: true, Settings: ReportSettings{Arms: []Arm{ArmFineTuned, ArmRAG}, Questions: n, K: 1, Prompts: ArticlePrompts}}
	for _, arm := range rep.Settings.Arms {
		for i := range n {
			id := fmt.Sprintf("Entity_%05d", i)
			o := OutcomeCorrect
			if i%10 == 0 && arm == ArmFineTuned {
				o = OutcomeWrong
			}
			res := Result{Arm: arm, QuestionID: id, Question: "What is the area of " + id + "?", Gold: id + " covers 12 km2.",
				Answer: id + " covers 12 km2.", Outcome: o, GoldRank: -1, Latency: time.Duration(i%97) * time.Millisecond,
				Verdict: Verdict{Correct: o == OutcomeCorrect, Type: "quantity", Extracted: "12 km2", Expected: "12 km2"}}
			if arm == ArmRAG {
				res.Retrieved, res.GoldRank = []RetrievedDoc{{ID: id, Rank: 0, Score: 0.8, Text: id + " covers 12 km2."}}, 0
			}
			rep.Results = append(rep.Results, res)
		}
	}
	rep.summarize()
	return rep, (n + 9) / 10
}

// A 40,000-question report opens and filters with one page of rows in the
// DOM, never 40,000.
func TestViewerOf40000Questions(t *testing.T) {
	ctx := browser(t)
	const n = 40000
	rep, disagree := bigReport(n)
	url := writePage(t, func(b *bytes.Buffer) error { return rep.WriteHTML(b) })
	if fi, err := os.Stat(strings.TrimPrefix(url, "file://")); err == nil {
		t.Logf("report.html of %d questions, %d results: %.1f MB", n, len(rep.Results), float64(fi.Size())/1e6)
	}
	rows := func() int {
		return run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#items-body tr').length`))
	}
	renderMS := func() string {
		return run(t, ctx, chromedp.Evaluate[string](`document.body.getAttribute('data-render-ms')`))
	}

	run(t, ctx, chromedp.Navigate(url))
	shown(t, ctx, fmt.Sprintf("%d of %d questions shown", n, n))
	assert.Equal(t, 50, rows(), "one page of rows")
	t.Logf("first render of %d questions: %s ms", n, renderMS())

	run(t, ctx, chromedp.Click(chromedp.ID("only-disagree")))
	shown(t, ctx, fmt.Sprintf("%d of %d questions shown", disagree, n))
	assert.Equal(t, 50, rows())
	t.Logf("disagreement filter: %s ms", renderMS())

	run(t, ctx, chromedp.SendKeys(chromedp.ID("search"), "entity_3999"))
	shown(t, ctx, fmt.Sprintf("1 of %d questions shown", n))
	assert.Equal(t, []string{"Entity_39990"}, rowIDs(t, ctx))
	t.Logf("search: %s ms", renderMS())

	run(t, ctx, chromedp.Click(chromedp.ID("only-disagree")))
	shown(t, ctx, fmt.Sprintf("10 of %d questions shown", n))
	choose(t, ctx, "page-size", "250")
	choose(t, ctx, "sort", "slowest")
	assert.Equal(t, 10, rows())
	search(t, ctx, " ")
	shown(t, ctx, fmt.Sprintf("%d of %d questions shown", n, n))
	assert.Equal(t, 250, rows(), "one page of the size chosen")
	page := run(t, ctx, chromedp.TextContent(chromedp.ID("page")))
	assert.Equal(t, fmt.Sprintf("page 1 of %d", n/250), page)
	run(t, ctx, chromedp.Click(chromedp.ID("next")))
	page = run(t, ctx, chromedp.TextContent(chromedp.ID("page")))
	assert.Equal(t, fmt.Sprintf("page 2 of %d", n/250), page)
	t.Logf("sorted by latency, page 2: %s ms", renderMS())
}
