package ragvsft

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// lanes is how many documents one block of a vectorIndex holds: the width
// of an AVX2 register in float32s.
const lanes = 8

// vectorIndex is a contiguous copy of a collection's vectors, searched by
// brute force near the memory-bandwidth limit.
//
// Documents are sorted by ID and stored in blocks of lanes documents,
// dimension-major within a block: block b, dimension d, lane j is at
// (b*dim+d)*lanes+j. A lane is one document's dot product, summed in
// dimension order in float32, one rounded product and one rounded sum per
// dimension, exactly as chromem's dotProduct sums it: scores are
// bit-identical to chromem's, so both rank the same documents the same way,
// while eight documents go through one vector instruction. The last block is
// padded with zero vectors, which are never reported.
//
// A vectorIndex is read-only once built, so safe for concurrent searches.
type vectorIndex struct {
	ids    []string // sorted; position is the row number
	texts  []string
	dim    int
	blocks []float32 // len = nblocks*dim*lanes
}

// scored is a row and its similarity.
type scored struct {
	score float32
	row   int32
}

// newVectorIndex copies docs (ID, text, normalized embedding) into blocks.
// All embeddings must have the same non-zero length.
func newVectorIndex(ids, texts []string, embeddings [][]float32) (*vectorIndex, error) {
	n := len(ids)
	if n == 0 {
		return &vectorIndex{}, nil
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("ragvsft: indexing: %d documents, more than %d", n, math.MaxInt32)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ids[a], ids[b]) })
	dim := len(embeddings[order[0]])
	if dim == 0 {
		return nil, fmt.Errorf("ragvsft: indexing: document %q has no vector", ids[order[0]])
	}
	ix := &vectorIndex{ids: make([]string, n), texts: make([]string, n), dim: dim}
	nblocks := (n + lanes - 1) / lanes
	ix.blocks = make([]float32, nblocks*dim*lanes)
	for row, i := range order {
		v := embeddings[i]
		if len(v) != dim {
			return nil, fmt.Errorf("ragvsft: indexing: document %q has a %d-dimensional vector, document %q %d",
				ids[i], len(v), ix.ids[0], dim)
		}
		ix.ids[row], ix.texts[row] = ids[i], texts[i]
		base, lane := (row/lanes)*dim*lanes, row%lanes
		for d, x := range v {
			ix.blocks[base+d*lanes+lane] = x
		}
	}
	return ix, nil
}

// len returns the number of documents.
func (ix *vectorIndex) len() int { return len(ix.ids) }

// nblocks returns the number of blocks, the last one maybe padded.
func (ix *vectorIndex) nblocks() int { return (len(ix.ids) + lanes - 1) / lanes }

// queryVector returns q as chromem would search with it: normalized by
// chromem's own rule when it is not of unit length already.
func queryVector(q []float32) []float32 {
	var sq float64
	for _, x := range q {
		sq += float64(x) * float64(x)
	}
	if math.Abs(math.Sqrt(sq)-1) < 1e-6 {
		return q
	}
	var norm float32
	for _, x := range q {
		norm += x * x
	}
	norm = float32(math.Sqrt(float64(norm)))
	out := make([]float32, len(q))
	for i, x := range q {
		out[i] = x / norm
	}
	return out
}

// minScanBlocks is the least work worth a goroutine of its own in search:
// about 64 KiB of vectors at 384 dimensions.
const minScanBlocks = 8

// search returns the k rows most similar to q, best first: by score, then
// by ID. It uses up to GOMAXPROCS goroutines on a large index.
func (ix *vectorIndex) search(ctx context.Context, q []float32, k int) ([]scored, error) {
	if len(q) != ix.dim {
		return nil, fmt.Errorf("the query vector has %d dimensions, the index %d", len(q), ix.dim)
	}
	if ix.len() == 0 {
		return nil, nil
	}
	q = queryVector(q)
	k = min(k, ix.len())
	nb := ix.nblocks()
	workers := max(1, min(runtime.GOMAXPROCS(0), nb*ix.dim/(minScanBlocks*384)))
	per := (nb + workers - 1) / workers
	heaps := make([]topK, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, nb)
		if lo >= hi {
			continue
		}
		heaps[w] = newTopK(k)
		scan := func() {
			out := make([]float32, scanChunk*lanes)
			for b := lo; b < hi && ctx.Err() == nil; b += scanChunk {
				e := min(b+scanChunk, hi)
				ix.scoreBlocks(q, b, e, out)
				heaps[w].addBlocks(out[:(e-b)*lanes], b*lanes, ix.len())
			}
		}
		if w == workers-1 {
			scan()
			continue
		}
		wg.Go(scan)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return mergeTopK(heaps, k), nil
}

// scanChunk is how many blocks search scores at a time between checks of
// ctx: 1,024 documents.
const scanChunk = 128

// batchQueries is how many queries share one pass over a chunk of
// documents in searchBatch.
const batchQueries = 64

// batchChunkBytes bounds the chunk of documents searchBatch keeps hot for a
// group of queries: well inside a 512 KiB-2 MiB L2 cache.
const batchChunkBytes = 256 << 10

// searchBatch returns search(q, k) for every query, scanning the documents
// once per group of batchQueries queries: each chunk of documents, small
// enough to stay in the CPU cache, is scored against every query of the
// group before the next chunk is read. Groups run on up to GOMAXPROCS
// goroutines. Results are those of search, row for row.
func (ix *vectorIndex) searchBatch(ctx context.Context, qs [][]float32, k int) ([][]scored, error) {
	for i, q := range qs {
		if len(q) != ix.dim {
			return nil, fmt.Errorf("query %d: the query vector has %d dimensions, the index %d", i, len(q), ix.dim)
		}
		qs[i] = queryVector(q)
	}
	if ix.len() == 0 {
		return make([][]scored, len(qs)), nil
	}
	k = min(k, ix.len())
	nb := ix.nblocks()
	chunk := max(1, batchChunkBytes/(ix.dim*lanes*4))
	groups := (len(qs) + batchQueries - 1) / batchQueries
	out := make([][]scored, len(qs))
	err := forEach(ctx, groups, runtime.GOMAXPROCS(0), func(g int) error {
		group := qs[g*batchQueries : min((g+1)*batchQueries, len(qs))]
		heaps := make([]topK, len(group))
		for i := range heaps {
			heaps[i] = newTopK(k)
		}
		// Four queries at a time share each document's load.
		q4 := make([]float32, 4*ix.dim)
		scores := make([]float32, 4*chunk*lanes)
		size := ix.dim * lanes
		for b := 0; b < nb; b += chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			e := min(b+chunk, nb)
			m := (e - b) * lanes
			i := 0
			for ; i+4 <= len(group); i += 4 {
				for j := range 4 {
					copy(q4[j*ix.dim:], group[i+j])
				}
				dot4Blocks(q4, ix.blocks[b*size:e*size], scores[:4*m])
				for j := range 4 {
					heaps[i+j].addBlocks(scores[j*m:(j+1)*m], b*lanes, ix.len())
				}
			}
			for ; i < len(group); i++ {
				ix.scoreBlocks(group[i], b, e, scores)
				heaps[i].addBlocks(scores[:m], b*lanes, ix.len())
			}
		}
		for i := range heaps {
			out[g*batchQueries+i] = mergeTopK(heaps[i:i+1], k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scoreBlocks writes the scores of blocks [lo, hi) against q to out, lanes
// per block.
func (ix *vectorIndex) scoreBlocks(q []float32, lo, hi int, out []float32) {
	size := ix.dim * lanes
	dotBlocks(q, ix.blocks[lo*size:hi*size], out[:(hi-lo)*lanes])
}

// dotBlocksGo is the portable kernel: out[b*lanes+j] is the dot product of
// q and document j of block b, each summed as chromem's dotProduct sums it
// (sum += a[i]*b[i], in order). The eight sums of a block are independent,
// so they overlap in the CPU.
func dotBlocksGo(q, blocks, out []float32) {
	dim := len(q)
	for b := 0; b < len(out)/lanes; b++ {
		blk := blocks[b*dim*lanes : (b+1)*dim*lanes]
		var s0, s1, s2, s3, s4, s5, s6, s7 float32
		for d, x := range q {
			v := blk[d*lanes : d*lanes+lanes : d*lanes+lanes]
			s0 += x * v[0]
			s1 += x * v[1]
			s2 += x * v[2]
			s3 += x * v[3]
			s4 += x * v[4]
			s5 += x * v[5]
			s6 += x * v[6]
			s7 += x * v[7]
		}
		o := out[b*lanes : b*lanes+lanes : b*lanes+lanes]
		o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = s0, s1, s2, s3, s4, s5, s6, s7
	}
}

// topK keeps the k best rows seen, the worst at the root.
type topK struct {
	k     int
	items []scored
}

func newTopK(k int) topK { return topK{k: k, items: make([]scored, 0, k)} }

// worse orders rows as the results do, reversed: a lower score, then a
// later row (a larger ID), is worse.
func worse(a, b scored) bool {
	return a.score < b.score || (a.score == b.score && a.row > b.row)
}

// addBlocks offers the scores of rows first, first+1, ... (ignoring the
// padding at or past n). Rows must come in increasing order, so a score
// equal to the root's is worse than it.
func (h *topK) addBlocks(scores []float32, first, n int) {
	scores = scores[:min(len(scores), n-first)]
	for i, s := range scores {
		if len(h.items) == h.k {
			if !(s > h.items[0].score) {
				continue
			}
			h.items[0] = scored{score: s, row: int32(first + i)}
			h.down(0)
			continue
		}
		h.items = append(h.items, scored{score: s, row: int32(first + i)})
		h.up(len(h.items) - 1)
	}
}

func (h *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h.items[i], h.items[p]) {
			return
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *topK) down(i int) {
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && worse(h.items[r], h.items[l]) {
			m = r
		}
		if !worse(h.items[m], h.items[i]) {
			return
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

// mergeTopK returns the k best of the heaps' rows, best first.
func mergeTopK(heaps []topK, k int) []scored {
	var all []scored
	for _, h := range heaps {
		all = append(all, h.items...)
	}
	slices.SortFunc(all, func(a, b scored) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.row, b.row))
	})
	return all[:min(k, len(all))]
}
