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
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ragvsft/ragvsft"
	"github.com/ragvsft/ragvsft/internal/atomicfile"
)

// WriteFiles writes rep into the run folder dir as report.json (its JSON
// form, indented), report.md (Report.WriteMarkdown), results.csv
// (WriteCSV), accuracy.png (WriteChartPNG) and report.html (WriteHTML).
// Each file is written whole or not at all (a process killed meanwhile
// leaves the old file or none, never half of one), with mode 0600. Its
// signature, func(dir string, rep *ragvsft.Report) error, is how the root
// package, which cannot import this one, is handed a run folder's
// rendering.
func WriteFiles(dir string, rep *ragvsft.Report) error {
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encoding report.json: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"report.json", func(w io.Writer) error { _, err := w.Write(append(js, '\n')); return err }},
		{"report.md", rep.WriteMarkdown},
		{"results.csv", func(w io.Writer) error { return WriteCSV(w, rep) }},
		{"accuracy.png", func(w io.Writer) error { return WriteChartPNG(w, rep) }},
		{"report.html", func(w io.Writer) error { return WriteHTML(w, rep) }},
	}
	for _, f := range files {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			return fmt.Errorf("report: writing %s: %w", f.name, err)
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), b.Bytes(), 0o600); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}
