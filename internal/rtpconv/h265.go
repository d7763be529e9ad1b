package rtpconv

import (
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
)

// H265 re-packetizes an H.265 RTP stream into packets of at most MaxPayload
// bytes, inserting VPS, SPS and PPS before every IRAP picture that does not
// carry them. Streams using DONL (sprop-max-don-diff > 0) are not supported;
// the caller refuses them, as WebRTC never negotiates them.
type H265 struct {
	// MaxPayload bounds output payloads; 0 means MaxPayload.
	MaxPayload int
	Stats      Stats

	depacketizer
	params [3][]byte
}

// SetParams seeds the parameter sets, from sprop-vps/sps/pps.
func (h *H265) SetParams(vps, sps, pps []byte) {
	for _, p := range [][]byte{vps, sps, pps} {
		h.ps.Learn(codec.H265, p)
	}
}

// Params returns the current parameter sets and a version that changes with
// them. The slices are never modified.
func (h *H265) Params() (vps, sps, pps []byte, version uint64) {
	return h.ps.VPS, h.ps.SPS, h.ps.PPS, h.ps.Version
}

func (h *H265) max() int { return budget(h.MaxPayload) }

// Push converts one input packet, calling emit for each output payload.
func (h *H265) Push(pkt *rtp.Packet, emit Emit) error {
	p := h.begin(pkt, &h.Stats)
	if len(p) == 0 {
		return nil
	}
	if len(p) < 3 {
		return ErrMalformed
	}
	switch t := codec.H265Type(p[0]); {
	case codec.H265IsNAL(t):
		h.nal(p, pkt.Marker, emit)
	case t == codec.H265TypeAP:
		return h.ap(p, pkt.Marker, emit)
	case t == codec.H265TypeFU:
		return h.fuPkt(p, pkt.Marker, emit)
	default:
		return ErrUnsupportedPacket
	}
	return nil
}

// learn records a parameter set and reports whether u is an IRAP picture.
func (h *H265) learn(u []byte) (irap bool) {
	h.seen.add(h.ps.Learn(codec.H265, u))
	return codec.H265IsIRAP(codec.H265Type(u[0]))
}

func (h *H265) ap(p []byte, marker bool, emit Emit) error {
	it := codec.AggregatedUnits(p[codec.H265HeaderLen:])
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		// An AP aggregates NAL units only, not other APs, FUs or PACIs
		// (RFC 7798 §4.4.2).
		if len(u) < codec.H265HeaderLen || !codec.H265IsNAL(codec.H265Type(u[0])) {
			return ErrMalformed
		}
	}
	if it.Malformed() {
		return ErrMalformed
	}
	irap := false
	it = codec.AggregatedUnits(p[codec.H265HeaderLen:])
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		irap = h.learn(u) || irap
	}
	if irap {
		h.insertParams(emit)
	}
	forwardAggregate(p, codec.H265HeaderLen, h.max(), marker, h, emit)
	return nil
}

func (h *H265) fuPkt(p []byte, marker bool, emit Emit) error {
	fh := p[2]
	start, end := fh&codec.FUStart != 0, fh&codec.FUEnd != 0
	inner := fh & codec.H265FUTypeMask
	if start && !codec.H265IsNAL(inner) {
		// FUs carry NAL units, never aggregation or fragmentation units
		// (RFC 7798 §4.4.3); reassembled, one would go out as garbage.
		h.inFU = false
		return ErrMalformed
	}
	// The NAL unit header: F and LayerId high bit from the payload header,
	// the FU's type, LayerId low bits and TID from byte 1.
	hdr := [2]byte{p[0]&codec.H265KeepMask | inner<<1, p[1]}
	nal, err := h.reassemble(start, end, hdr[:], p[3:], &h.Stats)
	if nal != nil {
		h.nal(nal, marker, emit)
	}
	return err
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
	if h.seen.has(codec.VPS, codec.SPS, codec.PPS) || !h.ps.Complete(codec.H265) {
		return
	}
	h.seen.add(codec.VPS)
	h.seen.add(codec.SPS)
	h.seen.add(codec.PPS)
	h.Stats.ParamsInserted++
	h.params[0], h.params[1], h.params[2] = h.ps.VPS, h.ps.SPS, h.ps.PPS
	// AP payload header: F=0, type 48, LayerId 0, TID 1 (RFC 7798 §4.4.2).
	if p := h.frag.aggregate([]byte{codec.H265TypeAP << 1, 1}, h.params[:], h.max()); p != nil {
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
	hdr := [3]byte{nal[0]&codec.H265KeepMask | codec.H265TypeFU<<1, nal[1], codec.H265Type(nal[0])}
	h.frag.fragment(nal, hdr[:], 2, m, marker, emit)
}
