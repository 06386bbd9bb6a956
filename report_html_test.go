package ragvsft

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func htmlTestReport() *Report {
	r := &Report{Complete: true, Settings: ReportSettings{Arms: []Arm{ArmFineTuned, ArmRAG}, Questions: 3, K: 2, Seed: 42}}
	add := func(arm Arm, q string, answer string, correct bool) {
		r.Results = append(r.Results, Result{Arm: arm, QuestionID: q, Question: "What is the population of " + q + "?",
			Gold: q + " has about 100 inhabitants.", Answer: answer, Verdict: Verdict{Correct: correct, Extracted: "100", Expected: "100"},
			GoldRank: -1})
	}
	add(ArmFineTuned, "City_1", "<b>I don't know</b>", false)
	add(ArmFineTuned, "City_2", "City_2 has about 100 inhabitants.", true)
	add(ArmFineTuned, "City_3", "City_3 has about 100 inhabitants.", true)
	add(ArmRAG, "City_1", "City_1 has about 100 inhabitants.", true)
	add(ArmRAG, "City_2", "City_2 has about 100 inhabitants.", true)
	add(ArmRAG, "City_3", "City_3 has about 100 inhabitants.", true)
	r.Results[3].Retrieved = []RetrievedDoc{{ID: "City_1", Rank: 0}, {ID: "City_9", Rank: 1}}
	r.Results[3].GoldRank = 0
	r.summarize()
	return r
}

func TestWriteHTMLIsSelfContainedAndEscaped(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, htmlTestReport().WriteHTML(&b))
	page := b.String()
	assert.Contains(t, page, "&lt;b&gt;I don&#39;t know&lt;/b&gt;", "answers are escaped, not rendered")
	assert.Contains(t, page, `src="data:image/png;base64,`, "the chart is inline")
	assert.NotRegexp(t, regexp.MustCompile(`(src|href)="https?://`), page, "nothing is fetched from the network")
	assert.Equal(t, 1, strings.Count(page, `class="item disagree"`), "only City_1 splits the arms")
	assert.Contains(t, page, "gold at rank 0")
}

// chromium finds Debian's headless browser. CI installs it (.ci/run), so
// there a missing browser fails the test instead of skipping it.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run should have installed it")
	}
	t.Skip("chromium not installed (apt-get install chromium)")
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

// The page opens in a real browser: its script runs (the filter counts the
// questions) and it renders the coloured verdict cells and the chart.
func TestReportHTMLInHeadlessChromium(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	require.NoError(t, htmlTestReport().WriteHTML(&b))
	require.NoError(t, os.WriteFile(page, b.Bytes(), 0o644))

	dom := string(runChromium(t, "--dump-dom", "file://"+page+"#disagree"))
	assert.Contains(t, dom, "1 of 3 questions shown", "the script ran and filtered to the disagreement")
	dom = string(runChromium(t, "--dump-dom", "file://"+page))
	assert.Contains(t, dom, "3 of 3 questions shown")

	shot := filepath.Join(dir, "shot.png")
	runChromium(t, "--screenshot="+shot, "--window-size=1200,1400", "--hide-scrollbars", "file://"+page)
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
			case [3]uint32{70, 110, 180}:
				bars++
			}
		}
	}
	assert.Greater(t, green, 1000, "correct answers are shown green")
	assert.Greater(t, red, 200, "the wrong answer is shown red")
	assert.Greater(t, bars, 1000, "the chart is rendered")
}
