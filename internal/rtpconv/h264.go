package rtpconv

import (
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
)

// H264 re-packetizes an H.264 RTP stream (packetization mode 0 or 1) into
// mode-1 packets of at most MaxPayload bytes, inserting SPS and PPS before
// every IDR picture that does not already carry them.
//
// Single NAL units and STAP-As that fit pass through unchanged; larger
// ones are split into FU-As. Incoming FU-As are reassembled and re-fragmented
// at the output size. Output sequence numbers are the caller's: the number
// of output packets differs from the input.
type H264 struct {
	// MaxPayload bounds output payloads; 0 means MaxPayload.
	MaxPayload int
	Stats      Stats

	depacketizer
	params [2][]byte
}

// SetParams seeds the parameter sets, from sprop-parameter-sets.
func (h *H264) SetParams(sps, pps []byte) {
	h.ps.Learn(codec.H264, sps)
	h.ps.Learn(codec.H264, pps)
}

// Params returns the current SPS and PPS (nil until known) and a version
// that changes whenever either changes. The slices are never modified.
func (h *H264) Params() (sps, pps []byte, version uint64) { return h.ps.SPS, h.ps.PPS, h.ps.Version }

func (h *H264) max() int { return budget(h.MaxPayload) }

// Push converts one input packet, calling emit for each output payload.
// An error reports a packet that was dropped; the stream continues.
func (h *H264) Push(pkt *rtp.Packet, emit Emit) error {
	p := h.begin(pkt, &h.Stats)
	if len(p) == 0 {
		return nil // keep-alive padding some cameras send
	}
	switch t := codec.H264Type(p[0]); {
	case codec.H264IsNAL(t):
		h.nal(p, pkt.Marker, emit)
	case t == codec.H264TypeSTAPA:
		return h.stapA(p, pkt.Marker, emit)
	case t == codec.H264TypeFUA:
		return h.fuA(p, pkt.Marker, emit)
	default:
		return ErrUnsupportedPacket
	}
	return nil
}

func (h *H264) stapA(p []byte, marker bool, emit Emit) error {
	idr := false
	it := codec.AggregatedUnits(p[1:])
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		// Only NAL units are aggregated (RFC 6184 §5.7.1): a unit typed as
		// another STAP or FU would be re-emitted as a broken packet.
		t := codec.H264Type(u[0])
		if !codec.H264IsNAL(t) {
			return ErrMalformed
		}
		idr = idr || t == codec.H264TypeIDR
	}
	if it.Malformed() {
		return ErrMalformed
	}
	it = codec.AggregatedUnits(p[1:])
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		h.seen.add(h.ps.Learn(codec.H264, u))
	}
	if idr {
		h.insertParams(emit)
	}
	forwardAggregate(p, 1, h.max(), marker, h, emit)
	return nil
}

func (h *H264) fuA(p []byte, marker bool, emit Emit) error {
	if len(p) < 3 {
		return ErrMalformed
	}
	start, end := p[1]&codec.FUStart != 0, p[1]&codec.FUEnd != 0
	if start && !codec.H264IsNAL(codec.H264Type(p[1])) {
		// A fragmented unit is a NAL unit, never another STAP/FU
		// (RFC 6184 §5.8); reassembled, one would go out as garbage.
		h.inFU = false
		return ErrMalformed
	}
	hdr := [1]byte{p[0]&codec.H264NRIMask | codec.H264Type(p[1])}
	nal, err := h.reassemble(start, end, hdr[:], p[2:], &h.Stats)
	if nal != nil {
		h.nal(nal, marker, emit)
	}
	return err
}

// nal handles one complete NAL unit.
func (h *H264) nal(nal []byte, marker bool, emit Emit) {
	h.seen.add(h.ps.Learn(codec.H264, nal))
	if codec.H264Type(nal[0]) == codec.H264TypeIDR {
		h.insertParams(emit)
	}
	h.out(nal, marker, emit)
}

// insertParams sends the cached SPS/PPS ahead of an IDR whose access unit
// lacks them. Cameras that announce them only in sprop-parameter-sets would
// otherwise leave a WebRTC viewer, which never reads the SDP's sprop, unable
// to decode anything (mediamtx does the same in its H.264 remuxer).
func (h *H264) insertParams(emit Emit) {
	if h.seen.has(codec.SPS, codec.PPS) || !h.ps.Complete(codec.H264) {
		return
	}
	h.seen.add(codec.SPS)
	h.seen.add(codec.PPS)
	h.Stats.ParamsInserted++
	sps, pps := h.ps.SPS, h.ps.PPS
	nri := max(sps[0], pps[0]) & codec.H264RefIdcMask
	h.params[0], h.params[1] = sps, pps
	if p := h.frag.aggregate([]byte{nri | codec.H264TypeSTAPA}, h.params[:], h.max()); p != nil {
		emit(p, false)
		return
	}
	h.out(sps, false, emit)
	h.out(pps, false, emit)
}

// out sends one NAL unit, fragmenting it if it exceeds the budget.
func (h *H264) out(nal []byte, marker bool, emit Emit) {
	m := h.max()
	if len(nal) <= m {
		emit(nal, marker)
		return
	}
	h.Stats.Fragmented++
	hdr := [2]byte{nal[0]&codec.H264NRIMask | codec.H264TypeFUA, codec.H264Type(nal[0])}
	h.frag.fragment(nal, hdr[:], 1, m, marker, emit)
}
