package localmodel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"unicode/utf8"
)

// The on-disk format of a Model, version 3. All integers are little-endian.
//
//	magic     8 bytes  "RVSFTLM\n"
//	version   uint32   3
//	name      string   the model's name (may be empty)
//	gate      float64  (IEEE 754 bits) Header.MinConfidence, finite, in [0, 1]
//	V         uint32   vocabulary size; 0 only for the empty model
//	vocab     V strings, entry 0 is End
//	D         uint32   dense weight rows, D*V <= MaxWeights
//	dense     D*V float32 (IEEE 754 bits), row after row
//	S         uint32   sparse weight rows (rows D, D+1, ...)
//	sparse    S times: uint32 n <= V, then n times (uint32 token < V,
//	          float32 weight), tokens strictly increasing
//	F         uint32   features
//	features  F times (uint64 feature hash, uint32 row index < D+S),
//	          hashes strictly increasing
//	C         uint32   copy weights
//	copy      C times (uint64 feature hash, float32 weight), hashes strictly
//	          increasing
//	crc       uint32   CRC-32 (IEEE) of every byte before it
//
// Versions 1 (before the copy mechanism and grouped digits) and 2 (before
// names were cut into pieces and rows could be sparse) are refused: their
// weights mean nothing to this model.
//
// A string is a uint32 byte length followed by that many bytes of UTF-8.
// Features that share a row in memory share it in the file, so a file is
// about 4*D*V bytes plus 8 per sparse entry. Nothing may follow the
// checksum.
const (
	fileMagic   = "RVSFTLM\n"
	fileVersion = 3
	// maxString bounds a token or name, so a corrupt length cannot
	// allocate gigabytes.
	maxString = 1 << 20
)

// ErrBadFile reports a file that is not a Model written by Save, or one
// that is damaged.
var ErrBadFile = errors.New("localmodel: not a valid local model file")

// Header is what a file stores beside the weights.
type Header struct {
	// Name is the model's name; it may be empty.
	Name string
	// MinConfidence is the abstention threshold of the model's user (0:
	// none); the Model itself does not use it.
	MinConfidence float64
}

// Save writes m, with h, in the format described above. Saving the same
// model twice gives the same bytes.
func (m *Model) Save(w io.Writer, h Header) error {
	bw := bufio.NewWriter(w)
	crc := crc32.NewIEEE()
	out := io.MultiWriter(bw, crc)
	var buf [12]byte
	u32 := func(v uint32) {
		binary.LittleEndian.PutUint32(buf[:4], v)
		out.Write(buf[:4])
	}
	str := func(s string) {
		u32(uint32(len(s)))
		io.WriteString(out, s)
	}
	out.Write([]byte(fileMagic))
	u32(fileVersion)
	str(h.Name)
	binary.LittleEndian.PutUint64(buf[:8], math.Float64bits(h.MinConfidence))
	out.Write(buf[:8])
	if m.Empty() {
		u32(0) // V
		u32(0) // D
		u32(0) // S
		u32(0) // F
		u32(0) // C
	} else {
		feats := make([]uint64, 0, len(m.rows))
		for f := range m.rows {
			feats = append(feats, f)
		}
		slices.Sort(feats)
		u32(uint32(len(m.vocab)))
		for _, t := range m.vocab {
			str(t)
		}
		u32(uint32(m.w.denseRows()))
		for _, v := range m.w.dense {
			u32(math.Float32bits(v))
		}
		S := max(len(m.w.start)-1, 0)
		u32(uint32(S))
		for r := range S {
			lo, hi := m.w.start[r], m.w.start[r+1]
			u32(uint32(hi - lo))
			for k := lo; k < hi; k++ {
				binary.LittleEndian.PutUint32(buf[:4], uint32(m.w.tok[k]))
				binary.LittleEndian.PutUint32(buf[4:8], math.Float32bits(m.w.w[k]))
				out.Write(buf[:8])
			}
		}
		u32(uint32(len(feats)))
		for _, f := range feats {
			binary.LittleEndian.PutUint64(buf[:8], f)
			binary.LittleEndian.PutUint32(buf[8:12], uint32(m.rows[f]))
			out.Write(buf[:12])
		}
		cfs := make([]uint64, 0, len(m.copy))
		for f := range m.copy {
			cfs = append(cfs, f)
		}
		slices.Sort(cfs)
		u32(uint32(len(cfs)))
		for _, f := range cfs {
			binary.LittleEndian.PutUint64(buf[:8], f)
			binary.LittleEndian.PutUint32(buf[8:12], math.Float32bits(m.copy[f]))
			out.Write(buf[:12])
		}
	}
	binary.LittleEndian.PutUint32(buf[:4], crc.Sum32())
	bw.Write(buf[:4])
	// bufio.Writer keeps the first write error and returns it here.
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("localmodel: writing model: %w", err)
	}
	return nil
}

// fileReader reads the format's fields, checksumming them, and keeps the
// first error.
type fileReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	buf [12]byte
	err error
}

func (fr *fileReader) read(n int) []byte {
	if fr.err != nil {
		return nil
	}
	b := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, b); err != nil {
		fr.fail(err)
		return nil
	}
	fr.crc.Write(b)
	return b
}

func (fr *fileReader) fail(err error) {
	if fr.err != nil {
		return
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: truncated", ErrBadFile)
	}
	fr.err = err
}

func (fr *fileReader) u32() uint32 {
	b := fr.read(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (fr *fileReader) str(what string) string {
	n := fr.u32()
	if fr.err != nil {
		return ""
	}
	if n > maxString {
		fr.fail(fmt.Errorf("%w: %s of %d bytes", ErrBadFile, what, n))
		return ""
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(fr.r, b); err != nil {
		fr.fail(err)
		return ""
	}
	fr.crc.Write(b)
	if !utf8.Valid(b) {
		fr.fail(fmt.Errorf("%w: %s is not UTF-8", ErrBadFile, what))
	}
	return string(b)
}

// Load reads a Model written by Save and the Header it was saved with. A
// file that is not one, was written by another format version, is
// truncated or damaged (its checksum does not match) returns an error
// wrapping ErrBadFile that says which.
func Load(r io.Reader) (*Model, Header, error) {
	var h Header
	fr := &fileReader{r: bufio.NewReader(r), crc: crc32.NewIEEE()}
	if magic := fr.read(len(fileMagic)); fr.err != nil || string(magic) != fileMagic {
		if fr.err == nil || errors.Is(fr.err, ErrBadFile) {
			return nil, h, fmt.Errorf("%w: it does not start with %q", ErrBadFile, fileMagic)
		}
		return nil, h, fmt.Errorf("localmodel: reading model: %w", fr.err)
	}
	if v := fr.u32(); fr.err == nil && v != fileVersion {
		return nil, h, fmt.Errorf("%w: format version %d, this build reads version %d", ErrBadFile, v, fileVersion)
	}
	h.Name = fr.str("name")
	if b := fr.read(8); b != nil {
		h.MinConfidence = math.Float64frombits(binary.LittleEndian.Uint64(b))
		if !(h.MinConfidence >= 0 && h.MinConfidence <= 1) {
			fr.fail(fmt.Errorf("%w: confidence threshold %v is not in [0, 1]", ErrBadFile, h.MinConfidence))
		}
	}
	V := fr.u32()
	if fr.err == nil && V > MaxWeights {
		return nil, h, fmt.Errorf("%w: vocabulary of %d tokens", ErrBadFile, V)
	}
	m := &Model{}
	if V > 0 {
		m.vocab = make([]string, 0, min(V, 1<<16))
		m.ids = map[string]int{}
		for i := range V {
			t := fr.str("token")
			if fr.err != nil {
				break
			}
			if _, dup := m.ids[t]; dup || (i == 0) != (t == End) {
				fr.fail(fmt.Errorf("%w: token %d (%q) is duplicated or misplaced", ErrBadFile, i, t))
				break
			}
			m.ids[t] = len(m.vocab)
			m.vocab = append(m.vocab, t)
		}
	}
	D := fr.u32()
	if fr.err == nil && (uint64(D)*uint64(V) > MaxWeights || (D > 0 && V == 0)) {
		fr.fail(fmt.Errorf("%w: %d dense weight rows of %d tokens", ErrBadFile, D, V))
	}
	// Read the weights in chunks, so a corrupt count fails on the missing
	// bytes rather than on a huge allocation.
	w := weights{V: int(V)}
	for left := uint64(D) * uint64(V); fr.err == nil && left > 0; {
		n := min(left, 1<<16)
		chunk := make([]byte, 4*n)
		if _, err := io.ReadFull(fr.r, chunk); err != nil {
			fr.fail(err)
			break
		}
		fr.crc.Write(chunk)
		for i := range n {
			v := math.Float32frombits(binary.LittleEndian.Uint32(chunk[4*i:]))
			if !finite(v) {
				fr.fail(fmt.Errorf("%w: weight %d is %v", ErrBadFile, len(w.dense), v))
				break
			}
			w.dense = append(w.dense, v)
		}
		left -= n
	}
	S := fr.u32()
	if fr.err == nil && S > 0 && V == 0 {
		fr.fail(fmt.Errorf("%w: %d sparse weight rows in an empty model", ErrBadFile, S))
	}
	if fr.err == nil && V > 0 {
		w.start = make([]int32, 1, min(S, 1<<16)+1)
	}
	for r := uint32(0); r < S && fr.err == nil; r++ {
		n := fr.u32()
		if fr.err == nil && n > V {
			fr.fail(fmt.Errorf("%w: sparse row %d holds %d of %d tokens", ErrBadFile, r, n, V))
		}
		for k := uint32(0); k < n && fr.err == nil; k++ {
			b := fr.read(8)
			if b == nil {
				break
			}
			t, v := binary.LittleEndian.Uint32(b), math.Float32frombits(binary.LittleEndian.Uint32(b[4:]))
			if t >= V || (k > 0 && int32(t) <= w.tok[len(w.tok)-1]) || !finite(v) {
				fr.fail(fmt.Errorf("%w: sparse row %d, entry %d (token %d of %d, weight %v) is out of order, range or not finite", ErrBadFile, r, k, t, V, v))
				break
			}
			w.tok, w.w = append(w.tok, int32(t)), append(w.w, v)
		}
		w.start = append(w.start, int32(len(w.tok)))
	}
	G := uint64(D) + uint64(S)
	F := fr.u32()
	if fr.err == nil && (F > 0) != (G > 0) {
		fr.fail(fmt.Errorf("%w: %d features for %d weight rows", ErrBadFile, F, G))
	}
	if F > 0 && fr.err == nil {
		m.rows = make(map[uint64]int32, min(F, 1<<16))
	}
	var prev uint64
	for i := range F {
		b := fr.read(12)
		if b == nil {
			break
		}
		f, g := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint32(b[8:])
		if uint64(g) >= G || (i > 0 && f <= prev) {
			fr.fail(fmt.Errorf("%w: feature %d (row %d of %d) is out of order or range", ErrBadFile, i, g, G))
			break
		}
		prev = f
		m.rows[f] = int32(g)
	}
	m.w = w
	C := fr.u32()
	if fr.err == nil && C > 0 && G == 0 {
		fr.fail(fmt.Errorf("%w: %d copy weights in an empty model", ErrBadFile, C))
	}
	if C > 0 && fr.err == nil {
		m.copy = make(map[uint64]float32, min(C, 1<<16))
	}
	var prevC uint64
	for i := range C {
		b := fr.read(12)
		if b == nil {
			break
		}
		f, v := binary.LittleEndian.Uint64(b), math.Float32frombits(binary.LittleEndian.Uint32(b[8:]))
		if (i > 0 && f <= prevC) || !finite(v) {
			fr.fail(fmt.Errorf("%w: copy weight %d is out of order or not finite", ErrBadFile, i))
			break
		}
		prevC = f
		m.copy[f] = v
	}
	sum := fr.crc.Sum32()
	if b := fr.read(4); fr.err == nil && binary.LittleEndian.Uint32(b) != sum {
		fr.fail(fmt.Errorf("%w: checksum mismatch (damaged file)", ErrBadFile))
	}
	if fr.err == nil {
		if _, err := fr.r.ReadByte(); err == nil {
			fr.fail(fmt.Errorf("%w: data after the checksum", ErrBadFile))
		} else if !errors.Is(err, io.EOF) {
			fr.fail(err)
		}
	}
	if fr.err != nil {
		if !errors.Is(fr.err, ErrBadFile) {
			return nil, h, fmt.Errorf("localmodel: reading model: %w", fr.err)
		}
		return nil, h, fr.err
	}
	if m.Empty() {
		return &Model{}, h, nil
	}
	return m, h, nil
}

func finite(v float32) bool {
	return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
}
