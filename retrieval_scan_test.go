package ragvsft

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/philippgille/chromem-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomUnit returns a random unit vector.
func randomUnit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var s float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		s += x * x
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(s))
	}
	return v
}

// chromemTop is the reference: chromem's own exhaustive query over every
// document, in chromem's similarities, ordered by similarity, then ID.
func chromemTop(t *testing.T, coll *chromem.Collection, q []float32, k int) []scoredID {
	t.Helper()
	res, err := coll.QueryEmbedding(context.Background(), q, coll.Count(), nil, nil)
	require.NoError(t, err)
	slices.SortStableFunc(res, func(a, b chromem.Result) int {
		return cmp.Or(cmp.Compare(b.Similarity, a.Similarity), cmp.Compare(a.ID, b.ID))
	})
	out := make([]scoredID, 0, k)
	for _, r := range res[:min(k, len(res))] {
		out = append(out, scoredID{r.ID, r.Similarity})
	}
	return out
}

type scoredID struct {
	id    string
	score float32
}

func (ix *vectorIndex) named(res []scored) []scoredID {
	out := make([]scoredID, len(res))
	for i, r := range res {
		out[i] = scoredID{ix.ids[r.row], r.score}
	}
	return out
}

// randomCollection builds a chromem collection and a vectorIndex of the same
// n random documents; dup documents repeat earlier vectors, for ties.
func randomCollection(t *testing.T, rng *rand.Rand, n, dim, dup int) (*chromem.Collection, *vectorIndex, [][]float32) {
	t.Helper()
	coll, err := chromem.NewDB().CreateCollection("c", nil, func(context.Context, string) ([]float32, error) {
		return nil, fmt.Errorf("no embedding in this test")
	})
	require.NoError(t, err)
	ids, texts, vecs := make([]string, n), make([]string, n), make([][]float32, n)
	docs := make([]chromem.Document, n)
	for i := range n {
		// IDs in an order unlike insertion, so sorting by ID matters.
		ids[i] = fmt.Sprintf("doc-%04d", (i*7919)%n)
		texts[i] = "text of " + ids[i]
		if i < dup {
			vecs[i] = vecs[rng.IntN(i+1)/2]
		}
		if vecs[i] == nil {
			vecs[i] = randomUnit(rng, dim)
		}
		docs[i] = chromem.Document{ID: ids[i], Content: texts[i], Embedding: vecs[i]}
	}
	require.NoError(t, coll.AddDocuments(context.Background(), docs, 2))
	// The copy is made of what chromem stores, as ChromemRetriever does.
	stored := make([][]float32, n)
	for i, id := range ids {
		d, err := coll.GetByID(context.Background(), id)
		require.NoError(t, err)
		stored[i] = d.Embedding
	}
	ix, err := newVectorIndex(ids, texts, stored)
	require.NoError(t, err)
	return coll, ix, vecs
}

// The scan returns what chromem's Query returns: the same IDs, in the same
// order, with bit-identical similarities, for several k, k > n, ties
// (repeated vectors) and dimensions that do not fill a register.
func TestVectorIndexMatchesChromem(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n, dim, dup int
	}{
		{1, 3, 0}, {7, 5, 0}, {9, 384, 4}, {100, 17, 30}, {1000, 64, 200}, {3001, 384, 0},
	} {
		t.Run(fmt.Sprintf("n=%d,dim=%d,dup=%d", c.n, c.dim, c.dup), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(c.n), uint64(c.dim)))
			coll, ix, vecs := randomCollection(t, rng, c.n, c.dim, c.dup)
			require.Equal(t, c.n, ix.len())
			queries := [][]float32{randomUnit(rng, c.dim), randomUnit(rng, c.dim), vecs[0], vecs[c.n-1]}
			// A query of a document's vector scaled: chromem normalizes it.
			scaled := slices.Clone(vecs[c.n/2])
			for i := range scaled {
				scaled[i] *= 3
			}
			queries = append(queries, scaled)
			for _, k := range []int{1, 2, 5, 8, 33, c.n, c.n + 5} {
				var batch [][]float32
				for qi, q := range queries {
					want := chromemTop(t, coll, q, k)
					got, err := ix.search(context.Background(), slices.Clone(q), k)
					require.NoError(t, err)
					require.Equal(t, want, ix.named(got), "query %d, k=%d", qi, k)
					batch = append(batch, slices.Clone(q))
				}
				all, err := ix.searchBatch(context.Background(), batch, k)
				require.NoError(t, err)
				require.Len(t, all, len(queries))
				for qi, q := range queries {
					assert.Equal(t, chromemTop(t, coll, q, k), ix.named(all[qi]), "batch query %d, k=%d", qi, k)
				}
			}
		})
	}
}

// The AVX2 kernel, where it runs, gives the portable kernel's bits.
func TestDotBlocksKernels(t *testing.T) {
	t.Parallel()
	t.Logf("AVX2 kernel in use: %v", useAVX2())
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dim := range []int{1, 2, 7, 8, 100, 1536} {
		for _, nb := range []int{1, 3, 4, 5, 9} {
			q := randomUnit(rng, dim)
			blocks := make([]float32, nb*dim*lanes)
			for i := range blocks {
				blocks[i] = float32(rng.NormFloat64())
			}
			want, got := make([]float32, nb*lanes), make([]float32, nb*lanes)
			dotBlocksGo(q, blocks, want)
			dotBlocks(q, blocks, got)
			require.Equal(t, want, got, "dim=%d blocks=%d", dim, nb)
			// Four queries at once: each as on its own.
			qs := [][]float32{q, randomUnit(rng, dim), randomUnit(rng, dim), randomUnit(rng, dim)}
			got4 := make([]float32, 4*nb*lanes)
			dot4Blocks(slices.Concat(qs...), blocks, got4)
			for i, qi := range qs {
				one := make([]float32, nb*lanes)
				dotBlocksGo(qi, blocks, one)
				require.Equal(t, one, got4[i*nb*lanes:(i+1)*nb*lanes], "dim=%d blocks=%d query %d", dim, nb, i)
			}
			// And the portable kernel is chromem's sum, lane by lane.
			for j := range nb * lanes {
				b, lane := j/lanes, j%lanes
				var s float32
				for d := range dim {
					s += q[d] * blocks[(b*dim+d)*lanes+lane]
				}
				require.Equal(t, s, want[j])
			}
		}
	}
}

func TestVectorIndexErrors(t *testing.T) {
	t.Parallel()
	_, err := newVectorIndex([]string{"a", "b"}, []string{"x", "y"}, [][]float32{{1, 0}, {1, 0, 0}})
	require.ErrorContains(t, err, "3-dimensional vector")
	ix, err := newVectorIndex([]string{"a"}, []string{"x"}, [][]float32{{1, 0}})
	require.NoError(t, err)
	_, err = ix.search(context.Background(), []float32{1, 0, 0}, 1)
	require.ErrorContains(t, err, "3 dimensions, the index 2")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ix.search(ctx, []float32{1, 0}, 1)
	require.ErrorIs(t, err, context.Canceled)
	_, err = ix.searchBatch(ctx, [][]float32{{1, 0}}, 1)
	require.ErrorIs(t, err, context.Canceled)
}
