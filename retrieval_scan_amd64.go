package ragvsft

import (
	"math/rand/v2"
	"sync"

	"golang.org/x/sys/cpu"
)

// dotBlocksAVX2 is dotBlocksGo in AVX2: each lane of a register is one
// document's sum, VMULPS then VADDPS per dimension, so each sum is rounded
// exactly as the Go loop rounds it (no fused multiply-add).
//
//go:noescape
func dotBlocksAVX2(q *float32, dim int, blocks *float32, nblocks int, out *float32)

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
		for i := range want {
			if want[i] != got[i] {
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
