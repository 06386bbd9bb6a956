// Package pyrand reproduces the integer streams of CPython's random module
// (the MT19937 generator, random.seed with an int, getrandbits and randint),
// so ragvsft can regenerate the article's data set byte for byte instead of
// shipping its numbers.
package pyrand

const (
	n         = 624
	m         = 397
	matrixA   = 0x9908b0df
	upperMask = 0x80000000
	lowerMask = 0x7fffffff
)

// Rand is CPython's random.Random for integer output. The zero value is not
// usable; call New. Not safe for concurrent use.
type Rand struct {
	mt  [n]uint32
	mti int
}

// New returns a generator seeded as CPython's random.seed(seed) seeds one.
func New(seed int64) *Rand {
	r := &Rand{}
	r.Seed(seed)
	return r
}

// Seed reseeds as random.seed(seed): CPython uses init_by_array with the
// absolute value of the seed split into 32-bit words, least significant first.
func (r *Rand) Seed(seed int64) {
	u := uint64(seed)
	if seed < 0 {
		u = uint64(-seed)
	}
	key := []uint32{uint32(u)}
	if hi := uint32(u >> 32); hi != 0 {
		key = append(key, hi)
	}
	r.initByArray(key)
}

func (r *Rand) initGenrand(s uint32) {
	r.mt[0] = s
	for i := 1; i < n; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.mti = n
}

func (r *Rand) initByArray(key []uint32) {
	r.initGenrand(19650218)
	i, j := 1, 0
	k := max(n, len(key))
	for ; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= n {
			r.mt[0] = r.mt[n-1]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k = n - 1; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= n {
			r.mt[0] = r.mt[n-1]
			i = 1
		}
	}
	r.mt[0] = 0x80000000
}

// Uint32 returns the next 32-bit output of MT19937 (genrand_uint32).
func (r *Rand) Uint32() uint32 {
	if r.mti >= n {
		for kk := 0; kk < n; kk++ {
			y := (r.mt[kk] & upperMask) | (r.mt[(kk+1)%n] & lowerMask)
			v := r.mt[(kk+m)%n] ^ (y >> 1)
			if y&1 != 0 {
				v ^= matrixA
			}
			r.mt[kk] = v
		}
		r.mti = 0
	}
	y := r.mt[r.mti]
	r.mti++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Getrandbits returns a non-negative int with k random bits, 0 < k <= 63,
// drawing words as CPython does (least significant word first).
func (r *Rand) Getrandbits(k int) uint64 {
	if k <= 32 {
		return uint64(r.Uint32() >> (32 - k))
	}
	lo := uint64(r.Uint32())
	hi := uint64(r.Uint32() >> (64 - k))
	return hi<<32 | lo
}

// Randint returns an int in [a, b] as random.randint(a, b) does: rejection
// sampling on getrandbits(bit_length(b-a+1)). It panics if b < a, like
// CPython raises ValueError; callers pass constants.
func (r *Rand) Randint(a, b int64) int64 {
	if b < a {
		panic("pyrand: empty range for Randint")
	}
	span := uint64(b-a) + 1
	k := bitLength(span)
	v := r.Getrandbits(k)
	for v >= span {
		v = r.Getrandbits(k)
	}
	return a + int64(v)
}

func bitLength(x uint64) int {
	l := 0
	for x != 0 {
		l++
		x >>= 1
	}
	return l
}
