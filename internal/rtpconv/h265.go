package rtpconv

import "github.com/pion/rtp"

// H.265 NAL unit types (ITU-T H.265 Table 7-1) and RTP packet types
// (RFC 7798 §4.4).
const (
	h265IRAPFirst = 16 // BLA_W_LP
	h265IRAPLast  = 21 // CRA_NUT
	h265VPS       = 32
	h265SPS       = 33
	h265PPS       = 34
	h265AP        = 48
	h265FU        = 49
)

func h265Type(b0 byte) uint8 { return (b0 >> 1) & 0x3F }

// H265 re-packetizes an H.265 RTP stream into packets of at most MaxPayload
// bytes, inserting VPS, SPS and PPS before every IRAP picture that does not
// carry them. Streams using DONL (sprop-max-don-diff > 0) are not supported;
// the caller refuses them, as WebRTC never negotiates them.
type H265 struct {
	// MaxPayload bounds output payloads; 0 means MaxPayload.
	MaxPayload int
	Stats      Stats

	vps, sps, pps []byte
	version       uint64

	au                     auTracker
	seq                    seqTracker
	hasVPS, hasSPS, hasPPS bool

	fu     []byte
	inFU   bool
	frag   fragmenter
	params [3][]byte
}

// SetParams seeds the parameter sets, from sprop-vps/sps/pps.
func (h *H265) SetParams(vps, sps, pps []byte) {
	for _, p := range []struct {
		dst *[]byte
		v   []byte
	}{{&h.vps, vps}, {&h.sps, sps}, {&h.pps, pps}} {
		if len(p.v) > 0 && setParam(p.dst, p.v) {
			h.version++
		}
	}
}

// Params returns the current parameter sets and a version that changes with
// them. The slices are never modified.
func (h *H265) Params() (vps, sps, pps []byte, version uint64) {
	return h.vps, h.sps, h.pps, h.version
}

func (h *H265) max() int {
	if h.MaxPayload > 0 {
		return h.MaxPayload
	}
	return MaxPayload
}

// Push converts one input packet, calling emit for each output payload.
func (h *H265) Push(pkt *rtp.Packet, emit Emit) error {
	if h.seq.gap(pkt.SequenceNumber) && h.inFU {
		h.inFU = false
		h.Stats.LostFragments++
	}
	if newAU, back := h.au.next(pkt.Timestamp); newAU {
		h.hasVPS, h.hasSPS, h.hasPPS = false, false, false
		if back {
			h.Stats.Reordered++
		}
	}
	p := pkt.Payload
	if len(p) == 0 {
		return nil
	}
	if len(p) < 3 {
		return ErrMalformed
	}
	switch t := h265Type(p[0]); {
	case t < h265AP:
		h.nal(p, pkt.Marker, emit)
	case t == h265AP:
		return h.ap(p, pkt.Marker, emit)
	case t == h265FU:
		return h.fuPkt(p, pkt.Marker, emit)
	default:
		return ErrUnsupportedPacket
	}
	return nil
}

func (h *H265) learn(u []byte) (irap bool) {
	switch t := h265Type(u[0]); {
	case t == h265VPS:
		h.hasVPS = true
		if setParam(&h.vps, u) {
			h.version++
		}
	case t == h265SPS:
		h.hasSPS = true
		if setParam(&h.sps, u) {
			h.version++
		}
	case t == h265PPS:
		h.hasPPS = true
		if setParam(&h.pps, u) {
			h.version++
		}
	case t >= h265IRAPFirst && t <= h265IRAPLast:
		return true
	}
	return false
}

func (h *H265) ap(p []byte, marker bool, emit Emit) error {
	irap := false
	it := units{rest: p[2:]}
	for {
		u, ok, bad := it.next()
		// An AP aggregates NAL units only, not other APs, FUs or PACIs
		// (RFC 7798 §4.4.2).
		if bad || (ok && (len(u) < 2 || h265Type(u[0]) >= h265AP)) {
			return ErrMalformed
		}
		if !ok {
			break
		}
		irap = h.learn(u) || irap
	}
	if irap {
		h.insertParams(emit)
	}
	if len(p) <= h.max() {
		emit(p, marker)
		return nil
	}
	it = units{rest: p[2:]}
	u, ok, _ := it.next()
	for ok {
		next, more, _ := it.next()
		h.out(u, marker && !more, emit)
		u, ok = next, more
	}
	return nil
}

func (h *H265) fuPkt(p []byte, marker bool, emit Emit) error {
	fh := p[2]
	start, end := fh&0x80 != 0, fh&0x40 != 0
	if start && fh&0x3F >= h265AP {
		// FUs carry NAL units, never aggregation or fragmentation units
		// (RFC 7798 §4.4.3); reassembled, one would go out as garbage.
		h.inFU = false
		return ErrMalformed
	}
	if start {
		// Rebuild the NAL unit header: F and LayerId high bit from the
		// payload header, the FU's type, LayerId low bits and TID from byte 1.
		h.fu = append(h.fu[:0], p[0]&0x81|(fh&0x3F)<<1, p[1])
		h.inFU = true
	} else if !h.inFU {
		return nil
	}
	if len(h.fu)+len(p)-3 > maxNALUSize {
		h.inFU = false
		h.fu = nil // give the memory back
		h.Stats.LostFragments++
		return ErrMalformed
	}
	h.fu = append(h.fu, p[3:]...)
	if end {
		h.inFU = false
		h.nal(h.fu, marker, emit)
	}
	return nil
}

func (h *H265) nal(nal []byte, marker bool, emit Emit) {
	if h.learn(nal) {
		h.insertParams(emit)
	}
	h.out(nal, marker, emit)
}

// insertParams sends the cached VPS/SPS/PPS ahead of an IRAP picture whose
// access unit lacks them (see H264.insertParams).
func (h *H265) insertParams(emit Emit) {
	if (h.hasVPS && h.hasSPS && h.hasPPS) || h.vps == nil || h.sps == nil || h.pps == nil {
		return
	}
	h.hasVPS, h.hasSPS, h.hasPPS = true, true, true
	h.Stats.ParamsInserted++
	h.params[0], h.params[1], h.params[2] = h.vps, h.sps, h.pps
	// AP payload header: F=0, type 48, LayerId 0, TID 1 (RFC 7798 §4.4.2).
	if p := h.frag.aggregate([]byte{h265AP << 1, 1}, h.params[:], h.max()); p != nil {
		emit(p, false)
		return
	}
	for _, ps := range h.params {
		h.out(ps, false, emit)
	}
}

func (h *H265) out(nal []byte, marker bool, emit Emit) {
	m := h.max()
	if len(nal) <= m {
		emit(nal, marker)
		return
	}
	h.Stats.Fragmented++
	// Payload header of type FU keeping F, LayerId and TID; FU header with
	// the original type (RFC 7798 §4.4.3).
	hdr := [3]byte{nal[0]&0x81 | h265FU<<1, nal[1], h265Type(nal[0])}
	h.frag.fragment(nal, hdr[:], 2, m, marker, emit)
}
