package answer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// unit is a unit of measurement: value*factor + offset is the value in
// its dimension's base unit.
type unit struct {
	symbol string // canonical, as Value.String shows it
	dim    string
	factor float64
	offset float64
}

// units maps each canonical symbol to its unit; unitSymbols maps the exact
// written forms (symbols such as "m", "K", "L", case-sensitive) and
// unitWords the lower-cased words to canonical symbols.
var units, unitSymbols, unitWords = unitTables()

// unitTables builds the unit tables. Dimensions and their base units:
// length m, area m², volume l, mass kg, temperature °C, duration s, speed
// km/h.
func unitTables() (units map[string]unit, unitSymbols, unitWords map[string]string) {
	units, unitSymbols, unitWords = map[string]unit{}, map[string]string{}, map[string]string{}
	add := func(symbol, dim string, factor, offset float64, symbols []string, words ...string) {
		units[symbol] = unit{symbol, dim, factor, offset}
		unitSymbols[symbol] = symbol
		for _, s := range symbols {
			unitSymbols[s] = symbol
		}
		for _, w := range words {
			unitWords[strings.ToLower(w)] = symbol
		}
	}
	add("km", "length", 1000, 0, nil, "kilometre", "kilometres", "kilometer", "kilometers", "kilometern", "kilomètre", "kilomètres", "kilómetro", "kilómetros")
	add("m", "length", 1, 0, nil, "metre", "metres", "meter", "meters", "metern", "mètre", "mètres", "metro", "metros")
	add("cm", "length", 0.01, 0, nil, "centimetre", "centimetres", "centimeter", "centimeters", "zentimeter", "centímetros")
	add("mm", "length", 0.001, 0, nil, "millimetre", "millimetres", "millimeter", "millimeters")
	add("mi", "length", 1609.344, 0, nil, "mile", "miles", "meile", "meilen")
	add("ft", "length", 0.3048, 0, nil, "foot", "feet")
	add("km²", "area", 1e6, 0, []string{"km2", "sq km", "sq. km"}, "square kilometre", "square kilometres", "square kilometer", "square kilometers", "quadratkilometer", "quadratkilometern")
	add("m²", "area", 1, 0, []string{"m2"}, "square metre", "square metres", "square meter", "square meters", "quadratmeter")
	add("ha", "area", 1e4, 0, nil, "hectare", "hectares", "hektar")
	add("l", "volume", 1, 0, []string{"L"}, "litre", "litres", "liter", "liters", "litro", "litros")
	add("ml", "volume", 0.001, 0, []string{"mL"}, "millilitre", "millilitres", "milliliter", "milliliters")
	add("m³", "volume", 1000, 0, []string{"m3"}, "cubic metre", "cubic metres", "cubic meter", "cubic meters", "kubikmeter")
	add("kg", "mass", 1, 0, nil, "kilogram", "kilograms", "kilogramme", "kilogrammes", "kilogramm", "kilo", "kilos", "kilogramos")
	add("g", "mass", 0.001, 0, nil, "gram", "grams", "gramme", "grammes", "gramm", "gramos")
	add("mg", "mass", 1e-6, 0, nil, "milligram", "milligrams", "milligramm")
	add("t", "mass", 1000, 0, nil, "tonne", "tonnes", "tonnen", "metric ton", "metric tons")
	add("lb", "mass", 0.45359237, 0, []string{"lbs"}, "pound", "pounds")
	add("oz", "mass", 0.028349523125, 0, nil, "ounce", "ounces")
	add("°C", "temperature", 1, 0, []string{"° C", "ºC", "℃"}, "degrees celsius", "degree celsius", "celsius", "grad celsius", "degrés celsius", "grados celsius")
	add("°F", "temperature", 5.0/9, -32*5.0/9, []string{"° F", "ºF", "℉"}, "degrees fahrenheit", "degree fahrenheit", "fahrenheit")
	add("K", "temperature", 1, -273.15, nil, "kelvin")
	add("s", "duration", 1, 0, []string{"sec"}, "second", "seconds", "sekunde", "sekunden", "segundos")
	add("min", "duration", 60, 0, nil, "minute", "minutes", "minuten", "minutos")
	add("h", "duration", 3600, 0, []string{"hr", "hrs"}, "hour", "hours", "stunde", "stunden", "heure", "heures", "hora", "horas")
	add("d", "duration", 86400, 0, nil, "day", "days", "tag", "tage", "tagen", "jour", "jours", "día", "días")
	add("km/h", "speed", 1, 0, []string{"kph", "kmh", "km/hr"}, "kilometres per hour", "kilometers per hour", "stundenkilometer")
	add("m/s", "speed", 3.6, 0, nil, "metres per second", "meters per second")
	add("mph", "speed", 1.609344, 0, nil, "miles per hour")
	return units, unitSymbols, unitWords
}

// currencies maps currency signs (exact) and codes to ISO 4217 codes.
var currencySigns = map[string]string{
	"$": "USD", "US$": "USD", "C$": "CAD", "A$": "AUD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR",
}

// currencyCodes are the ISO codes recognized when written in capitals.
var currencyCodes = map[string]bool{
	"USD": true, "EUR": true, "GBP": true, "JPY": true, "CHF": true, "CNY": true, "CAD": true, "AUD": true,
	"INR": true, "SEK": true, "NOK": true, "DKK": true, "PLN": true, "CZK": true, "MXN": true, "BRL": true,
}

// currencyWords maps lower-cased currency names written after an amount.
var currencyWords = map[string]string{
	"dollar": "USD", "dollars": "USD", "us dollars": "USD", "us dollar": "USD", "dólares": "USD",
	"euro": "EUR", "euros": "EUR",
	"pound sterling": "GBP", "pounds sterling": "GBP", "british pounds": "GBP",
	"yen": "JPY", "franken": "CHF", "swiss francs": "CHF",
}

// percentWords are the lower-cased ways to write "per cent" after a number.
var percentWords = map[string]bool{
	"%": true, "percent": true, "per cent": true, "pct": true, "prozent": true,
	"pour cent": true, "por ciento": true, "por cento": true, "pourcent": true,
}

// after is what follows a number: up to maxWords words after optional
// spaces, as candidates longest first. Each candidate is the phrase and
// the byte where it ends. A word is a run of non-space runes; trailing
// sentence punctuation is not part of it.
func after(s string, j, maxWords int) (phrases []string, ends []int) {
	k := skipSpaces(s, j)
	start := k
	for range maxWords {
		if k >= len(s) {
			break
		}
		w := k
		for w < len(s) {
			r, size := utf8.DecodeRuneInString(s[w:])
			if isSpace(r) || r == '\n' || r == '\r' {
				break
			}
			w += size
		}
		end := w
		for end > k {
			r, size := utf8.DecodeLastRuneInString(s[k:end])
			if !strings.ContainsRune(".,;:!?)]}\"'»”’", r) {
				break
			}
			end -= size
		}
		if end == k {
			break
		}
		phrases = append(phrases, s[start:end])
		ends = append(ends, end)
		if end < w {
			break // punctuation ends the phrase
		}
		k = skipSpaces(s, w)
	}
	for i, j := 0, len(phrases)-1; i < j; i, j = i+1, j-1 {
		phrases[i], phrases[j] = phrases[j], phrases[i]
		ends[i], ends[j] = ends[j], ends[i]
	}
	return phrases, ends
}

// collapse lower-cases a phrase and collapses its spaces.
func collapse(p string) string {
	return strings.ToLower(strings.Join(strings.FieldsFunc(p, func(r rune) bool { return isSpace(r) }), " "))
}

// suffixAt reads a percent sign, currency or unit right after the number
// that ends at byte j of s.
func suffixAt(s string, j int) (kind Kind, code string, end int, ok bool) {
	if j < len(s) && s[j] == '%' {
		return Percent, "", j + 1, true
	}
	// A sign glued to the number ("12€", "5°C") is a word of its own.
	phrases, ends := after(s, j, 3)
	for i, p := range phrases {
		c := collapse(p)
		switch {
		case percentWords[c]:
			return Percent, "", ends[i], true
		case currencySigns[p] != "":
			return Money, currencySigns[p], ends[i], true
		case currencyCodes[p]:
			return Money, p, ends[i], true
		case currencyWords[c] != "":
			return Money, currencyWords[c], ends[i], true
		case unitSymbols[p] != "":
			return Quantity, unitSymbols[p], ends[i], true
		case unitWords[c] != "":
			return Quantity, unitWords[c], ends[i], true
		}
	}
	return Text, "", 0, false
}

// currencyBefore reads a currency sign or code right before byte i of s,
// not before byte from: "$69.99", "USD 3 million", "€ 12,50".
func currencyBefore(s string, from, i int) (code string, start int, ok bool) {
	k := i
	for k > from {
		r, size := utf8.DecodeLastRuneInString(s[from:k])
		if !isSpace(r) {
			break
		}
		k -= size
	}
	for _, sign := range []string{"US$", "C$", "A$", "$", "€", "£", "¥", "₹"} {
		if strings.HasSuffix(s[from:k], sign) {
			st := k - len(sign)
			if sign == "$" && st > from {
				// "US$" is tried first; a letter glued before "$" is not a sign.
				if r, _ := utf8.DecodeLastRuneInString(s[from:st]); unicode.IsLetter(r) {
					return "", 0, false
				}
			}
			return currencySigns[sign], st, true
		}
	}
	if k-from >= 3 && currencyCodes[s[k-3:k]] {
		st := k - 3
		if r, _ := utf8.DecodeLastRuneInString(s[from:st]); st == from || !isWordRune(r) {
			return s[st:k], st, true
		}
	}
	return "", 0, false
}
