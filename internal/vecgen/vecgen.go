// Package vecgen makes clustered unit vectors, the shape of real text
// embeddings (documents on a few topics lie near each other), for the tests
// and benchmarks of vector search. Uniform random vectors would be the
// easy case for an approximate index: in high dimension they are all about
// equally far apart, so there are no near neighbours to tell apart.
package vecgen

import (
	"math"
	"math/rand/v2"
)

// Clustered returns n unit vectors of dims dimensions around clusters
// random centres, each a centre plus Gaussian noise of standard deviation
// spread per dimension (relative to the centre's unit length), then
// normalized. The same arguments give the same vectors.
func Clustered(n, dims, clusters int, spread float64, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	centres := make([][]float64, clusters)
	for c := range centres {
		centres[c] = make([]float64, dims)
		for i := range centres[c] {
			centres[c][i] = rng.NormFloat64()
		}
		normalize(centres[c])
	}
	out := make([][]float32, n)
	v := make([]float64, dims)
	for j := range out {
		c := centres[rng.IntN(clusters)]
		for i := range v {
			v[i] = c[i] + spread*rng.NormFloat64()
		}
		normalize(v)
		out[j] = make([]float32, dims)
		for i, x := range v {
			out[j][i] = float32(x)
		}
	}
	return out
}

func normalize(v []float64) {
	var s float64
	for _, x := range v {
		s += x * x
	}
	s = math.Sqrt(s)
	for i := range v {
		v[i] /= s
	}
}
