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

// func dot4BlocksAVX2(q *float32, dim int, blocks *float32, npairs int, out *float32, ostride int)
//
// Four queries (contiguous, dim float32s apart) against pairs of blocks:
// eight independent sums per dimension, each document's vector loaded once
// for the four queries. out holds query i's scores at out+i*ostride floats.
TEXT ·dot4BlocksAVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ dim+8(FP), CX
	MOVQ blocks+16(FP), BX
	MOVQ npairs+24(FP), R13
	MOVQ out+32(FP), DX
	MOVQ ostride+40(FP), DI
	SHLQ $2, DI // bytes
	MOVQ CX, R8
	SHLQ $2, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	SHLQ $3, R8 // one block: dim*32 bytes

pair:
	TESTQ R13, R13
	JZ    pairdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ BX, R12
	XORQ AX, AX
	MOVQ CX, R14

pairloop:
	VMOVUPS (R12), Y8
	VMOVUPS (R12)(R8*1), Y9
	VBROADCASTSS (SI)(AX*1), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y0, Y0
	VMULPS Y9, Y10, Y12
	VADDPS Y12, Y1, Y1
	VBROADCASTSS (R9)(AX*1), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y2, Y2
	VMULPS Y9, Y10, Y12
	VADDPS Y12, Y3, Y3
	VBROADCASTSS (R10)(AX*1), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y4, Y4
	VMULPS Y9, Y10, Y12
	VADDPS Y12, Y5, Y5
	VBROADCASTSS (R11)(AX*1), Y10
	VMULPS Y8, Y10, Y11
	VADDPS Y11, Y6, Y6
	VMULPS Y9, Y10, Y12
	VADDPS Y12, Y7, Y7
	ADDQ $4, AX
	ADDQ $32, R12
	DECQ R14
	JNZ  pairloop

	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (DX)(DI*1)
	VMOVUPS Y3, 32(DX)(DI*1)
	VMOVUPS Y4, (DX)(DI*2)
	VMOVUPS Y5, 32(DX)(DI*2)
	LEAQ (DX)(DI*2), R15
	ADDQ DI, R15
	VMOVUPS Y6, (R15)
	VMOVUPS Y7, 32(R15)
	ADDQ $64, DX
	LEAQ (BX)(R8*2), BX
	DECQ R13
	JMP  pair

pairdone:
	VZEROUPPER
	RET
