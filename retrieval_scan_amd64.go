package ragvsft

import (
	"math/rand/v2"
	"slices"
	"sync"

	"golang.org/x/sys/cpu"
)

// dotBlocksAVX2 is dotBlocksGo in AVX2: each lane of a register is one
// document's sum, VMULPS then VADDPS per dimension, so each sum is rounded
// exactly as the Go loop rounds it (no fused multiply-add).
//
//go:noescape
func dotBlocksAVX2(q *float32, dim int, blocks *float32, nblocks int, out *float32)

// dot4BlocksAVX2 scores four queries, stored one after the other in q,
// against npairs pairs of blocks; query i's scores go to out+i*ostride. The
// sums are rounded as in dotBlocksAVX2.
//
//go:noescape
func dot4BlocksAVX2(q *float32, dim int, blocks *float32, npairs int, out *float32, ostride int)

// useAVX2 reports whether the AVX2 kernel may be used: the CPU has it, and
// it gives bit for bit what dotBlocksGo gives as compiled here (a build
// that fuses multiply-adds, GOAMD64=v3, would not match), checked once.
var useAVX2 = sync.OnceValue(func() bool {
	if !cpu.X86.HasAVX2 {
		return false
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dim := range []int{1, 3, 17, 384} {
		q := make([]float32, dim)
		for i := range q {
			q[i] = float32(rng.NormFloat64())
		}
		const nb = 6 // one group of four blocks and two single ones
		blocks := make([]float32, nb*dim*lanes)
		for i := range blocks {
			blocks[i] = float32(rng.NormFloat64())
		}
		want, got := make([]float32, nb*lanes), make([]float32, nb*lanes)
		dotBlocksGo(q, blocks, want)
		dotBlocksAVX2(&q[0], dim, &blocks[0], nb, &got[0])
		if !slices.Equal(want, got) {
			return false
		}
		q4 := slices.Concat(q, q, q, q)
		got4 := make([]float32, 4*nb*lanes)
		dot4BlocksAVX2(&q4[0], dim, &blocks[0], nb/2, &got4[0], nb*lanes)
		for i := range 4 {
			if !slices.Equal(want[:nb/2*2*lanes], got4[i*nb*lanes:i*nb*lanes+nb/2*2*lanes]) {
				return false
			}
		}
	}
	return true
})

// dotBlocks writes to out the dot products of q with the documents of
// blocks (len(out)/lanes blocks).
func dotBlocks(q, blocks, out []float32) {
	nb := len(out) / lanes
	if nb == 0 || len(q) == 0 {
		return
	}
	_ = blocks[nb*len(q)*lanes-1]
	if useAVX2() {
		dotBlocksAVX2(&q[0], len(q), &blocks[0], nb, &out[0])
		return
	}
	dotBlocksGo(q, blocks, out)
}

// dot4Blocks writes to out the dot products of four queries, stored one
// after the other in q4, with the documents of blocks: query i's scores at
// out[i*m : (i+1)*m], m = len(out)/4, as dotBlocks would write them, but
// reading each document once for the four.
func dot4Blocks(q4, blocks, out []float32) {
	dim, m := len(q4)/4, len(out)/4
	nb := m / lanes
	if nb == 0 || dim == 0 {
		return
	}
	_ = blocks[nb*dim*lanes-1]
	pairs := 0
	if useAVX2() {
		pairs = nb / 2
		if pairs > 0 {
			dot4BlocksAVX2(&q4[0], dim, &blocks[0], pairs, &out[0], m)
		}
	}
	if done := pairs * 2; done < nb {
		for i := range 4 {
			dotBlocks(q4[i*dim:(i+1)*dim], blocks[done*dim*lanes:], out[i*m+done*lanes:(i+1)*m])
		}
	}
}
