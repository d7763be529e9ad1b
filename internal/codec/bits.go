package codec

import "errors"

// errShort: a bit field runs past the end of its buffer.
var errShort = errors.New("truncated")

// bitReader reads big-endian bit fields (ISO/IEC 14496-3 and RFC 3640
// write every field most significant bit first). It never reads past its
// buffer: a field that would is reported with errShort and reads as 0.
type bitReader struct {
	b   []byte
	pos int // in bits
	err error
}

// left is the number of unread bits.
func (r *bitReader) left() int { return len(r.b)*8 - r.pos }

// u reads an n-bit unsigned field, n ≤ 32.
func (r *bitReader) u(n int) uint32 {
	if n == 0 || r.err != nil {
		return 0
	}
	if n > r.left() {
		r.err = errShort
		r.pos = len(r.b) * 8
		return 0
	}
	var v uint32
	for n > 0 {
		byteIdx, bit := r.pos>>3, r.pos&7
		take := min(8-bit, n)
		cur := uint32(r.b[byteIdx]>>(8-bit-take)) & (1<<take - 1)
		v = v<<take | cur
		r.pos += take
		n -= take
	}
	return v
}

func (r *bitReader) flag() bool { return r.u(1) == 1 }

func (r *bitReader) skip(n int) {
	if r.err != nil {
		return
	}
	if n < 0 || n > r.left() {
		r.err = errShort
		r.pos = len(r.b) * 8
		return
	}
	r.pos += n
}

// align moves to the next byte boundary.
func (r *bitReader) align() {
	if r.pos&7 != 0 {
		r.pos += 8 - r.pos&7
	}
}

// copyBytes copies n bytes starting at the current (possibly unaligned) bit
// position into dst, which must hold n bytes.
func (r *bitReader) copyBytes(dst []byte) {
	if r.err != nil {
		return
	}
	if len(dst)*8 > r.left() {
		r.err = errShort
		r.pos = len(r.b) * 8
		return
	}
	if r.pos&7 == 0 {
		copy(dst, r.b[r.pos>>3:])
		r.pos += len(dst) * 8
		return
	}
	for i := range dst {
		dst[i] = byte(r.u(8))
	}
}
