package rtpconv

import "github.com/pion/rtp"

// H.264 NAL unit types (ITU-T H.264 Table 7-1) and RTP packet types
// (RFC 6184 §5.2).
const (
	h264IDR   = 5
	h264SPS   = 7
	h264PPS   = 8
	h264STAPA = 24
	h264FUA   = 28
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

	sps, pps []byte
	version  uint64

	au  auTracker
	seq seqTracker
	// hasSPS/hasPPS: the current access unit already carried them.
	hasSPS, hasPPS bool

	fu     []byte
	inFU   bool
	frag   fragmenter
	params [2][]byte
}

// SetParams seeds the parameter sets, from sprop-parameter-sets.
func (h *H264) SetParams(sps, pps []byte) {
	if len(sps) > 0 && setParam(&h.sps, sps) {
		h.version++
	}
	if len(pps) > 0 && setParam(&h.pps, pps) {
		h.version++
	}
}

// Params returns the current SPS and PPS (nil until known) and a version
// that changes whenever either changes. The slices are never modified.
func (h *H264) Params() (sps, pps []byte, version uint64) { return h.sps, h.pps, h.version }

func (h *H264) max() int {
	if h.MaxPayload > 0 {
		return h.MaxPayload
	}
	return MaxPayload
}

// Push converts one input packet, calling emit for each output payload.
// An error reports a packet that was dropped; the stream continues.
func (h *H264) Push(pkt *rtp.Packet, emit Emit) error {
	if h.seq.gap(pkt.SequenceNumber) && h.inFU {
		h.inFU = false
		h.Stats.LostFragments++
	}
	if newAU, back := h.au.next(pkt.Timestamp); newAU {
		h.hasSPS, h.hasPPS = false, false
		if back {
			h.Stats.Reordered++
		}
	}
	p := pkt.Payload
	if len(p) == 0 {
		return nil // keep-alive padding some cameras send
	}
	switch t := p[0] & 0x1F; {
	case t >= 1 && t <= 23:
		h.nal(p, pkt.Marker, emit)
	case t == h264STAPA:
		return h.stapA(p, pkt.Marker, emit)
	case t == h264FUA:
		return h.fuA(p, pkt.Marker, emit)
	default:
		return ErrUnsupportedPacket
	}
	return nil
}

func (h *H264) stapA(p []byte, marker bool, emit Emit) error {
	var idr, sps, pps bool
	it := units{rest: p[1:]}
	for {
		u, ok, bad := it.next()
		if bad {
			return ErrMalformed
		}
		if !ok {
			break
		}
		// Only NAL units are aggregated (RFC 6184 §5.7.1): a unit typed as
		// another STAP or FU would be re-emitted as a broken packet.
		if t := u[0] & 0x1F; t < 1 || t > 23 {
			return ErrMalformed
		}
		switch u[0] & 0x1F {
		case h264SPS:
			sps = true
			if setParam(&h.sps, u) {
				h.version++
			}
		case h264PPS:
			pps = true
			if setParam(&h.pps, u) {
				h.version++
			}
		case h264IDR:
			idr = true
		}
	}
	h.hasSPS = h.hasSPS || sps
	h.hasPPS = h.hasPPS || pps
	if idr {
		h.insertParams(emit)
	}
	if len(p) <= h.max() {
		emit(p, marker)
		return nil
	}
	it = units{rest: p[1:]}
	u, ok, _ := it.next()
	for ok {
		next, more, _ := it.next()
		h.out(u, marker && !more, emit)
		u, ok = next, more
	}
	return nil
}

func (h *H264) fuA(p []byte, marker bool, emit Emit) error {
	if len(p) < 3 {
		return ErrMalformed
	}
	start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
	if start {
		// A fragmented unit is a NAL unit, never another STAP/FU
		// (RFC 6184 §5.8); reassembled, one would go out as garbage.
		if t := p[1] & 0x1F; t < 1 || t > 23 {
			h.inFU = false
			return ErrMalformed
		}
		h.fu = append(h.fu[:0], p[0]&0xE0|p[1]&0x1F)
		h.inFU = true
	} else if !h.inFU {
		// The start was lost (or we joined mid-unit): nothing to decode.
		return nil
	}
	if len(h.fu)+len(p)-2 > maxNALUSize {
		h.inFU = false
		h.fu = nil // give the memory back
		h.Stats.LostFragments++
		return ErrMalformed
	}
	h.fu = append(h.fu, p[2:]...)
	if end {
		h.inFU = false
		h.nal(h.fu, marker, emit)
	}
	return nil
}

// nal handles one complete NAL unit.
func (h *H264) nal(nal []byte, marker bool, emit Emit) {
	switch nal[0] & 0x1F {
	case h264SPS:
		h.hasSPS = true
		if setParam(&h.sps, nal) {
			h.version++
		}
	case h264PPS:
		h.hasPPS = true
		if setParam(&h.pps, nal) {
			h.version++
		}
	case h264IDR:
		h.insertParams(emit)
	}
	h.out(nal, marker, emit)
}

// insertParams sends the cached SPS/PPS ahead of an IDR whose access unit
// lacks them. Cameras that announce them only in sprop-parameter-sets would
// otherwise leave a WebRTC viewer, which never reads the SDP's sprop, unable
// to decode anything (mediamtx does the same in its H.264 remuxer).
func (h *H264) insertParams(emit Emit) {
	if (h.hasSPS && h.hasPPS) || h.sps == nil || h.pps == nil {
		return
	}
	h.hasSPS, h.hasPPS = true, true
	h.Stats.ParamsInserted++
	nri := max(h.sps[0], h.pps[0]) & 0x60
	h.params[0], h.params[1] = h.sps, h.pps
	if p := h.frag.aggregate([]byte{nri | h264STAPA}, h.params[:], h.max()); p != nil {
		emit(p, false)
		return
	}
	h.out(h.sps, false, emit)
	h.out(h.pps, false, emit)
}

// out sends one NAL unit, fragmenting it if it exceeds the budget.
func (h *H264) out(nal []byte, marker bool, emit Emit) {
	m := h.max()
	if len(nal) <= m {
		emit(nal, marker)
		return
	}
	h.Stats.Fragmented++
	hdr := [2]byte{nal[0]&0xE0 | h264FUA, nal[0] & 0x1F}
	h.frag.fragment(nal, hdr[:], 1, m, marker, emit)
}
