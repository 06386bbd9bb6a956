#include "textflag.h"

// func dotBlocksAVX2(q *float32, dim int, blocks *float32, nblocks int, out *float32)
//
// Four blocks at a time (four independent chains of additions), then one
// at a time. Per dimension: broadcast q[d], multiply by the block's eight
// values, add to the block's eight sums.
TEXT ·dotBlocksAVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), SI
	MOVQ dim+8(FP), CX
	MOVQ blocks+16(FP), DI
	MOVQ nblocks+24(FP), BX
	MOVQ out+32(FP), DX
	MOVQ CX, R8
	SHLQ $5, R8 // one block: dim*8 float32s = dim*32 bytes

four:
	CMPQ BX, $4
	JLT  one
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, R9
	MOVQ DI, R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	MOVQ CX, R14

fourloop:
	VBROADCASTSS (R9), Y4
	VMULPS (R10), Y4, Y5
	VADDPS Y5, Y0, Y0
	VMULPS (R11), Y4, Y6
	VADDPS Y6, Y1, Y1
	VMULPS (R12), Y4, Y7
	VADDPS Y7, Y2, Y2
	VMULPS (R13), Y4, Y8
	VADDPS Y8, Y3, Y3
	ADDQ $4, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, R13
	DECQ R14
	JNZ  fourloop

	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	ADDQ $128, DX
	LEAQ (DI)(R8*4), DI
	SUBQ $4, BX
	JMP  four

one:
	TESTQ BX, BX
	JZ    done
	VXORPS Y0, Y0, Y0
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ CX, R14

oneloop:
	VBROADCASTSS (R9), Y4
	VMULPS (R10), Y4, Y5
	VADDPS Y5, Y0, Y0
	ADDQ $4, R9
	ADDQ $32, R10
	DECQ R14
	JNZ  oneloop

	VMOVUPS Y0, (DX)
	ADDQ $32, DX
	ADDQ R8, DI
	DECQ BX
	JMP  one

done:
	VZEROUPPER
	RET
