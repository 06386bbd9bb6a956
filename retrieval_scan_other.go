//go:build !amd64

package ragvsft

// dotBlocks writes to out the dot products of q with the documents of
// blocks (len(out)/lanes blocks).
func dotBlocks(q, blocks, out []float32) { dotBlocksGo(q, blocks, out) }

// dot4Blocks writes to out the dot products of four queries, stored one
// after the other in q4, with the documents of blocks: query i's scores at
// out[i*m : (i+1)*m], m = len(out)/4.
func dot4Blocks(q4, blocks, out []float32) {
	dim, m := len(q4)/4, len(out)/4
	for i := range 4 {
		dotBlocksGo(q4[i*dim:(i+1)*dim], blocks, out[i*m:(i+1)*m])
	}
}
