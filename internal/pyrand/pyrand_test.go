package pyrand

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The expected values were printed by CPython 3.11:
// random.seed(42); [random.randint(100000, 10000000) for _ in range(5)]
// random.seed(42); [random.getrandbits(32) for _ in range(3)]
func TestMatchesCPython(t *testing.T) {
	r := New(42)
	got := []int64{}
	for range 5 {
		got = append(got, r.Randint(100000, 10000000))
	}
	assert.Equal(t, []int64{1967825, 519610, 4714226, 4208603, 3844854}, got)

	r = New(42)
	assert.Equal(t, []uint32{2746317213, 478163327, 107420369}, []uint32{r.Uint32(), r.Uint32(), r.Uint32()})
}

func TestOtherSeeds(t *testing.T) {
	tests := []struct {
		seed int64
		want []int64
	}{
		{0, []int64{6, 6, 0}},
		{-42, []int64{1, 0, 4}},
		{1 << 40, []int64{1, 5, 1}},
	}
	for _, tt := range tests {
		r := New(tt.seed)
		got := []int64{r.Randint(0, 9), r.Randint(0, 9), r.Randint(0, 9)}
		assert.Equal(t, tt.want, got, "seed %d", tt.seed)
	}
}
