package ragvsft

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExtractNumber(t *testing.T) {
	tests := []struct {
		in     string
		value  float64
		text   string
		wantOK bool
	}{
		{"City_17 has about 1967825 inhabitants.", 1967825, "1967825", true},
		{"City_17 has about 1,967,825 inhabitants.", 1967825, "1,967,825", true},
		{"about 1 967 825 people", 1967825, "1 967 825", true},
		{"about 1\u202f967\u202f825 people", 1967825, "1\u202f967\u202f825", true},
		{"about 12\u00a0345 people", 12345, "12\u00a0345", true},
		{"about 1'967'825 people", 1967825, "1'967'825", true},
		{"in 2023 100 people came", 2023, "2023", true},
		{"only 100 200 of them", 100, "100", true},
		{"It is 3.5 km.", 3.5, "3.5", true},
		{"The answer is 42.", 42, "42", true},
		{"The answer is 1,967,825.", 1967825, "1,967,825", true},
		{"1,967,825.25 units", 1967825.25, "1,967,825.25", true},
		{"-519610", -519610, "-519610", true},
		{"it fell to −12 degrees", -12, "−12", true},
		{"a change of +7%", 7, "+7", true},
		{"2.5 million", 2500000, "2.5 million", true},
		{"about 2 Million people", 2000000, "2 Million", true},
		{"3 billion.", 3e9, "3 billion", true},
		{"1 thousandth", 1, "1", true},
		{"City_17 has 2.5M inhabitants, about 2500000", 2500000, "2500000", true},
		{"COVID-19 killed 7 million", 7e6, "7 million", true},
		{"$1,234", 1234, "1,234", true},
		{"(1967825)", 1967825, "1967825", true},
		{"Population:1967825", 1967825, "1967825", true},
		{"the 17th city has 5 inhabitants", 5, "5", true},
		{"v1.2 then 3", 3, "3", true},
		{"1.2.3 and 4", 4, "4", true},
		{"3,5 or 6", 3.5, "3,5", true},       // a decimal comma
		{"1,967 or 6", 1967, "1,967", true},  // a thousands group, as in English
		{"1.967 or 6", 1.967, "1.967", true}, // a decimal point, as in English
		{"1.967.825 people", 1967825, "1.967.825", true},
		{"1.967,5 people", 1967.5, "1.967,5", true},
		{"12,50 €", 12.5, "12,50", true},
		{"born 11.03.1905 or 7", 7, "7", true},
		{"2,5 Millionen", 2500000, "2,5 Millionen", true},
		{"1,9678 or 9", 1.9678, "1,9678", true},
		{"1,967,82 or 9", 9, "9", true},
		{".5 or 8", 8, "8", true},
		{"5-3", 5, "5", true},
		{"0", 0, "0", true},
		{"I don't know.", 0, "", false},
		{"City_17", 0, "", false},
		{"", 0, "", false},
		{"-", 0, "", false},
		{"abc123", 0, "", false},
		{"١٢٣", 0, "", false}, // non-ASCII digits are not read
		{"1" + strings.Repeat("0", 400), 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, text, ok := ExtractNumber(tt.in)
			require.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.value, v)
			assert.Equal(t, tt.text, text)
		})
	}
}

func TestNumericEvaluator(t *testing.T) {
	ctx := context.Background()
	q := Question{ID: "city-1", Text: "What is the population of City_1?", Gold: "City_1 has about 1967825 inhabitants."}
	tests := []struct {
		name   string
		eval   NumericEvaluator
		answer string
		want   Verdict
	}{
		{"exact", NumericEvaluator{}, "City_1 has about 1,967,825 inhabitants.",
			Verdict{Type: "number", Correct: true, Extracted: "1967825", Expected: "1967825"}},
		{"wrong", NumericEvaluator{}, "City_1 has about 519610 inhabitants.",
			Verdict{Type: "number", Extracted: "519610", Expected: "1967825", Reason: "got 519610, want 1967825"}},
		{"no number", NumericEvaluator{}, "I don't know.",
			Verdict{Type: "number", Expected: "1967825", Reason: "no number in answer"}},
		{"scale word rounds off", NumericEvaluator{}, "About 2 million.",
			Verdict{Type: "number", Extracted: "2000000", Expected: "1967825", Reason: "got 2000000, want 1967825"}},
		{"within tolerance", NumericEvaluator{RelTolerance: 0.02}, "About 2 million.",
			Verdict{Type: "number", Correct: true, Extracted: "2000000", Expected: "1967825"}},
		{"outside tolerance", NumericEvaluator{RelTolerance: 0.01}, "About 2 million.",
			Verdict{Type: "number", Extracted: "2000000", Expected: "1967825", Reason: "got 2000000, want 1967825"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.eval.Evaluate(ctx, q, tt.answer)
			require.NoError(t, err)
			assert.Equal(t, tt.want, v)
		})
	}

	t.Run("gold without number", func(t *testing.T) {
		_, err := NumericEvaluator{}.Evaluate(ctx, Question{ID: "q7", Gold: "Paris"}, "42")
		require.EqualError(t, err, `ragvsft: question q7: gold answer "Paris" has no number`)
	})
	t.Run("bad tolerance", func(t *testing.T) {
		for _, tol := range []float64{-0.1, math.NaN()} {
			_, err := NumericEvaluator{RelTolerance: tol}.Evaluate(ctx, q, "1967825")
			require.ErrorContains(t, err, "RelTolerance must be >= 0")
		}
	})
	t.Run("negative zero prints as 0", func(t *testing.T) {
		v, err := NumericEvaluator{}.Evaluate(ctx, Question{ID: "z", Gold: "0"}, "-0")
		require.NoError(t, err)
		assert.Equal(t, Verdict{Type: "number", Correct: true, Extracted: "0", Expected: "0"}, v)
	})
}

func TestNormalizeAnswer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Paris", "paris"},
		{`  "Paris."  `, "paris"},
		{"**Paris**", "paris"},
		{"The Hague", "hague"},
		{"the", "the"},
		{"A", "a"},
		{"an apple a day", "apple a day"},
		{"New   York\n City", "new york city"},
		{"ΣΊΣΥΦΟΣ", "σίσυφοσ"}, // final sigma folds like sigma
		{"σίσυφος", "σίσυφοσ"},
		{"K", "k"}, // Kelvin sign
		{"STRASSE", "strasse"},
		{"Straße", "straße"},
		{"(42)", "42"},
		{"", ""},
		{"...", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, normalizeAnswer(tt.in))
		})
	}
}

func TestExactEvaluator(t *testing.T) {
	ctx := context.Background()
	q := Question{ID: "q1", Gold: "The Hague"}
	tests := []struct {
		answer string
		want   Verdict
	}{
		{"the hague.", Verdict{Type: "text", Correct: true, Extracted: "hague", Expected: "hague"}},
		{"“THE  HAGUE”", Verdict{Type: "text", Correct: true, Extracted: "hague", Expected: "hague"}},
		{"It is The Hague.", Verdict{Type: "text", Extracted: "it is the hague", Expected: "hague", Reason: `got "it is the hague", want "hague"`}},
		{"", Verdict{Type: "text", Expected: "hague", Reason: `got "", want "hague"`}},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			v, err := ExactEvaluator{}.Evaluate(ctx, q, tt.answer)
			require.NoError(t, err)
			assert.Equal(t, tt.want, v)
		})
	}
	_, err := ExactEvaluator{}.Evaluate(ctx, Question{ID: "q9", Gold: " ?! "}, "x")
	require.EqualError(t, err, `ragvsft: question q9: gold answer " ?! " is empty after normalization`)
}

func TestContainsEvaluator(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		gold, answer string
		correct      bool
	}{
		{"Paris", "The capital is Paris, of course.", true},
		{"Paris", "PARIS", true},
		{"Paris", "Parisians live there.", false},
		{"par", "Paris", false},
		{"1", "1967825", false},
		{"1967825", "City_1 has about 1967825 inhabitants.", true},
		{"New York", "It is new  york city.", true},
		{"C++", "I write C++ daily", true},
		{"C++", "I write C++daily", true}, // gold ends in '+': no boundary needed there
		{"Paris", "I don't know.", false},
		{"Paris", "paris paris", true},
		{"ab", "abab ab", true}, // a later occurrence counts
	}
	for _, tt := range tests {
		t.Run(tt.gold+" in "+tt.answer, func(t *testing.T) {
			v, err := ContainsEvaluator{}.Evaluate(ctx, Question{ID: "q", Gold: tt.gold}, tt.answer)
			require.NoError(t, err)
			assert.Equal(t, tt.correct, v.Correct)
			assert.Equal(t, normalizeAnswer(tt.gold), v.Expected)
			if tt.correct {
				assert.Equal(t, v.Expected, v.Extracted)
				assert.Empty(t, v.Reason)
			} else {
				assert.Empty(t, v.Extracted)
				assert.Contains(t, v.Reason, "answer does not contain")
			}
		})
	}
	_, err := ContainsEvaluator{}.Evaluate(ctx, Question{ID: "q9", Gold: ""}, "x")
	require.ErrorContains(t, err, "question q9")
}

// FuzzExtractNumber checks that ExtractNumber never panics, returns a
// substring of its input, and reads that substring back to the same value.
// Its seed corpus is in testdata/fuzz/FuzzExtractNumber.
func FuzzExtractNumber(f *testing.F) {
	f.Add("City_17 has about 1,967,825 inhabitants.")
	f.Fuzz(func(t *testing.T, s string) {
		v, text, ok := ExtractNumber(s)
		if !ok {
			if v != 0 || text != "" {
				t.Fatalf("ExtractNumber(%q) = %v, %q, false: want zero values", s, v, text)
			}
			return
		}
		if !strings.Contains(s, text) || text == "" {
			t.Fatalf("ExtractNumber(%q) text %q is not a substring", s, text)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("ExtractNumber(%q) = %v", s, v)
		}
		v2, text2, ok2 := ExtractNumber(text)
		if !ok2 || v2 != v || text2 != text {
			t.Fatalf("ExtractNumber(%q) = %v, %q; reading %q back gives %v, %q, %v", s, v, text, text, v2, text2, ok2)
		}
	})
}

func ExampleExtractNumber() {
	for _, s := range []string{
		"City_17 has about 1,967,825 inhabitants.",
		"Roughly 2.5 million people.",
		"I don't know.",
	} {
		v, text, ok := ExtractNumber(s)
		fmt.Printf("%v %q %v\n", v, text, ok)
	}
	// Output:
	// 1.967825e+06 "1,967,825" true
	// 2.5e+06 "2.5 million" true
	// 0 "" false
}

func ExampleNumericEvaluator() {
	q := Question{ID: "city-1", Gold: "City_1 has about 1967825 inhabitants."}
	for _, answer := range []string{"About 1,967,825 people.", "City_1 has about 519610 inhabitants."} {
		v, err := NumericEvaluator{}.Evaluate(context.Background(), q, answer)
		if err != nil {
			panic(err)
		}
		fmt.Printf("correct=%v extracted=%s reason=%q\n", v.Correct, v.Extracted, v.Reason)
	}
	// Output:
	// correct=true extracted=1967825 reason=""
	// correct=false extracted=519610 reason="got 519610, want 1967825"
}

func TestAutoEvaluator(t *testing.T) {
	ctx := context.Background()
	q := func(gold string) Question { return Question{ID: "q", Text: "Tell me.", Gold: gold} }
	tests := []struct {
		name   string
		eval   AutoEvaluator
		q      Question
		answer string
		want   Verdict
	}{
		{"the issue's date", AutoEvaluator{}, q("Radek Szabo was born on 11 March 1974."), "Radek Szabo was born on 11 1905.",
			Verdict{Type: "date", Extracted: "1905", Expected: "1974-03-11", Reason: "got 1905, want 1974-03-11: year 1905, not 1974, no month, no day"}},
		{"the issue's year", AutoEvaluator{}, q("Tearkbour Analytics was founded in 1918."), "1918",
			Verdict{Type: "year", Correct: true, Extracted: "1918", Expected: "1918"}},
		{"date, German answer", AutoEvaluator{}, q("Radek Szabo was born on 11 March 1974."), "Er wurde am 11. März 1974 geboren.",
			Verdict{Type: "date", Correct: true, Extracted: "1974-03-11", Expected: "1974-03-11"}},
		{"money", AutoEvaluator{}, q("The Zorbix Kettle costs €12,50."), "It is 12.50 EUR.",
			Verdict{Type: "money", Correct: true, Extracted: "EUR 12.5", Expected: "EUR 12.5"}},
		{"money, wrong currency", AutoEvaluator{}, q("The Zorbix Kettle costs $69.99."), "€69.99",
			Verdict{Type: "money", Extracted: "EUR 69.99", Expected: "USD 69.99", Reason: "got EUR 69.99, want USD 69.99: currency EUR, not USD"}},
		{"percentage", AutoEvaluator{}, q("Turnout was 12%."), "twelve, or 12",
			Verdict{Type: "percentage", Expected: "12%", Reason: "no percentage in answer (found number 12)"}},
		{"quantity converted", AutoEvaluator{}, q("The Virode River is 3.2 km long."), "3200 metres",
			Verdict{Type: "quantity", Correct: true, Extracted: "3200 m", Expected: "3.2 km"}},
		{"quantity within tolerance", AutoEvaluator{RelTolerance: 0.05}, q("The Virode River is 3.2 km long."), "about 3.1 km",
			Verdict{Type: "quantity", Correct: true, Extracted: "3.1 km", Expected: "3.2 km"}},
		{"number", AutoEvaluator{}, q("City_1 has about 1967825 inhabitants."), "1,967,825",
			Verdict{Type: "number", Correct: true, Extracted: "1967825", Expected: "1967825"}},
		{"text by TextEvaluator", AutoEvaluator{}, Question{ID: "t", Text: "Who founded Tearkbour Analytics?", Gold: "Tearkbour Analytics was founded by Kexsox Houcourklend."},
			"Kexsox Houcourklend.",
			Verdict{Type: "text", Correct: true, Extracted: "kexsox houcourklend", Expected: "tearkbour analytics was founded by kexsox houcourklend", F1: 1}},
		{"text by Text", AutoEvaluator{Text: ExactEvaluator{}}, q("Kexsox Houcourklend"), "It was Kexsox Houcourklend.",
			Verdict{Type: "text", Extracted: "it was kexsox houcourklend", Expected: "kexsox houcourklend",
				Reason: `got "it was kexsox houcourklend", want "kexsox houcourklend"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.eval.CheckGold(tt.q))
			v, err := tt.eval.Evaluate(ctx, tt.q, tt.answer)
			require.NoError(t, err)
			assert.Equal(t, tt.want, v)
		})
	}
	_, err := AutoEvaluator{}.Evaluate(ctx, Question{ID: "e", Gold: "!!"}, "x")
	require.EqualError(t, err, `ragvsft: question e: gold answer "!!" has no words after normalization`)
	_, err = AutoEvaluator{RelTolerance: -1}.Evaluate(ctx, q("1918"), "1918")
	require.ErrorContains(t, err, "RelTolerance must be >= 0")
}

func TestTextEvaluator(t *testing.T) {
	ctx := context.Background()
	founder := Question{ID: "f", Text: "Who founded Tearkbour Analytics?", Gold: "Tearkbour Analytics was founded by Kexsox Houcourklend."}
	hq := Question{ID: "h", Text: "Where is Tearkbour Analytics headquartered?", Gold: "Tearkbour Analytics is based in Lake Saxmai."}
	sku := Question{ID: "s", Text: "What is the SKU of the Zorbix Kettle?", Gold: "The SKU of the Zorbix Kettle is ZK-4821-B."}
	tests := []struct {
		name    string
		eval    TextEvaluator
		q       Question
		answer  string
		correct bool
		f1      float64
		reason  string
	}{
		{"exact match", TextEvaluator{}, founder, "tearkbour analytics WAS founded by Kexsox Houcourklend", true, 1, ""},
		{"core span", TextEvaluator{}, founder, "It was Kexsox Houcourklend, I think.", true, 2.0 / 3, ""}, // F1 counts "i think"
		{"whole gold inside", TextEvaluator{}, sku, "Sure: the SKU of the Zorbix Kettle is ZK-4821-B!", true, 2.0 / 3, ""},
		{"SKU alone", TextEvaluator{}, sku, "ZK-4821-B", true, 1, ""},
		{"wrong SKU", TextEvaluator{}, sku, "ZK-4821-C", false, 0,
			`F1 0.00 < 0.80: the answer's "zk4821c" against the gold's key "zk4821b"`},
		{"same template, other name", TextEvaluator{}, founder, "Tearkbour Analytics was founded by Kexsox Zab.", false, 0.5,
			`F1 0.50 < 0.80: the answer's "kexsox zab" against the gold's key "kexsox houcourklend"`},
		{"half a name at a low threshold", TextEvaluator{Threshold: 0.5}, founder, "Kexsox Zab", true, 0.5, ""},
		{"key alone", TextEvaluator{}, hq, "Lake Saxmai", true, 1, ""},
		{"key in a paraphrase", TextEvaluator{}, hq, "Its headquarters are in Lake Saxmai.", true, 0.8, ""}, // F1 counts "headquarters"
		{"half the key", TextEvaluator{}, hq, "It has its headquarters in Lake.", false, 0.5,
			`F1 0.50 < 0.80: the answer's "headquarters lake" against the gold's key "lake saxmai"`},
		{"another company, the right place", TextEvaluator{}, hq, "Rankearknork Labs is based in Lake Saxmai.", true, 0.4 / 0.7, ""}, // the value, not the entity, as the numeric rule
		{"abstention", TextEvaluator{}, hq, "I don't know.", false, 0,
			`F1 0.00 < 0.80: the answer's "i dont know" against the gold's key "lake saxmai"`},
		{"no question text: every word is core", TextEvaluator{}, Question{ID: "n", Gold: "Lake Saxmai"}, "saxmai", false, 2.0 / 3,
			`F1 0.67 < 0.80: the answer's "saxmai" against the gold's key "lake saxmai"`},
		{"gold all in the question: whole-text F1", TextEvaluator{}, Question{ID: "w", Text: "Is it Lake Saxmai?", Gold: "Lake Saxmai"}, "no",
			false, 0, "F1 0.00 < 0.80 against the whole gold answer"},
		{"German", TextEvaluator{}, Question{ID: "d", Text: "In welchem Land liegt Dorvingen?", Gold: "Dorvingen liegt in Österreich."},
			"Österreich.", true, 1, ""},
		{"accents are kept", TextEvaluator{}, Question{ID: "d", Text: "In welchem Land liegt Dorvingen?", Gold: "Dorvingen liegt in Österreich."},
			"Osterreich", false, 0, `F1 0.00 < 0.80: the answer's "osterreich" against the gold's key "österreich"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.eval.Evaluate(ctx, tt.q, tt.answer)
			require.NoError(t, err)
			assert.Equal(t, "text", v.Type)
			assert.Equal(t, tt.correct, v.Correct)
			assert.InDelta(t, tt.f1, v.F1, 1e-9)
			assert.Equal(t, tt.reason, v.Reason)
			assert.Equal(t, normalizedForTest(tt.q.Gold), v.Expected)
		})
	}
	for _, bad := range []float64{-0.1, 1.1, math.NaN()} {
		require.ErrorContains(t, TextEvaluator{Threshold: bad}.CheckGold(founder), "Threshold must be in [0, 1]")
	}
}

// normalizedForTest is SQuAD's normalization of the gold answers above,
// written out by hand.
func normalizedForTest(gold string) string {
	return map[string]string{
		"Tearkbour Analytics was founded by Kexsox Houcourklend.": "tearkbour analytics was founded by kexsox houcourklend",
		"Tearkbour Analytics is based in Lake Saxmai.":            "tearkbour analytics is based in lake saxmai",
		"The SKU of the Zorbix Kettle is ZK-4821-B.":              "sku of zorbix kettle is zk4821b",
		"Lake Saxmai":                    "lake saxmai",
		"Dorvingen liegt in Österreich.": "dorvingen liegt in österreich",
	}[gold]
}

func TestGoldCheckers(t *testing.T) {
	text := Question{ID: "t", Text: "Who founded X?", Gold: "X was founded by Kexsox Houcourklend."}
	numeric := Question{ID: "n", Text: "When was X founded?", Gold: "X was founded in 1918."}
	blank := Question{ID: "b", Text: "?", Gold: "…!"}
	tests := []struct {
		eval GoldChecker
		q    Question
		err  string
	}{
		{NumericEvaluator{}, numeric, ""},
		{NumericEvaluator{}, text, `gold answer "X was founded by Kexsox Houcourklend." has no number`},
		{NumericEvaluator{RelTolerance: -1}, numeric, "NumericEvaluator.RelTolerance must be >= 0, got -1"},
		{ExactEvaluator{}, text, ""},
		{ExactEvaluator{}, blank, `gold answer "…!" is empty after normalization`},
		{ContainsEvaluator{}, blank, `gold answer "…!" is empty after normalization`},
		{TextEvaluator{}, text, ""},
		{TextEvaluator{}, blank, `gold answer "…!" has no words after normalization`},
		{AutoEvaluator{}, text, ""},
		{AutoEvaluator{}, numeric, ""},
		{AutoEvaluator{}, blank, `gold answer "…!" has no words after normalization`},
		{AutoEvaluator{Text: ContainsEvaluator{}}, blank, `gold answer "…!" is empty after normalization`},
		{AutoEvaluator{RelTolerance: math.NaN()}, numeric, "AutoEvaluator.RelTolerance must be >= 0, got NaN"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T %s", tt.eval, tt.q.ID), func(t *testing.T) {
			err := tt.eval.CheckGold(tt.q)
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.err)
			// Evaluate refuses the same question, naming it.
			_, err = tt.eval.(Evaluator).Evaluate(context.Background(), tt.q, "1918")
			require.EqualError(t, err, "ragvsft: question "+tt.q.ID+": "+tt.err)
		})
	}
}

// questionSet supplies its own questions, which have no lines.
type questionSet struct {
	exampleSet
	qs []Question
}

func (s questionSet) Questions() []Question { return s.qs }

// noCheck is an Evaluator without GoldChecker: Run cannot ask it.
type noCheck struct{ NumericEvaluator }

func (noCheck) CheckGold() {} // not GoldChecker's signature

func TestCheckGolds(t *testing.T) {
	qs := []Question{{ID: "a", Text: "?", Gold: "42"}, {ID: "b", Text: "?", Gold: "Paris"}, {ID: "c", Text: "?", Gold: "Rome"}}
	ds := questionSet{qs: qs}
	err := checkGolds(NumericEvaluator{}, ds, qs)
	require.ErrorIs(t, err, ErrUnreadableGold)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, []Problem{
		{ID: "b", Message: `gold answer "Paris" has no number`},
		{ID: "c", Message: `gold answer "Rome" has no number`},
	}, ve.Problems, "questions of their own are named by id")
	assert.Equal(t, "ragvsft: the evaluator cannot score some questions' gold answers; nothing was asked (ragvsft.NumericEvaluator): "+
		"ragvsft: dataset: 2 problems:\n  id \"b\": gold answer \"Paris\" has no number\n  id \"c\": gold answer \"Rome\" has no number", err.Error())

	require.NoError(t, checkGolds(AutoEvaluator{}, ds, qs))
	require.NoError(t, checkGolds(noCheck{}, ds, qs), "an Evaluator that is no GoldChecker is not asked")
}
