package answer

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vals writes Scan's values as "kind value" for compact tables.
func vals(s string) []string {
	var out []string
	for _, v := range Scan(s) {
		out = append(out, v.Kind.String()+" "+v.String())
	}
	return out
}

func TestScan(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		// Numbers, English and European.
		{"1,967,825", []string{"number 1967825"}},
		{"1.967.825 Einwohner", []string{"number 1967825"}},
		{"1 967 825", []string{"number 1967825"}},
		{"2.5 million people", []string{"number 2500000"}},
		{"2,5 Millionen Menschen", []string{"number 2500000"}},
		{"-519610", []string{"number -519610"}},
		{"City_17 has 17th place", nil},
		{"COVID-19", nil},
		// Years.
		{"founded in 1918.", []string{"year 1918"}},
		{"Founded 1850, closed 2021", []string{"year 1850", "year 2021"}},
		{"2200 people", []string{"number 2200"}},
		{"1,918", []string{"number 1918"}},
		{"Radek Szabo was born on 11 1905.", []string{"number 11", "year 1905"}},
		// Quantities.
		{"-12.5 °C", []string{"quantity -12.5 °C"}},
		{"−3 °C at night", []string{"quantity -3 °C"}},
		{"5°C", []string{"quantity 5 °C"}},
		{"It is 3.2 km long.", []string{"quantity 3.2 km"}},
		{"Die Virode ist 3,2 km lang.", []string{"quantity 3.2 km"}},
		{"312.5 kilometres long and 4.2 m deep", []string{"quantity 312.5 km", "quantity 4.2 m"}},
		{"40 Kilometer", []string{"quantity 40 km"}},
		{"1.2 kg", []string{"quantity 1.2 kg"}},
		{"weighs 850 g.", []string{"quantity 850 g"}},
		{"2 pounds", []string{"quantity 2 lb"}},
		{"120 km/h", []string{"quantity 120 km/h"}},
		{"605 square kilometres", []string{"quantity 605 km²"}},
		{"605 km²", []string{"quantity 605 km²"}},
		{"75 degrees Fahrenheit", []string{"quantity 75 °F"}},
		{"3 m deep", []string{"quantity 3 m"}},
		{"3 more", []string{"number 3"}},
		// Percentages.
		{"12%", []string{"percentage 12%"}},
		{"12 %", []string{"percentage 12%"}},
		{"12.5 percent", []string{"percentage 12.5%"}},
		{"12 per cent", []string{"percentage 12%"}},
		{"12 Prozent", []string{"percentage 12%"}},
		{"12 pour cent", []string{"percentage 12%"}},
		{"12,5 %", []string{"percentage 12.5%"}},
		// Money.
		{"$69.99", []string{"money USD 69.99"}},
		{"It costs $ 69.99.", []string{"money USD 69.99"}},
		{"€12,50", []string{"money EUR 12.5"}},
		{"12,50 €.", []string{"money EUR 12.5"}},
		{"12.50 EUR", []string{"money EUR 12.5"}},
		{"USD 3 million", []string{"money USD 3000000"}},
		{"69.99 dollars", []string{"money USD 69.99"}},
		{"12 Euro", []string{"money EUR 12"}},
		{"£1,200", []string{"money GBP 1200"}},
		{"US$ 12", []string{"money USD 12"}},
		{"$5 USD", []string{"money USD 5"}},
		{"CHF 10.50", []string{"money CHF 10.5"}},
		{"eur 12", []string{"number 12"}}, // codes are capitals
		// Dates.
		{"11 March 1905", []string{"date 1905-03-11"}},
		{"born on 11th of March, 1905.", []string{"date 1905-03-11"}},
		{"March 11, 1905", []string{"date 1905-03-11"}},
		{"Mar. 11th 1905", []string{"date 1905-03-11"}},
		{"1905-03-11", []string{"date 1905-03-11"}},
		{"11.03.1905", []string{"date 1905-03-11"}},
		{"11/03/1905", []string{"date 1905-03-11 or 1905-11-03"}},
		{"25/03/1905", []string{"date 1905-03-25"}},
		{"03/25/1905", []string{"date 1905-03-25"}},
		{"03/03/1905", []string{"date 1905-03-03"}},
		{"11-03-1905", []string{"date 1905-03-11 or 1905-11-03"}},
		{"31/04/1905", nil}, // no such day: not a date, and not numbers either
		{"am 11. März 1905", []string{"date 1905-03-11"}},
		{"am 23. Mai 1905", []string{"date 1905-05-23"}},
		{"1er mars 1905", []string{"date 1905-03-01"}},
		{"le 11 août 1905", []string{"date 1905-08-11"}},
		{"11 de marzo de 1905", []string{"date 1905-03-11"}},
		{"March 1905", []string{"date 1905-03"}},
		{"im Dezember 1905", []string{"date 1905-12"}},
		{"31 April 1905", nil}, // no such day, and not read as April 1905
		{"29 February 1904", []string{"date 1904-02-29"}},
		{"born on 3 May 1918, aged 12.5 km", []string{"date 1918-05-03", "quantity 12.5 km"}},
		{"born 11 March 1905 and died 2 May 1970", []string{"date 1905-03-11", "date 1970-05-02"}},
		{"", nil},
		{"I don't know.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, vals(tt.in))
		})
	}
}

func TestScanSpans(t *testing.T) {
	s := "Price: $69.99, about 3.2 km away, since 1918."
	var texts []string
	for _, v := range Scan(s) {
		texts = append(texts, s[v.Start:v.End])
	}
	assert.Equal(t, []string{"$69.99", "3.2 km", "1918"}, texts)
}

func TestClassify(t *testing.T) {
	tests := []struct {
		gold string
		want string // kind and value, "" for text
	}{
		{"Radek Szabo was born on 11 March 1974.", "date 1974-03-11"},
		{"The Zorbix Kettle costs $69.99 and weighs 1.2 kg.", "money USD 69.99"},
		{"The Zorbix Kettle weighs 1.2 kg.", "quantity 1.2 kg"},
		{"In 2023, 12% of them left.", "percentage 12%"},
		{"X was founded in 1918.", "year 1918"},
		{"City_17 has about 1967825 inhabitants.", "number 1967825"},
		{"In 2023 the town had 15,000 inhabitants.", "year 2023"}, // year before number, as documented
		{"The SKU of the Zorbix Kettle is ZK-4821-B.", ""},
		{"Kexsox Houcourklend", ""},
	}
	for _, tt := range tests {
		t.Run(tt.gold, func(t *testing.T) {
			v, ok := Classify(tt.gold)
			if tt.want == "" {
				assert.False(t, ok, "got %v", v)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, v.Kind.String()+" "+v.String())
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name, gold, answer string
		tol                float64
		correct            bool
		got, reason        string
	}{
		// The cases.
		{"date without month", "Radek Szabo was born on 11 March 1974.", "Radek Szabo was born on 11 1905.", 0, false,
			"1905", "got 1905, want 1974-03-11: year 1905, not 1974, no month, no day"},
		{"year in a sentence", "X was founded in 1918.", "1918", 0, true, "1918", ""},
		// Dates.
		{"date same, other form", "born on 11 March 1974", "Born 1974-03-11.", 0, true, "1974-03-11", ""},
		{"date German", "born on 11 March 1974", "Er wurde am 11. März 1974 geboren.", 0, true, "1974-03-11", ""},
		{"date US", "born on 11 March 1974", "March 11, 1974", 0, true, "1974-03-11", ""},
		{"date dotted", "born on 11 March 1974", "11.03.1974", 0, true, "1974-03-11", ""},
		{"date ambiguous answer, day first", "born on 11 March 1974", "11/03/1974", 0, true, "1974-03-11 or 1974-11-03", ""},
		{"date ambiguous answer, month first", "born on 11 March 1974", "03/11/1974", 0, true, "1974-11-03 or 1974-03-11", ""},
		{"date ambiguous gold", "born 03/11/1974", "11 March 1974", 0, true, "1974-03-11", ""},
		{"date wrong day", "born on 11 March 1974", "born on 12 March 1974", 0, false, "1974-03-12",
			"got 1974-03-12, want 1974-03-11: day 12, not 11"},
		{"date month only", "born on 11 March 1974", "in March 1974", 0, false, "1974-03",
			"got 1974-03, want 1974-03-11: no day"},
		{"date year only", "born on 11 March 1974", "in 1974", 0, false, "1974",
			"got 1974, want 1974-03-11: no month, no day"},
		{"partial gold, fuller answer", "born in March 1974", "on 11 March 1974", 0, true, "1974-03-11", ""},
		{"year gold, date answer", "founded in 1918", "on 3 May 1918", 0, true, "1918", ""},
		{"no date", "born on 11 March 1974", "I don't know.", 0, false, "", "no date in answer"},
		{"number is not a date", "born on 11 March 1974", "about 11", 0, false, "", "no date in answer (found number 11)"},
		// Money.
		{"money same", "It costs $69.99.", "The price is 69.99 USD", 0, true, "USD 69.99", ""},
		{"money euro forms", "Der Preis ist 12,50 €.", "€12.50", 0, true, "EUR 12.5", ""},
		{"money other currency", "It costs $69.99.", "It costs €69.99.", 0, false, "EUR 69.99",
			"got EUR 69.99, want USD 69.99: currency EUR, not USD"},
		{"money wrong amount", "It costs $69.99.", "$59.99", 0, false, "USD 59.99", "got USD 59.99, want USD 69.99"},
		{"money bare number", "It costs $69.99.", "69.99", 0, false, "", "no money in answer (found number 69.99)"},
		{"money scale", "USD 3 million", "$3,000,000", 0, true, "USD 3000000", ""},
		// Percentages.
		{"percent forms", "Unemployment is 12%.", "12 Prozent", 0, true, "12%", ""},
		{"percent bare", "Unemployment is 12%.", "12", 0, false, "", "no percentage in answer (found number 12)"},
		{"percent tolerance", "Unemployment is 12%.", "12.1 percent", 0.01, true, "12.1%", ""},
		// Quantities.
		{"quantity same", "The Virode is 312.5 km long.", "312.5 kilometres", 0, true, "312.5 km", ""},
		{"quantity European", "The Virode is 3.2 km long.", "Die Virode ist 3,2 km lang.", 0, true, "3.2 km", ""},
		{"quantity converted", "The Virode is 3.2 km long.", "3200 m", 0, true, "3200 m", ""},
		{"quantity converted wrong", "The Virode is 3.2 km long.", "3300 m", 0, false, "3300 m", "got 3300 m (3.3 km), want 3.2 km"},
		{"quantity other dimension", "The Virode is 3.2 km long.", "3.2 kg", 0, false, "3.2 kg", "got 3.2 kg, want 3.2 km: a mass, not a length"},
		{"quantity no unit", "The Virode is 3.2 km long.", "3.2", 0, false, "", "no quantity in answer (found number 3.2)"},
		{"temperature", "It froze at -12.5 °C.", "9.5 °F", 0, true, "9.5 °F", ""},
		{"quantity first of two", "The Virode is 4.2 m deep.", "It is 312.5 km long and 4.2 m deep.", 0, false, "312.5 km",
			"got 312.5 km (312500 m), want 4.2 m"},
		// Years and numbers.
		{"year wrong", "X was founded in 1918.", "It was founded in 1920.", 0, false, "1920", "got 1920, want 1918"},
		{"year tolerance does not apply", "X was founded in 1918.", "1920", 0.01, false, "1920", "got 1920, want 1918"},
		{"year as grouped integer", "X was founded in 1918.", "1,918", 0, true, "1918", ""},
		{"number", "City_1 has about 1967825 inhabitants.", "1.967.825", 0, true, "1967825", ""},
		{"number tolerance", "City_1 has about 1967825 inhabitants.", "about 2 million", 0.02, true, "2000000", ""},
		{"number before a year", "City_1 has about 1967825 inhabitants.", "In 2023, City_1 had 1,967,825 inhabitants.", 0, true, "1967825", ""},
		{"a year stands in for a number", "City_1 has about 1967825 inhabitants.", "In 2023.", 0, false, "2023", "got 2023, want 1967825"},
		{"year before an integer", "X was founded in 1918.", "After 12 attempts, in 1918.", 0, true, "1918", ""},
		{"a date before a year", "born on 11 March 1974", "In 1990 he said: 11 March 1974.", 0, true, "1974-03-11", ""},
		{"number exact by default", "City_1 has about 1967825 inhabitants.", "about 2 million", 0, false, "2000000",
			"got 2000000, want 1967825"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, ok := Classify(tt.gold)
			require.True(t, ok)
			o := Match(want, tt.answer, tt.tol)
			assert.Equal(t, tt.correct, o.Correct)
			assert.Equal(t, tt.got != "", o.Found)
			if o.Found {
				assert.Equal(t, tt.got, o.Got.String())
			}
			assert.Equal(t, tt.reason, o.Reason)
		})
	}
}

func TestNormalizeAndF1(t *testing.T) {
	norm := []struct{ in, want string }{
		{"The Hague.", "hague"},
		{"  A  cat, an apple; THE end!  ", "cat apple end"},
		{"Der Rhein fließt in die Nordsee.", "rhein fließt in nordsee"},
		{"Köln", "köln"},
		{"«Le Havre»", "havre"},
		{"ZK-4821-B", "zk4821b"},
		{"", ""},
	}
	for _, tt := range norm {
		assert.Equal(t, tt.want, Normalize(tt.in), tt.in)
	}
	f1 := []struct {
		answer, gold string
		want         float64
	}{
		{"kexsox houcourklend", "kexsox houcourklend", 1},
		{"kexsox zab", "kexsox houcourklend", 0.5},
		{"kexsox", "kexsox houcourklend", 2.0 / 3},
		{"x b b", "b", 0.5}, // b counted once: P 1/3, R 1
		{"x", "y", 0},
		{"", "", 1},
		{"", "y", 0},
	}
	for _, tt := range f1 {
		assert.InDelta(t, tt.want, F1(Tokens(tt.answer), Tokens(tt.gold)), 1e-12, "%q vs %q", tt.answer, tt.gold)
	}
	keys := []struct {
		gold, question string
		core, key      []string
	}{
		{"Tearkbour Analytics was founded by Kexsox Houcourklend.", "Who founded Tearkbour Analytics?",
			[]string{"kexsox", "houcourklend"}, []string{"kexsox", "houcourklend"}},
		{"Tearkbour Analytics is based in Lake Saxmai.", "Where is Tearkbour Analytics headquartered?",
			[]string{"based", "lake", "saxmai"}, []string{"lake", "saxmai"}},
		{"The SKU of the Zorbix Kettle is ZK-4821-B.", "What is the SKU of the Zorbix Kettle?",
			[]string{"zk4821b"}, []string{"zk4821b"}},
		{"The Wetglur Tent has the stock-keeping unit code WE-6436-O.", "What is the SKU of the Wetglur Tent?",
			[]string{"stockkeeping", "unit", "code", "we6436o"}, []string{"we6436o"}},
		{"The Virode flows into the Sea of Mara.", "Into which sea does the Virode flow?",
			[]string{"flows", "mara"}, []string{"mara"}},
		{"its colour is blue", "What colour is it?", []string{"blue"}, []string{"blue"}},
		{"Dorvingen liegt in Österreich.", "In welchem Land liegt Dorvingen?", []string{"österreich"}, []string{"österreich"}},
		{"Lake Saxmai", "Is it Lake Saxmai?", nil, nil},
	}
	for _, tt := range keys {
		assert.Equal(t, tt.core, Core(tt.gold, tt.question), "core of %q", tt.gold)
		assert.Equal(t, tt.key, Key(tt.gold, tt.question), "key of %q", tt.gold)
	}
	assert.True(t, ContainsSpan([]string{"a", "b", "c"}, []string{"b", "c"}))
	assert.False(t, ContainsSpan([]string{"a", "b", "c"}, []string{"c", "b"}))
	assert.False(t, ContainsSpan([]string{"a"}, nil))
}

func TestKindString(t *testing.T) {
	assert.Equal(t, "percentage", Percent.String())
	assert.Equal(t, "Kind(9)", Kind(9).String())
}

// FuzzScan checks that Scan never panics, returns values in order whose
// spans are in s and do not overlap, with finite numbers and real dates, and
// that every value reads back as itself from its own text.
// Its seed corpus is in testdata/fuzz/FuzzScan.
func FuzzScan(f *testing.F) {
	f.Add("Radek Szabo was born on 11 March 1974.")
	f.Add("It costs $69.99, weighs 1,2 kg and is 12% off since 1918.")
	f.Fuzz(func(t *testing.T, s string) {
		end := 0
		for _, v := range Scan(s) {
			if v.Start < end || v.End <= v.Start || v.End > len(s) {
				t.Fatalf("Scan(%q): span %d..%d after %d", s, v.Start, v.End, end)
			}
			end = v.End
			text := s[v.Start:v.End]
			if !utf8.ValidString(s) {
				continue
			}
			if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
				t.Fatalf("Scan(%q): %v", s, v)
			}
			if v.Kind == Date && !validDay(v.Year, v.Month, v.Day) {
				t.Fatalf("Scan(%q): no such day %v", s, v)
			}
			back := Scan(text)
			if len(back) == 0 || back[0].Kind != v.Kind || back[0].String() != v.String() {
				t.Fatalf("Scan(%q) gives %s %s from %q, which reads back as %v", s, v.Kind, v, text, back)
			}
			if v.Kind != Text {
				if got := Match(v, text, 0); !got.Correct {
					t.Fatalf("%q does not match itself: %s", text, got.Reason)
				}
			}
		}
		if strings.TrimSpace(s) == "" && len(Scan(s)) > 0 {
			t.Fatalf("Scan(%q) found values in blank text", s)
		}
	})
}
