package client

// bitWriter writes MSB-first bit fields, the layout of H.26x parameter sets
// and of VP9/AV1 headers, so the synthetic streams carry headers real
// parsers accept instead of hand-copied magic bytes.
type bitWriter struct {
	buf  []byte
	nbit int // bits used in the last byte (0 = byte aligned)
}

func (w *bitWriter) bit(b uint) {
	if w.nbit == 0 {
		w.buf = append(w.buf, 0)
	}
	if b != 0 {
		w.buf[len(w.buf)-1] |= 0x80 >> w.nbit
	}
	w.nbit = (w.nbit + 1) % 8
}

// bits writes the n low bits of v, most significant first.
func (w *bitWriter) bits(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bit(uint(v>>i) & 1)
	}
}

// ue writes an unsigned Exp-Golomb code (H.264 §9.1).
func (w *bitWriter) ue(v uint64) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	w.bits(0, n)
	w.bits(v, n+1)
}

// se writes a signed Exp-Golomb code.
func (w *bitWriter) se(v int64) {
	if v > 0 {
		w.ue(uint64(2*v - 1))
	} else {
		w.ue(uint64(-2 * v))
	}
}

// trailing writes rbsp_trailing_bits: a one, then zeros to the byte edge.
func (w *bitWriter) trailing() {
	w.bit(1)
	w.align()
}

// align pads with zero bits to the byte edge.
func (w *bitWriter) align() {
	for w.nbit != 0 {
		w.bit(0)
	}
}

// escapeRBSP inserts H.26x emulation prevention bytes: after two zero bytes
// a byte <= 3 gets a 0x03 in front, so no start code can appear inside a
// NAL unit (H.264 §7.4.1). The 8-byte counter in every slice is mostly zero
// bytes, so this is not optional.
func escapeRBSP(rbsp []byte) []byte {
	out := make([]byte, 0, len(rbsp)+len(rbsp)/64+1)
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// unescapeRBSP removes emulation prevention bytes.
func unescapeRBSP(ebsp []byte) []byte {
	out := make([]byte, 0, len(ebsp))
	zeros := 0
	for _, b := range ebsp {
		if zeros >= 2 && b == 3 {
			zeros = 0
			continue
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}
