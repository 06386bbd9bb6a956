// Package reportfmt holds how the reports write numbers and names, shared
// by the root package's Markdown and package report's HTML, CSV and chart,
// so that both forms of a report say the same thing the same way. It
// cannot use the root package's types (the root imports it): it takes
// plain values.
package reportfmt

import (
	"fmt"
	"math"
	"strings"
)

// OutcomesLegend says what the summary table's columns mean.
const OutcomesLegend = "Accuracy = correct / answered (correct + wrong + abstained); hallucination rate = wrong / (correct + wrong); errors (failed calls) count in neither."

// Rate is a rate as the reports write it, "12.5%", or "n/a" when it is not
// defined (it has no denominator).
func Rate(v float64, defined bool) string {
	if !defined {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

// Interval is a 95% interval as the reports write it, "n/a" when not
// defined.
func Interval(lo, hi float64, defined bool) string {
	if !defined {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%% – %.1f%%", 100*lo, 100*hi)
}

// P is a p-value to four decimals, or in scientific notation below 1e-4.
func P(p float64) string {
	if p < 1e-4 && p > 0 {
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.4f", math.Round(p*1e4)/1e4)
}

// Group is how the reports name a group of a split: "held-out" for
// "held_out".
func Group(name string) string {
	return strings.ReplaceAll(name, "_", "-")
}
