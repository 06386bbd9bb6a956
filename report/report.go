// Package report renders a ragvsft.Report for people: the HTML viewer
// (report.html, one self-contained file), the accuracy chart (a PNG), the
// results as CSV, the comparison of two runs as HTML, and WriteFiles,
// which writes all of a run folder's reports at once.
//
// It is a package of its own so that a program importing ragvsft does not
// pull in what drawing needs (gonum/plot, its fonts, LaTeX and PDF
// back-ends): the root package keeps the Report as data, with its JSON and
// Markdown forms. The root package does not import this one; where it
// writes a run folder's reports it takes a func with WriteFiles' signature.
package report

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/internal/atomicfile"
)

// WriteFiles writes the reports of rep for people into the run folder dir:
// results.csv (WriteCSV), accuracy.png (WriteChartPNG) and report.html
// (WriteHTML). Each file is written whole or not at all (a process killed
// meanwhile leaves the old file or none, never half of one), with mode
// 0600. It is the hook a ragvsft.Run takes as RunOptions.Render: the Run
// itself writes report.json (streamed) and report.md.
func WriteFiles(dir string, rep *ragvsft.Report) error {
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"results.csv", func(w io.Writer) error { return WriteCSV(w, rep) }},
		{"accuracy.png", func(w io.Writer) error { return WriteChartPNG(w, rep) }},
		{"report.html", func(w io.Writer) error { return WriteHTML(w, rep) }},
	}
	for _, f := range files {
		err := atomicfile.Write(filepath.Join(dir, f.name), 0o600, f.write)
		if err != nil {
			return fmt.Errorf("report: writing %s: %w", f.name, err)
		}
	}
	return nil
}
