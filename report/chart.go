package report

import (
	"errors"
	"fmt"
	"image/color"
	"io"

	"github.com/ragvsft/ragvsft"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The chart's size and resolution: 7.5 × 4.5 inches at 144 dots per inch
// (1080 × 648 pixels), sharp when the HTML report shows it 720 wide.
const (
	chartWidth  = 7.5 * vg.Inch
	chartHeight = 4.5 * vg.Inch
	chartDPI    = 144
)

// chartBarColor is the bars' fill; the HTML tests look for it.
var chartBarColor = color.RGBA{R: 70, G: 110, B: 180, A: 255}

// armErrors places each arm's Wilson interval on its bar.
type armErrors struct {
	plotter.XYs
	plotter.YErrors
}

// percentTicks marks 0% to 100% every 20%, with unlabelled minor ticks
// every 10%; nothing above 100%, where the bar labels go.
func percentTicks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for v := 0; v <= 100; v += 10 {
		t := plot.Tick{Value: float64(v)}
		if v%20 == 0 {
			t.Label = fmt.Sprintf("%d%%", v)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// chartBarLabel is what is written above an arm's bar: its accuracy and
// the counts it rests on, or "n/a" when it answered nothing.
func chartBarLabel(s ragvsft.ArmSummary) string {
	if !s.HasAccuracy() {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%\n%d/%d", 100*s.Accuracy, s.Correct, s.Answered)
}

// WriteChartPNG draws each of r's arms' accuracy as a bar on a percent axis with
// its 95% Wilson interval as an error bar and, above it, the accuracy and
// the correct and answered counts, as a PNG image. An arm that answered
// nothing has no bar and is labelled "n/a".
func WriteChartPNG(w io.Writer, r *ragvsft.Report) error {
	if len(r.Arms) == 0 {
		return errors.New("report: chart: the report has no arms")
	}
	p := plot.New()
	p.Title.Text = "Accuracy per arm, with 95% Wilson intervals"
	p.Title.Padding = vg.Points(10)
	p.Y.Label.Text = "accuracy (correct / answered)"
	sans(&p.Title.TextStyle, 15)
	sans(&p.Y.Label.TextStyle, 12)
	sans(&p.Y.Tick.Label, 11)
	sans(&p.X.Tick.Label, 12)
	p.Y.Tick.Marker = plot.TickerFunc(percentTicks)
	// Room above 100% for the labels of a full bar.
	p.Y.Min, p.Y.Max = 0, 118

	vals := make(plotter.Values, len(r.Arms))
	names := make([]string, len(r.Arms))
	var eb armErrors
	labels := plotter.XYLabels{XYs: make(plotter.XYs, len(r.Arms)), Labels: make([]string, len(r.Arms))}
	for i, s := range r.Arms {
		names[i] = string(s.Arm)
		labels.Labels[i] = chartBarLabel(s)
		labels.XYs[i] = plotter.XY{X: float64(i), Y: 0}
		if !s.HasAccuracy() {
			continue // no bar, no interval
		}
		vals[i] = 100 * s.Accuracy
		eb.XYs = append(eb.XYs, plotter.XY{X: float64(i), Y: 100 * s.Accuracy})
		eb.YErrors = append(eb.YErrors, struct{ Low, High float64 }{100 * (s.Accuracy - s.CILow), 100 * (s.CIHigh - s.Accuracy)})
		labels.XYs[i].Y = 100 * s.CIHigh
	}
	grid := plotter.NewGrid()
	grid.Vertical.Width = 0
	bars, err := plotter.NewBarChart(vals, vg.Points(56))
	if err != nil {
		return fmt.Errorf("report: chart: %w", err)
	}
	bars.Color = chartBarColor
	bars.LineStyle.Width = 0
	plotters := []plot.Plotter{grid, bars}
	if len(eb.XYs) > 0 {
		errBars, err := plotter.NewYErrorBars(eb)
		if err != nil {
			return fmt.Errorf("report: chart: %w", err)
		}
		errBars.LineStyle.Width = vg.Points(1.5)
		plotters = append(plotters, errBars)
	}
	barLabels, err := plotter.NewLabels(labels)
	if err != nil {
		return fmt.Errorf("report: chart: %w", err)
	}
	for i := range barLabels.TextStyle {
		sans(&barLabels.TextStyle[i], 11)
		barLabels.TextStyle[i].XAlign = text.XCenter
		barLabels.TextStyle[i].YAlign = text.YBottom
	}
	barLabels.Offset = vg.Point{Y: vg.Points(4)}
	p.Add(append(plotters, barLabels)...)
	p.NominalX(names...)

	img := vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight), vgimg.UseDPI(chartDPI))
	dc := draw.New(img)
	m := vg.Points(12)
	p.Draw(draw.Crop(dc, m, -m, m, -m))
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("report: writing chart: %w", err)
	}
	return nil
}

// sans sets a text style to Liberation Sans at size points: plainer than
// gonum's default serif at chart sizes.
func sans(s *text.Style, size float64) {
	s.Font.Variant = "Sans"
	s.Font.Size = vg.Points(size)
}
