package report_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// htmlTestReport is four cities put to three arms, as in the article: the
// base arm always abstains, so the arms disagree, among those that
// answered, only on City_1 (fine-tuned wrong, rag right). City_4's rag call
// failed. It also returns the conversations each arm was sent.
func htmlTestReport(t testing.TB) (*ragvsft.Report, map[[2]string][]ragvsft.Message) {
	ids := []string{"City_1", "City_2", "City_3", "City_4"}
	rep, sent := scriptedRun(t, ids, []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmFineTuned, ragvsft.ArmRAG}, func(arm ragvsft.Arm, id string) string {
		right := id + " has about 100 inhabitants."
		switch {
		case arm == ragvsft.ArmBase, arm == ragvsft.ArmFineTuned && id == "City_3":
			return "I don't know."
		case arm == ragvsft.ArmFineTuned && id == "City_1":
			return "<b>City_1 has about 7</b>"
		case arm == ragvsft.ArmRAG && id == "City_4":
			return ""
		}
		return right
	})
	// Latencies fixed for the latency table and the sorting: 10, 20 and 30
	// ms by arm, City_3's rag call 900 ms.
	for i := range rep.Results {
		res := &rep.Results[i]
		res.Latency = time.Duration(10*(1+slices.Index(rep.Settings.Arms, res.Arm))) * time.Millisecond
		if res.Arm == ragvsft.ArmRAG && res.QuestionID == "City_3" {
			res.Latency = 900 * time.Millisecond
		}
	}
	return rep, sent
}

func TestWriteHTMLIsSelfContainedAndEscaped(t *testing.T) {
	rep, _ := htmlTestReport(t)
	var b bytes.Buffer
	require.NoError(t, report.WriteHTML(&b, rep))
	page := b.String()
	assert.NotContains(t, page, "<b>City_1", "answers are data, never markup")
	assert.Contains(t, page, `src="data:image/png;base64,`, "the chart is inline")
	assert.NotRegexp(t, regexp.MustCompile(`(src|href)="https?://`), page, "nothing is fetched from the network")
	assert.NotContains(t, page, "<script src")

	v := viewOf(t, page)
	require.Len(t, v.Items, 4)
	assert.Equal(t, "<b>City_1 has about 7</b>", v.Items[0].Cells[1].Answer, "the JSON holds the answer as it was")
	assert.Equal(t, &rep.Results[4].Verdict, v.Items[0].Cells[1].Verdict)
	assert.Equal(t, "7", v.Items[0].Cells[1].Verdict.Extracted)
	assert.Nil(t, v.Items[0].Cells[0].Verdict, "an abstention has no verdict")
	assert.Equal(t, []bool{false, false, true}, v.RAG)
	// Every city's passage, once however often retrieved.
	assert.Len(t, v.Docs, 4)
	assert.Contains(t, v.Items[3].Cells[2].Error, "503 Service Unavailable")
	assert.Equal(t, ragvsft.OutcomeError, v.Items[3].Cells[2].Outcome)
	assert.Contains(t, page, `<table id="latency">`)
	assert.Contains(t, page, "900.0 ms", "the slowest rag call")
}

func TestWriteHTMLShowsTheEpochSweep(t *testing.T) {
	r, _ := htmlTestReport(t)
	var b bytes.Buffer
	require.NoError(t, report.WriteHTML(&b, r))
	assert.NotContains(t, b.String(), `id="epochs"`, "no sweep, no section")

	r.Epochs = []ragvsft.EpochSummary{
		{Epochs: 1, Summary: ragvsft.ArmSummary{Arm: ragvsft.ArmFineTuned, Answered: 40, Correct: 4, Wrong: 30, Abstained: 6, Accuracy: 0.1, CILow: 0.04, CIHigh: 0.23, HallucinationRate: 30.0 / 34}},
		{Epochs: 30, Summary: ragvsft.ArmSummary{Arm: ragvsft.ArmFineTuned, Answered: 40, Correct: 38, Wrong: 2, Accuracy: 0.95, CILow: 0.83, CIHigh: 0.99, HallucinationRate: 0.05}},
	}
	b.Reset()
	require.NoError(t, report.WriteHTML(&b, r))
	page := b.String()
	i := strings.Index(page, `<table id="epochs">`)
	require.GreaterOrEqual(t, i, 0)
	sweep := page[i : i+strings.Index(page[i:], "</table>")]
	assert.Contains(t, sweep, `<td class="num">30</td><td class="num">38</td><td class="num">2</td>`)
	assert.Contains(t, sweep, "95.0%")
	assert.Contains(t, sweep, "88.2%", "the hallucination rate after 1 epoch")
}

// The latency table's percentiles are nearest rank: of 1 to 10 ms, p50 is
// 5 ms, p90 9 ms and p99 10 ms.
func TestLatencyPercentilesAreNearestRank(t *testing.T) {
	r := &ragvsft.Report{Settings: ragvsft.ReportSettings{Arms: []ragvsft.Arm{ragvsft.ArmBase, ragvsft.ArmRAG}}}
	for i := 1; i <= 10; i++ {
		r.Results = append(r.Results, ragvsft.Result{Arm: ragvsft.ArmBase, Latency: time.Duration(i) * time.Millisecond})
	}
	var b bytes.Buffer
	require.NoError(t, report.WriteHTML(&b, r))
	page := b.String()
	i := strings.Index(page, `<table id="latency">`)
	require.GreaterOrEqual(t, i, 0)
	table := page[i : i+strings.Index(page[i:], "</table>")]
	assert.Contains(t, table, `<tr><td>base</td><td class="num">10</td><td class="num">5.5 ms</td><td class="num">5.0 ms</td><td class="num">9.0 ms</td><td class="num">10.0 ms</td><td class="num">10.0 ms</td></tr>`)
	assert.NotContains(t, table, "<td>rag</td>", "an arm with no calls has no row")
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
	rep, _ := htmlTestReport(t)
	url := writePage(t, func(b *bytes.Buffer) error { return report.WriteHTML(b, rep) })
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
			case [3]uint32{70, 110, 180}: // the chart's bars
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
	rep, sent := htmlTestReport(t)
	url := writePage(t, func(b *bytes.Buffer) error { return report.WriteHTML(b, rep) })
	load := func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(url))
		shown(t, ctx, "4 of 4 questions shown")
	}
	outcome := func(o ragvsft.Outcome) chromedp.CSS {
		return chromedp.CSS(fmt.Sprintf(`input.outcome[data-outcome=%q]`, o))
	}
	count := func(t *testing.T, o ragvsft.Outcome) string {
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
		assert.Equal(t, "(5)", count(t, ragvsft.OutcomeCorrect))
		assert.Equal(t, "(1)", count(t, ragvsft.OutcomeWrong))
		assert.Equal(t, "(5)", count(t, ragvsft.OutcomeAbstained))
		assert.Equal(t, "(1)", count(t, ragvsft.OutcomeError))
		for _, o := range []ragvsft.Outcome{ragvsft.OutcomeCorrect, ragvsft.OutcomeWrong, ragvsft.OutcomeAbstained} {
			run(t, ctx, chromedp.Click(outcome(o)))
		}
		shown(t, ctx, "1 of 4 questions shown")
		assert.Equal(t, []string{"City_4"}, rowIDs(t, ctx), "only City_4 has an error")
		run(t, ctx, chromedp.Click(outcome(ragvsft.OutcomeError)))
		run(t, ctx, chromedp.Click(outcome(ragvsft.OutcomeWrong)))
		shown(t, ctx, "1 of 4 questions shown")
		assert.Equal(t, []string{"City_1"}, rowIDs(t, ctx))
		// The outcome filter applies to the arms shown: without
		// fine-tuned, nothing is wrong.
		run(t, ctx, chromedp.Click(chromedp.CSS(`input.arm[data-arm="1"]`)))
		shown(t, ctx, "0 of 4 questions shown")
		assert.Equal(t, "(0)", count(t, ragvsft.OutcomeWrong))
		assert.Equal(t, "(3)", count(t, ragvsft.OutcomeCorrect), "the rag arm's three right answers")
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
		assert.Contains(t, cell, `got "7", want "100" (number); got 7, want 100`)
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
			want := sent[[2]string{string(res.Arm), res.QuestionID}]
			require.NotEmpty(t, want, "arm %s was sent City_1", res.Arm)
			got := run(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`Array.from(document.querySelectorAll('.arm-detail[data-arm="%d"] pre.message')).map(function (p) { return p.textContent; })`, arm)))
			var contents []string
			for _, m := range want {
				contents = append(contents, m.Content)
			}
			assert.Equal(t, contents, got, "arm %s: the prompt shown is the prompt sent", res.Arm)
		}
		passages := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.arm-detail[data-arm="2"] table.passages tr')).slice(1).map(function (r) { return r.textContent; })`))
		assert.Equal(t, []string{"0 (gold)0.9100City_1City_1 has about 100 inhabitants.", "10.5200City_2City_2 has about 100 inhabitants."}, passages)
		verdict := run(t, ctx, chromedp.TextContent(chromedp.CSS(`.arm-detail[data-arm="1"] .verdict`)))
		assert.Contains(t, verdict, `verdict: wrong · type: number · extracted: "7" · expected: "100" · reason: got 7, want 100`)
		run(t, ctx, chromedp.Click(chromedp.CSS(`button.more[data-item="0"]`)))
		n := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('.arm-detail').length`))
		assert.Zero(t, n, "details close again")
	})
}

// bigReport is a report of n questions put to the fine-tuned and rag arms,
// every tenth question answered right by one arm and wrong by the other.
// Only its results are filled in: the viewer renders them.
func bigReport(n int) (rep *ragvsft.Report, disagree int) {
	rep = &ragvsft.Report{Complete: true, Settings: ragvsft.ReportSettings{Arms: []ragvsft.Arm{ragvsft.ArmFineTuned, ragvsft.ArmRAG},
		Questions: n, K: 1, Prompts: ragvsft.ArticlePrompts}}
	for _, arm := range rep.Settings.Arms {
		for i := range n {
			id := fmt.Sprintf("Entity_%05d", i)
			o := ragvsft.OutcomeCorrect
			if i%10 == 0 && arm == ragvsft.ArmFineTuned {
				o = ragvsft.OutcomeWrong
			}
			res := ragvsft.Result{Arm: arm, QuestionID: id, Question: "What is the area of " + id + "?", Gold: id + " covers 12 km2.",
				Answer: id + " covers 12 km2.", Outcome: o, GoldRank: -1, Latency: time.Duration(i%97) * time.Millisecond,
				Verdict: ragvsft.Verdict{Correct: o == ragvsft.OutcomeCorrect, Type: "quantity", Extracted: "12 km2", Expected: "12 km2"}}
			if arm == ragvsft.ArmRAG {
				res.Retrieved, res.GoldRank = []ragvsft.RetrievedDoc{{ID: id, Rank: 0, Score: 0.8, Text: id + " covers 12 km2."}}, 0
			}
			rep.Results = append(rep.Results, res)
		}
	}
	return rep, (n + 9) / 10
}

// A 40,000-question report opens and filters with one page of rows in the
// DOM, never 40,000.
func TestViewerOf40000Questions(t *testing.T) {
	ctx := browser(t)
	const n = 40000
	rep, disagree := bigReport(n)
	url := writePage(t, func(b *bytes.Buffer) error { return report.WriteHTML(b, rep) })
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
