package answer

import (
	"fmt"
	"math"
	"strings"
)

// conversionTolerance absorbs the rounding of a unit conversion: 3.2 km
// and 3200 m compare equal although 3.2*1000 is not exactly 3200 in
// floating point.
const conversionTolerance = 1e-9

// Outcome is the result of Match.
type Outcome struct {
	Correct bool
	// Got is the answer's value that was compared; Found is false when the
	// answer holds none of the gold's kind.
	Got   Value
	Found bool
	// Reason says why a wrong answer is wrong; "" when it is correct.
	Reason string
}

// Match compares the answer with the gold value want, like with like. Of
// the answer's values that can stand for want's kind, the first of the
// best fit is compared:
//
//   - Date: a date, else a year (a date with only a year). Every part the
//     gold gives (day, month, year) must be given and equal; parts the gold
//     does not give are not looked at. So "11 1905" is no match for 11
//     March 1974: it gives neither the month nor that year.
//   - Money: money (in any currency: a different one is wrong).
//   - Percent: a percentage ("12" alone is not 12%).
//   - Quantity: a quantity (of any unit: another dimension is wrong), its
//     amount converted to the gold's unit within a dimension (length, area,
//     volume, mass, temperature, duration, speed).
//   - Year: a year or a date's year, else an integer.
//   - Number: a number, else a year; so "In 2023 it had 1,967,825" gives
//     1967825 for a population, while a year gold takes 2023.
//
// Amounts (of money, percentages, quantities, numbers) must be equal
// within relTol: |got-want| <= relTol*|want|, plus 1e-9 relative after a
// unit conversion. relTol 0 asks for exact equality. Years and dates are
// always exact.
func Match(want Value, answer string, relTol float64) Outcome {
	vals := Scan(answer)
	best, bestFit := Value{}, 0
	for _, got := range vals {
		if v, fit := standFor(want, got); fit > bestFit {
			best, bestFit = v, fit
		}
	}
	if bestFit == 0 {
		o := Outcome{Reason: fmt.Sprintf("no %s in answer", want.Kind)}
		if len(vals) > 0 {
			o.Reason += " (found " + describe(vals) + ")"
		}
		return o
	}
	o := Outcome{Got: best, Found: true}
	o.Correct, o.Reason = compare(want, best, relTol)
	return o
}

// standFor returns got as a value of want's kind and how well it fits: 2
// for the same kind, 1 for a stand-in (a year for a date or a number, an
// integer for a year), 0 when it cannot stand for one.
func standFor(want, got Value) (Value, int) {
	switch want.Kind {
	case Date:
		switch got.Kind {
		case Date:
			return got, 2
		case Year:
			return Value{Kind: Date, Year: int(got.Num), Start: got.Start, End: got.End}, 1
		}
	case Year:
		switch {
		case got.Kind == Year:
			return got, 2
		case got.Kind == Date:
			return Value{Kind: Year, Num: float64(got.Year), Start: got.Start, End: got.End}, 2
		case got.Kind == Number && got.Num == math.Trunc(got.Num):
			return Value{Kind: Year, Num: got.Num, Start: got.Start, End: got.End}, 1
		}
	case Number:
		switch got.Kind {
		case Number:
			return got, 2
		case Year:
			got.Kind = Number
			return got, 1
		}
	default:
		if got.Kind == want.Kind {
			return got, 2
		}
	}
	return Value{}, 0
}

// compare judges got, already of want's kind, against want.
func compare(want, got Value, relTol float64) (bool, string) {
	mismatch := func() (bool, string) { return false, fmt.Sprintf("got %s, want %s", got, want) }
	switch want.Kind {
	case Date:
		return compareDates(want, got)
	case Year:
		if got.Num != want.Num {
			return mismatch()
		}
		return true, ""
	case Money:
		if got.Unit != want.Unit {
			return false, fmt.Sprintf("got %s, want %s: currency %s, not %s", got, want, got.Unit, want.Unit)
		}
	case Quantity:
		if got.Unit != want.Unit {
			gd, wd := dimension(got.Unit), dimension(want.Unit)
			if gd != wd {
				return false, fmt.Sprintf("got %s, want %s: a %s, not a %s", got, want, gd, wd)
			}
			g, w := units[got.Unit], units[want.Unit]
			conv := ((got.Num*g.factor + g.offset) - w.offset) / w.factor
			if !near(conv, want.Num, relTol+conversionTolerance) {
				return false, fmt.Sprintf("got %s (%s %s), want %s", got, FormatNumber(round(conv)), want.Unit, want)
			}
			return true, ""
		}
	}
	if !near(got.Num, want.Num, relTol) {
		return mismatch()
	}
	return true, ""
}

// round drops the noise of a conversion for display.
func round(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	p := math.Pow(10, 9-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

func near(got, want, relTol float64) bool {
	if relTol == 0 {
		return got == want
	}
	return math.Abs(got-want) <= relTol*math.Abs(want)
}

// compareDates asks every part the gold gives to be given and equal, under
// some reading of each ambiguous date.
func compareDates(want, got Value) (bool, string) {
	best := ""
	for _, w := range readings(want) {
		for _, g := range readings(got) {
			var wrong []string
			if g[0] != w[0] {
				wrong = append(wrong, fmt.Sprintf("year %d, not %d", g[0], w[0]))
			}
			for i, part := range []string{"month", "day"} {
				switch {
				case w[i+1] == 0:
				case g[i+1] == 0:
					wrong = append(wrong, "no "+part)
				case g[i+1] != w[i+1]:
					wrong = append(wrong, fmt.Sprintf("%s %d, not %d", part, g[i+1], w[i+1]))
				}
			}
			if len(wrong) == 0 {
				return true, ""
			}
			if best == "" {
				best = strings.Join(wrong, ", ")
			}
		}
	}
	return false, fmt.Sprintf("got %s, want %s: %s", got, want, best)
}

// readings returns a date's possible (year, month, day) triples.
func readings(v Value) [][3]int {
	r := [][3]int{{v.Year, v.Month, v.Day}}
	if v.Ambiguous {
		r = append(r, [3]int{v.Year, v.Day, v.Month})
	}
	return r
}
