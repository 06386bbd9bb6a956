//go:build !amd64

package ragvsft

// dotBlocks writes to out the dot products of q with the documents of
// blocks (len(out)/lanes blocks).
func dotBlocks(q, blocks, out []float32) { dotBlocksGo(q, blocks, out) }
