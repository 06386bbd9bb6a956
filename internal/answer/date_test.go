package answer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hasYear is an exact filter: text without a run of exactly four digits
// matches no date pattern, and text with a date has one.
func TestHasYearIsExact(t *testing.T) {
	texts := []string{
		"Radek Szabo was born on 11 March 1974.", "1905-03-11", "11.03.1905", "11/03/1905", "March 1905",
		"am 23. Mai 1905", "le 1er mars 1905", "11 de marzo de 1905", "City_17 has about 1967825 inhabitants.",
		"City_1234 has about 519610 inhabitants.", "12345-03-11", "1905", "x1905", "19051", "", "no digits at all",
		"It costs $69.99, weighs 1,2 kg and is 12% off since 1918.",
	}
	// Every line of the knowledge bases of testdata.
	files, err := filepath.Glob("../../testdata/*.jsonl")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		texts = append(texts, strings.Split(string(b), "\n")...)
	}
	withYear, dated := 0, 0
	for _, s := range texts {
		if hasYear(s) {
			withYear++
			continue
		}
		for _, p := range datePatterns {
			assert.Empty(t, p.re.FindAllStringIndex(s, -1), "%q has no four-digit run but a date", s)
		}
	}
	for _, s := range texts {
		if len(findDates(s)) > 0 {
			dated++
			assert.True(t, hasYear(s), s)
		}
	}
	t.Logf("%d texts, %d with a four-digit run, %d with a date", len(texts), withYear, dated)
	assert.Positive(t, dated)
	assert.Less(t, withYear, len(texts))
}

// Five retrieved passages of the cities, as the local reader scans them:
// the filter against the patterns alone.
func BenchmarkFindDatesPassage(b *testing.B) {
	passage := strings.Repeat("City_17 has about 1967825 inhabitants. ", 5)
	b.Run("filtered", func(b *testing.B) {
		for b.Loop() {
			findDates(passage)
		}
	})
	b.Run("patterns", func(b *testing.B) {
		for b.Loop() {
			matchDates(passage)
		}
	})
}

// The filter never changes what findDates finds.
func FuzzFindDatesFilter(f *testing.F) {
	for _, s := range []string{"11 March 1974", "1905-03-11", "City_1234 has 12345 people", "11.03.1905.", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := findDates(s), matchDates(s); !reflect.DeepEqual(got, want) {
			t.Fatalf("findDates(%q) = %v, the patterns alone %v", s, got, want)
		}
	})
}
