// Package answer reads typed values (dates, money, percentages, quantities
// with units, years and plain numbers) out of free-text answers, compares
// them like with like, and scores text answers SQuAD-style. It is the
// machinery behind ragvsft's evaluators; the rules are documented on Scan,
// ReadNumber, Match and the text functions.
package answer

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is the type of a value. Kinds are ordered by precedence: when a gold
// answer holds values of several kinds, the greatest is what it asks for.
type Kind int

// The kinds, least precedence first.
const (
	Text Kind = iota
	Number
	Year
	Quantity
	Percent
	Money
	Date
)

var kindNames = [...]string{"text", "number", "year", "quantity", "percentage", "money", "date"}

// String returns the kind's name: "text", "number", "year", "quantity",
// "percentage", "money" or "date".
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Value is one typed value found in a text.
type Value struct {
	Kind Kind
	// Num is the number (Number), the year (Year), the amount in Unit
	// (Quantity, Money) or the percentage (Percent: 12 for "12%").
	Num float64
	// Unit is the canonical unit symbol of a Quantity ("km", "°C") or the
	// ISO 4217 code of Money ("EUR").
	Unit string
	// Year, Month and Day of a Date; Month and Day are 0 when not given
	// ("March 1905" has no Day).
	Year, Month, Day int
	// Ambiguous marks a date written with slashes or hyphens whose day and
	// month could be either way round ("11/03/1905"): Day and Month hold the
	// day-first reading, and the swapped one is just as possible.
	Ambiguous bool
	// Start and End are the byte span of the value's text.
	Start, End int
}

// String writes the value canonically: dates as ISO 8601 ("1905-03-11",
// "1905-03", with "or 1905-11-03" when ambiguous), money as "EUR 12.5",
// percentages as "12%", quantities as "3.2 km", years and numbers in plain
// decimal notation.
func (v Value) String() string {
	switch v.Kind {
	case Date:
		s := v.dateString(v.Month, v.Day)
		if v.Ambiguous {
			s += " or " + v.dateString(v.Day, v.Month)
		}
		return s
	case Money:
		return v.Unit + " " + FormatNumber(v.Num)
	case Percent:
		return FormatNumber(v.Num) + "%"
	case Quantity:
		return FormatNumber(v.Num) + " " + v.Unit
	}
	return FormatNumber(v.Num)
}

func (v Value) dateString(month, day int) string {
	switch {
	case month == 0:
		return fmt.Sprintf("%04d", v.Year)
	case day == 0:
		return fmt.Sprintf("%04d-%02d", v.Year, month)
	}
	return fmt.Sprintf("%04d-%02d-%02d", v.Year, month, day)
}

// FormatNumber writes v in plain decimal notation, "0" for negative zero.
func FormatNumber(v float64) string {
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Scan returns the typed values of s, in order, each piece of text read
// once by its most specific reading:
//
//   - Dates first, in these forms (month names in English, German, French
//     and Spanish, full or abbreviated, any case): "11 March 1905",
//     "11th of March, 1905", "am 11. März 1905", "1er mars 1905", "11 de
//     marzo de 1905", "March 11, 1905", "March 1905" (month and year),
//     "1905-03-11" (ISO), "11.03.1905" (a dotted date is always day first,
//     as in German), "11/03/1905" and "11-03-1905". A slashed or hyphenated
//     date is read day first unless only month first is possible
//     ("03/25/1905" is 25 March); when both are possible and differ it is
//     Ambiguous and matches either reading. A date must exist: "31 April
//     1905" and "31/04/1905" are read as nothing at all.
//   - Then numbers (see ReadNumber), each with what follows or precedes it:
//     a percent sign or word ("12%", "12 percent", "12 Prozent", "12 pour
//     cent") makes a Percent; a currency sign or code before it ("$69.99",
//     "€12,50", "USD 3 million") or a sign, code or name after it ("12.50
//     EUR", "12,50 €", "40 dollars", "12 Euro") makes Money ("$" is the US
//     dollar; "pound" is the mass unit, write £ or GBP for money); a unit
//     after it ("3.2 km", "-12.5 °C", "40 kilometres", "5,5 Meter") makes a
//     Quantity; a plain four-digit number from 1000 to 2100 is a Year; any
//     other number is a Number.
func Scan(s string) []Value {
	dates := findDates(s)
	var out []Value
	from := 0
	for i := 0; i <= len(dates); i++ {
		to := len(s)
		if i < len(dates) {
			to = dates[i].Start
		}
		out = append(out, scanNumbers(s, from, to)...)
		if i < len(dates) {
			if dates[i].Kind == Date {
				out = append(out, dates[i])
			}
			from = dates[i].End
		}
	}
	return out
}

// scanNumbers reads the numbers of s[from:to] with their units. The
// number is read in the whole of s so that it ends as a word ends, but
// must lie inside the span.
func scanNumbers(s string, from, to int) []Value {
	var out []Value
	for i := from; i < to; {
		n, ok := NextNumber(s[:to], i)
		if !ok {
			break
		}
		v := Value{Kind: Number, Num: n.Value, Start: n.Start, End: n.End}
		if code, start, ok := currencyBefore(s, max(from, i), n.Start); ok {
			v.Kind, v.Unit, v.Start = Money, code, start
			// "$5 USD" says it twice; take the code after as part of it.
			if kind, _, end, ok := suffixAt(s[:to], n.End); ok && kind == Money {
				v.End = end
			}
		} else if kind, code, end, ok := suffixAt(s[:to], n.End); ok {
			v.Kind, v.Unit, v.End = kind, code, end
		} else if n.Plain && n.End-n.Start == 4 && n.Value >= 1000 && n.Value <= 2100 {
			v.Kind = Year
		}
		out = append(out, v)
		i = v.End
	}
	return out
}

// Classify returns the value a gold answer asks for: of the values Scan
// finds, the first of the greatest Kind (a date before money, money before
// a percentage, then quantity, year, plain number). ok is false when the
// gold answer holds none: it is text.
func Classify(gold string) (v Value, ok bool) {
	for _, x := range Scan(gold) {
		if !ok || x.Kind > v.Kind {
			v, ok = x, true
		}
	}
	return v, ok
}

// dimension returns the dimension of a quantity's unit.
func dimension(symbol string) string { return units[symbol].dim }

// describe lists values for a reason: `number 11, year 1905`.
func describe(vs []Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Kind.String() + " " + v.String()
	}
	return strings.Join(parts, ", ")
}
