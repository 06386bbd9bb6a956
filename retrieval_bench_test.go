package ragvsft

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/philippgille/chromem-go"
)

// Benchmarks of issue 11, item 1 (retrieval near the memory limit). Run
//
//	go test -run '^$' -bench 'TopK|BatchSearch' -benchtime 20x -count 5 . | tee topk.txt
//
// BenchmarkTopK compares, over the same random documents, a top-5 query of
// the search copy (scan), of chromem's QueryEmbedding (chromem), and a
// streaming read of the copy's bytes on as many goroutines as the scan uses
// (bandwidth: the memory-bandwidth limit of one query); scan and chromem
// also report x-bandwidth, their time over the bandwidth read's measured
// just before. The documents are built once per size, outside the timers.

type topKFixture struct {
	coll *chromem.Collection
	ix   *vectorIndex
	qs   [][]float32
}

var topKFixtures sync.Map // "n/dim" -> func() *topKFixture

func topKSetup(b *testing.B, n, dim, queries int) *topKFixture {
	b.Helper()
	key := fmt.Sprintf("%d/%d/%d", n, dim, queries)
	f, _ := topKFixtures.LoadOrStore(key, sync.OnceValue(func() *topKFixture {
		rng := rand.New(rand.NewPCG(uint64(n), uint64(dim)))
		coll, err := chromem.NewDB().CreateCollection("bench", nil, func(context.Context, string) ([]float32, error) {
			return nil, fmt.Errorf("no embedding in this benchmark")
		})
		if err != nil {
			panic(err)
		}
		ids, texts, vecs := make([]string, n), make([]string, n), make([][]float32, n)
		docs := make([]chromem.Document, n)
		for i := range n {
			ids[i], texts[i], vecs[i] = fmt.Sprintf("doc-%06d", i), "text", randomUnit(rng, dim)
			docs[i] = chromem.Document{ID: ids[i], Content: texts[i], Embedding: vecs[i]}
		}
		if err := coll.AddDocuments(context.Background(), docs, runtime.NumCPU()); err != nil {
			panic(err)
		}
		ix, err := newVectorIndex(ids, texts, vecs)
		if err != nil {
			panic(err)
		}
		qs := make([][]float32, queries)
		for i := range qs {
			qs[i] = randomUnit(rng, dim)
		}
		return &topKFixture{coll: coll, ix: ix, qs: qs}
	}))
	return f.(func() *topKFixture)()
}

// streamRead reads every byte of v on the goroutines search would use and
// returns a sum so that the reads are not optimized away.
func streamRead(ix *vectorIndex) uint64 {
	words := unsafe.Slice((*uint64)(unsafe.Pointer(&ix.blocks[0])), len(ix.blocks)/2)
	nb := ix.nblocks()
	workers := max(1, min(runtime.GOMAXPROCS(0), nb*ix.dim/(minScanBlocks*384)))
	per := (len(words) + workers - 1) / workers
	sums := make([]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		part := words[w*per : min((w+1)*per, len(words))]
		wg.Go(func() {
			var s0, s1, s2, s3 uint64
			i := 0
			for ; i+4 <= len(part); i += 4 {
				s0 += part[i]
				s1 += part[i+1]
				s2 += part[i+2]
				s3 += part[i+3]
			}
			for ; i < len(part); i++ {
				s0 += part[i]
			}
			sums[w] = s0 + s1 + s2 + s3
		})
	}
	wg.Wait()
	var s uint64
	for _, x := range sums {
		s += x
	}
	return s
}

var sink uint64

// bandwidthTime measures one streaming read of ix's bytes in ns: the best
// of 20.
func bandwidthTime(ix *vectorIndex) float64 {
	best := time.Duration(0)
	for range 20 {
		start := time.Now()
		sink += streamRead(ix)
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
	}
	return float64(best.Nanoseconds())
}

func BenchmarkTopK(b *testing.B) {
	for _, size := range []struct{ n, dim int }{{10_000, 384}, {10_000, 1536}, {100_000, 384}, {100_000, 1536}} {
		name := fmt.Sprintf("n=%d/dim=%d", size.n, size.dim)
		fixture := func(b *testing.B) *topKFixture {
			f := topKSetup(b, size.n, size.dim, 16)
			b.SetBytes(int64(len(f.ix.blocks) * 4))
			return f
		}
		b.Run(name+"/bandwidth", func(b *testing.B) {
			f := fixture(b)
			b.ResetTimer()
			for b.Loop() {
				sink += streamRead(f.ix)
			}
		})
		for _, c := range []struct {
			name  string
			query func(f *topKFixture, q []float32) error
		}{
			{"scan", func(f *topKFixture, q []float32) error {
				_, err := f.ix.search(context.Background(), q, 5)
				return err
			}},
			{"chromem", func(f *topKFixture, q []float32) error {
				_, err := f.coll.QueryEmbedding(context.Background(), q, 5, nil, nil)
				return err
			}},
		} {
			b.Run(name+"/"+c.name, func(b *testing.B) {
				f := fixture(b)
				limit := bandwidthTime(f.ix)
				i := 0
				b.ResetTimer()
				for b.Loop() {
					if err := c.query(f, f.qs[i%len(f.qs)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/limit, "x-bandwidth")
			})
		}
	}
}

// BenchmarkBatchSearch: top-5 for 10,000 queries over 10,000 documents,
// one search per query (as the Experiment did, on all cores) against one
// searchBatch call. Run it with -benchtime 1x: one op is all 10,000 queries.
func BenchmarkBatchSearch(b *testing.B) {
	for _, dim := range []int{384, 1536} {
		f := topKSetup(b, 10_000, dim, 10_000)
		b.Run(fmt.Sprintf("dim=%d/per-query", dim), func(b *testing.B) {
			for b.Loop() {
				err := forEach(context.Background(), len(f.qs), runtime.GOMAXPROCS(0), func(i int) error {
					_, err := f.ix.search(context.Background(), f.qs[i], 5)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(f.qs))*float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
		b.Run(fmt.Sprintf("dim=%d/batch", dim), func(b *testing.B) {
			for b.Loop() {
				if _, err := f.ix.searchBatch(context.Background(), f.qs, 5); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(f.qs))*float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}
