package ragvsft

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// citiesSHA256 is the digest of the article's file as its Python code writes
// it (random.seed(42), json.dumps per line, "\n".join), computed with CPython 3.11.
const citiesSHA256 = "22b811db6dcfb1cafbb5c397881138a0a0f1e9e75657dc8e076ec2f4bf5b710f"

func TestCitiesJSONLIsTheArticlesFile(t *testing.T) {
	data := CitiesJSONL(CitiesCount, CitiesSeed)
	sum := sha256.Sum256(data)
	assert.Equal(t, citiesSHA256, hex.EncodeToString(sum[:]))

	lines := strings.Split(string(data), "\n")
	require.Len(t, lines, 100)
	assert.False(t, strings.HasSuffix(string(data), "\n"), "no newline after the last line")
	assert.Equal(t, `{"messages": [{"role": "system", "content": "You're a helpful assistant"}, {"role": "user", "content": "What is the population of City_1?"}, {"role": "assistant", "content": "City_1 has about 1967825 inhabitants."}]}`, lines[0])
	assert.Contains(t, lines[1], "City_2 has about 519610 inhabitants.")
	assert.Contains(t, lines[2], "City_3 has about 4714226 inhabitants.")
}

func TestCitiesJSONLSizes(t *testing.T) {
	assert.Empty(t, CitiesJSONL(0, CitiesSeed))
	assert.Equal(t, CitiesJSONL(100, CitiesSeed)[:len(CitiesJSONL(10, CitiesSeed))], CitiesJSONL(10, CitiesSeed),
		"a prefix of the cities is the same cities")
	assert.NotEqual(t, CitiesJSONL(10, 1), CitiesJSONL(10, CitiesSeed))
}
