package report_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteChartPNG(t *testing.T) {
	r := &ragvsft.Report{Arms: []ragvsft.ArmSummary{
		{Arm: ragvsft.ArmBase, Answered: 100, CILow: 0, CIHigh: 0.037},
		{Arm: ragvsft.ArmFineTuned, Answered: 100, Correct: 4, Accuracy: 0.04, CILow: 0.016, CIHigh: 0.098},
		{Arm: ragvsft.ArmRAG, Answered: 100, Correct: 100, Accuracy: 1, CILow: 0.963, CIHigh: 1},
	}}
	var b bytes.Buffer
	require.NoError(t, report.WriteChartPNG(&b, r))
	img, err := png.Decode(&b)
	require.NoError(t, err)
	assert.Equal(t, 1080, img.Bounds().Dx(), "7.5 inches at 144 dpi")
	assert.Equal(t, 648, img.Bounds().Dy())

	// The rag bar is drawn: somewhere in the image is the bar colour.
	found := false
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y && !found; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			if r, g, b, _ := img.At(x, y).RGBA(); r>>8 == 70 && g>>8 == 110 && b>>8 == 180 {
				found = true
				break
			}
		}
	}
	assert.True(t, found, "bars are drawn")

	assert.Error(t, report.WriteChartPNG(&b, &ragvsft.Report{}), "a report with no arms has no chart")
}
