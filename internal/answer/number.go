package answer

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Num is a number read from text by ReadNumber.
type Num struct {
	Value float64
	// Start and End are the byte span of its text, scale word included.
	Start, End int
	// Plain is true for an unsigned run of digits with no separator,
	// decimal part or scale word: what a year or a date part looks like.
	Plain bool
}

// scales are the words accepted after a number, as powers of ten. German
// "Billion" (10^12) is left out: it would read as the English billion.
var scales = map[string]int{
	"thousand": 3, "million": 6, "millions": 6, "billion": 9, "billions": 9, "trillion": 12,
	"tausend": 3, "mio": 6, "millionen": 6, "mrd": 9, "milliarde": 9, "milliarden": 9,
	"mille": 3, "milliard": 9, "milliards": 9, "millones": 6, "millón": 6,
}

// FirstNumber returns the first number of s that stands as a word; see
// ReadNumber for what counts as one.
func FirstNumber(s string) (Num, bool) {
	return NextNumber(s, 0)
}

// NextNumber returns the first number of s that starts at or after byte from.
func NextNumber(s string, from int) (Num, bool) {
	for i := from; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (isDigit(r) || isSign(r) && i+size < len(s) && isDigit(rune(s[i+size]))) && mayStart(s, i) {
			if n, ok := ReadNumber(s, i); ok {
				return n, true
			}
		}
		i += size
	}
	return Num{}, false
}

// ReadNumber reads the number that starts at byte i of s. The rules:
//
//   - ASCII digits, optionally after a sign ('+', '-' or U+2212 '−').
//   - Thousands groups: after a first group of one to three digits, groups
//     of exactly three digits, all behind the same separator: a comma, an
//     apostrophe (' or ’), a no-break or thin space, a period, or an
//     ordinary space. A space counts only when it separates at least three
//     groups ("1 967 825", but "in 2023 100 people" is 2023), and a period
//     only when it separates at least three groups or a decimal comma
//     follows ("1.967.825", "1.967,5"): a single period is a decimal point.
//   - A decimal part: a period or comma followed by digits, other than the
//     group separator. A comma followed by exactly three digits after a
//     first group of one to three is a thousands group ("1,967" is 1967),
//     any other comma before digits is a decimal comma ("3,2" is 3.2,
//     "12,50" is 12.5). So the English and the European forms read alike
//     wherever they are unambiguous, and the ambiguous ones ("1,967",
//     "1.967") read as in English.
//   - An optional scale word after spaces: thousand, million, billion,
//     trillion, and the German, French and Spanish ones (Tausend, Mio.,
//     Millionen, Mrd., Milliarden, mille, milliards, millones), any case.
//
// A number glued to a letter, digit, underscore or mark is not one
// ("City_17", "17th", "2.5M"; a sign after a word glues too: "COVID-19"),
// nor is one that continues with '.', ',' or an apostrophe and a digit in a
// way the rules do not accept ("1.2.3", "11.03.1905"), nor one right after
// a period (".5"). A value beyond float64's range is not a number.
func ReadNumber(s string, i int) (Num, bool) {
	var num strings.Builder
	j := i
	signed := false
	if r, size := utf8.DecodeRuneInString(s[j:]); isSign(r) {
		if r != '+' {
			num.WriteByte('-')
		}
		j += size
		signed = true
	}
	k := digits(s, j)
	if k == j {
		return Num{}, false
	}
	num.WriteString(s[j:k])
	lead := k - j
	j = k
	plain := !signed

	var group rune
	if lead <= 3 && j < len(s) {
		if sep, size := utf8.DecodeRuneInString(s[j:]); isGroupSep(sep) {
			var groups strings.Builder
			k, n := j, 0
			for k+size+3 <= len(s) && strings.HasPrefix(s[k:], string(sep)) && digits(s, k+size) == k+size+3 {
				groups.WriteString(s[k+size : k+size+3])
				k += size + 3
				n++
			}
			accept := n > 0
			switch sep {
			case ' ':
				accept = n >= 2
			case '.':
				accept = n >= 2 || n == 1 && k+1 < len(s) && s[k] == ',' && isDigit(rune(s[k+1]))
			}
			if accept {
				num.WriteString(groups.String())
				j, group, plain = k, sep, false
			}
		}
	}
	if j+1 < len(s) && (s[j] == '.' || s[j] == ',') && rune(s[j]) != group && isDigit(rune(s[j+1])) {
		k := digits(s, j+1)
		num.WriteByte('.')
		num.WriteString(s[j+1 : k])
		j, plain = k, false
	}

	// The number must end as a word ends.
	if j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if isWordRune(r) {
			return Num{}, false
		}
		if (r == '.' || r == ',' || r == '\'' || r == '’') && j+size < len(s) && isDigit(rune(s[j+size])) {
			return Num{}, false
		}
	}

	exp := 0
	if w, p, ok := scaleAfter(s, j); ok {
		exp, j, plain = p, w, false
	}
	if exp > 0 {
		num.WriteString("e" + strconv.Itoa(exp))
	}
	v, err := strconv.ParseFloat(num.String(), 64)
	if err != nil {
		return Num{}, false
	}
	return Num{Value: v, Start: i, End: j, Plain: plain}, true
}

// scaleAfter reads a scale word after the spaces at byte j of s.
func scaleAfter(s string, j int) (end, exp int, ok bool) {
	k := skipSpaces(s, j)
	if k == j {
		return 0, 0, false
	}
	w := k
	for w < len(s) {
		r, size := utf8.DecodeRuneInString(s[w:])
		if !unicode.IsLetter(r) {
			break
		}
		w += size
	}
	p, known := scales[strings.ToLower(s[k:w])]
	if !known || w == k {
		return 0, 0, false
	}
	if r, _ := utf8.DecodeRuneInString(s[w:]); w < len(s) && isWordRune(r) {
		return 0, 0, false
	}
	return w, p, true
}

// skipSpaces returns the byte after the spaces (ordinary, no-break, thin)
// at byte j of s.
func skipSpaces(s string, j int) int {
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if !isSpace(r) {
			break
		}
		j += size
	}
	return j
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\u2009' || r == '\t'
}

func digits(s string, from int) int {
	k := from
	for k < len(s) && isDigit(rune(s[k])) {
		k++
	}
	return k
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

func isSign(r rune) bool { return r == '-' || r == '+' || r == '−' }

// isWordRune reports whether r glues to a number next to it.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

func isGroupSep(r rune) bool {
	switch r {
	case ',', '.', '\'', '’', ' ', '\u00a0', '\u202f', '\u2009':
		return true
	}
	return false
}

// mayStart reports whether a number may start at byte i of s: the rune
// before it must not glue to it.
func mayStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	p, size := utf8.DecodeLastRuneInString(s[:i])
	if isWordRune(p) || p == '.' {
		return false
	}
	if p == ',' || p == '\'' || p == '’' || isSign(p) {
		if pp, _ := utf8.DecodeLastRuneInString(s[:i-size]); i-size > 0 && isWordRune(pp) {
			return false
		}
	}
	return true
}
