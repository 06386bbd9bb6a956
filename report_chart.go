package ragvsft

import (
	"errors"
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// armErrors places each arm's Wilson interval on its bar.
type armErrors struct {
	plotter.XYs
	plotter.YErrors
}

// WriteChartPNG draws each arm's accuracy as a bar with its 95% Wilson
// interval as an error bar, as a PNG image. An arm that answered nothing is
// labelled "n/a" and has no bar.
func (r *Report) WriteChartPNG(w io.Writer) error {
	if len(r.Arms) == 0 {
		return errors.New("ragvsft: chart: the report has no arms")
	}
	p := plot.New()
	p.Title.Text = "Accuracy per arm (95% Wilson interval)"
	p.Y.Label.Text = "accuracy"
	p.Y.Min, p.Y.Max = 0, 1.05

	vals := make(plotter.Values, len(r.Arms))
	names := make([]string, len(r.Arms))
	eb := armErrors{XYs: make(plotter.XYs, len(r.Arms)), YErrors: make(plotter.YErrors, len(r.Arms))}
	for i, s := range r.Arms {
		vals[i] = s.Accuracy
		names[i] = fmt.Sprintf("%s\n%d/%d", s.Arm, s.Correct, s.Answered)
		eb.XYs[i] = plotter.XY{X: float64(i), Y: s.Accuracy}
		if !s.HasAccuracy() {
			names[i] = fmt.Sprintf("%s\nn/a", s.Arm) // no bar, no interval
			continue
		}
		eb.YErrors[i].Low, eb.YErrors[i].High = s.Accuracy-s.CILow, s.CIHigh-s.Accuracy
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(50))
	if err != nil {
		return fmt.Errorf("ragvsft: chart: %w", err)
	}
	bars.Color = color.RGBA{R: 70, G: 110, B: 180, A: 255}
	bars.LineStyle.Width = 0
	errBars, err := plotter.NewYErrorBars(eb)
	if err != nil {
		return fmt.Errorf("ragvsft: chart: %w", err)
	}
	errBars.LineStyle.Width = vg.Points(1.5)
	p.Add(bars, errBars, plotter.NewGrid())
	p.NominalX(names...)

	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("ragvsft: chart: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("ragvsft: writing chart: %w", err)
	}
	return nil
}
