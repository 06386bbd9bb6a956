package ragvsft

import (
	"bytes"
	"fmt"

	"github.com/ragvsft/ragvsft/internal/pyrand"
)

// The article's data set: fake cities whose populations no model can know.
const (
	// CitiesSeed is the seed the article passed to Python's random.seed.
	CitiesSeed = 42
	// CitiesCount is the number of cities in the article.
	CitiesCount = 100

	citiesMinPopulation = 100000
	citiesMaxPopulation = 10000000
)

// CitiesJSONL returns the article's training file for n cities: one OpenAI
// chat fine-tuning line per city i = 1..n, with system "You're a helpful
// assistant", user "What is the population of City_{i}?" and assistant
// "City_{i} has about {N} inhabitants.", where N is the i-th
// random.randint(100000, 10000000) after random.seed(seed). Lines are
// written as Python's json.dumps writes them and joined by "\n" with no
// newline after the last, so CitiesJSONL(100, 42) is byte for byte the
// article's file. The numbers are generated, not shipped: this reimplements
// CPython's Mersenne Twister (internal/pyrand).
func CitiesJSONL(n int, seed int64) []byte {
	r := pyrand.New(seed)
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		pop := r.Randint(citiesMinPopulation, citiesMaxPopulation)
		if i > 1 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, `{"messages": [{"role": "system", "content": "You're a helpful assistant"}, `+
			`{"role": "user", "content": "What is the population of City_%d?"}, `+
			`{"role": "assistant", "content": "City_%d has about %d inhabitants."}]}`, i, i, pop)
	}
	return b.Bytes()
}
