package answer

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// months maps lower-cased month names and abbreviations, English, German,
// French and Spanish, to month numbers.
var months = map[string]int{
	"january": 1, "jan": 1, "januar": 1, "jänner": 1, "janvier": 1, "enero": 1,
	"february": 2, "feb": 2, "februar": 2, "février": 2, "fevrier": 2, "febrero": 2,
	"march": 3, "mar": 3, "märz": 3, "maerz": 3, "mars": 3, "marzo": 3,
	"april": 4, "apr": 4, "avril": 4, "abril": 4,
	"may": 5, "mai": 5, "mayo": 5,
	"june": 6, "jun": 6, "juni": 6, "juin": 6, "junio": 6,
	"july": 7, "jul": 7, "juli": 7, "juillet": 7, "julio": 7,
	"august": 8, "aug": 8, "août": 8, "aout": 8, "agosto": 8,
	"september": 9, "sep": 9, "sept": 9, "septembre": 9, "septiembre": 9, "setiembre": 9,
	"october": 10, "oct": 10, "oktober": 10, "okt": 10, "octobre": 10, "octubre": 10,
	"november": 11, "nov": 11, "novembre": 11, "noviembre": 11,
	"december": 12, "dec": 12, "dezember": 12, "dez": 12, "décembre": 12, "decembre": 12, "diciembre": 12,
}

// datePattern is one written form of a date; its groups are named day,
// month (a number or a name) and year.
type datePattern struct {
	re *regexp.Regexp
	// numeric is the separator of an all-digit form ("." or "/"), whose
	// day and month order needs a rule.
	numeric bool
}

var datePatterns = buildDatePatterns()

func buildDatePatterns() []datePattern {
	names := make([]string, 0, len(months))
	for m := range months {
		names = append(names, regexp.QuoteMeta(m))
	}
	// Longest first: the alternation takes the first that matches.
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	month := `(?P<month>` + strings.Join(names, "|") + `)\.?`
	sp := `[\s\x{00a0}]+`
	day := `(?P<day>\d{1,2})`
	year := `(?P<year>\d{4})`
	of := `(?:(?:of|de|del)` + sp + `)?`
	return []datePattern{
		// 11 March 1905, 11th of March, 1905, 11. März 1905, 1er mars 1905, 11 de marzo de 1905
		{re: regexp.MustCompile(`(?i)\b` + day + `(?:st|nd|rd|th|er|\.)?` + sp + of + month + `,?` + sp + of + year + `\b`)},
		// March 11, 1905; March 11th 1905
		{re: regexp.MustCompile(`(?i)\b` + month + sp + day + `(?:st|nd|rd|th)?,?` + sp + year + `\b`)},
		// March 1905, marzo de 1905
		{re: regexp.MustCompile(`(?i)\b` + month + `,?` + sp + of + year + `\b`)},
		// 1905-03-11
		{re: regexp.MustCompile(`\b` + year + `-(?P<month>\d{1,2})-` + day + `\b`)},
		// 11.03.1905 (always day first), 11/03/1905 and 11-03-1905 (see Scan)
		{re: regexp.MustCompile(`\b` + day + `(?P<sep>[./-])(?P<month>\d{1,2})[./-]` + year + `\b`), numeric: true},
	}
}

// findDates returns the dates of s, leftmost first and not overlapping,
// and as Text values the date-shaped spans that name no real day.
func findDates(s string) []Value {
	if !hasYear(s) {
		return nil
	}
	return matchDates(s)
}

// matchDates is findDates without the filter.
func matchDates(s string) []Value {
	var found []Value
	for _, p := range datePatterns {
		for _, m := range p.re.FindAllStringSubmatchIndex(s, -1) {
			// A day that does not exist is kept as text, so that neither
			// a shorter date nor its numbers are read from it.
			v, _ := dateOf(s, p, m)
			v.Start, v.End = m[0], m[1]
			found = append(found, v)
		}
	}
	slices.SortFunc(found, func(a, b Value) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return (b.End - b.Start) - (a.End - a.Start)
	})
	var out []Value
	end := 0
	for _, v := range found {
		if v.Start >= end {
			out = append(out, v)
			end = v.End
		}
	}
	return out
}

// hasYear reports whether s has a run of exactly four ASCII digits. Every
// date pattern needs one: its year is \d{4} between a space, "-", "." or
// "/" and a word boundary. Most text has none, and the patterns'
// case-insensitive alternation of month names costs at every position of
// it (43% of the CPU of a server answering RAG prompts with the local
// model).
func hasYear(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			run++
			continue
		}
		if run == 4 {
			return true
		}
		run = 0
	}
	return run == 4
}

// dateOf makes a Value of one match, or ok false if it names no real day.
func dateOf(s string, p datePattern, m []int) (Value, bool) {
	group := func(name string) string {
		i := p.re.SubexpIndex(name)
		if i < 0 || m[2*i] < 0 {
			return ""
		}
		return s[m[2*i]:m[2*i+1]]
	}
	v := Value{Kind: Date, Start: m[0], End: m[1]}
	v.Year, _ = strconv.Atoi(group("year"))
	if ms := group("month"); ms != "" {
		if n, err := strconv.Atoi(ms); err == nil {
			v.Month = n
		} else {
			v.Month = months[strings.ToLower(ms)]
		}
	}
	v.Day, _ = strconv.Atoi(group("day"))
	if p.numeric && group("sep") != "." {
		// Slashes and hyphens: day first unless that cannot be; both
		// orders possible is ambiguous.
		d, mo := v.Day, v.Month
		switch {
		case d > 12 && mo <= 12:
		case mo > 12 && d <= 12:
			v.Day, v.Month = mo, d
		case d != mo:
			v.Ambiguous = true
		}
	}
	if v.Year < 1000 || v.Month < 1 || v.Month > 12 || !validDay(v.Year, v.Month, v.Day) {
		return Value{}, false
	}
	if v.Ambiguous && !validDay(v.Year, v.Day, v.Month) {
		v.Ambiguous = false
	}
	return v, true
}

// validDay reports whether day (0 = none given) exists in month of year.
func validDay(year, month, day int) bool {
	if day == 0 {
		return true
	}
	if month < 1 || month > 12 || day > 31 {
		return false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	return t.Day() == day
}
