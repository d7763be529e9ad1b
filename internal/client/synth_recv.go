package client

import (
	"time"

	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
)

// SynthFrame is a synthetic picture received whole.
type SynthFrame struct {
	SynthMark
	// Keyframe: an IDR preceded by its SPS and PPS in the same access unit,
	// i.e. a picture a decoder can start from.
	Keyframe   bool
	ReceivedAt time.Time // arrival of its last packet
}

// SynthAssembler rebuilds synthetic pictures from the RTP packets of one
// viewer's video track. A picture counts only if every packet of its slice
// arrived in sequence and its slice header parses; anything else is counted
// in Broken. Not safe for concurrent use.
type SynthAssembler struct {
	// MaxPayload, if set, is the publisher's SynthConfig.MaxPayload: a
	// picture is then checked by its reassembled size (the packet count the
	// publisher's fragmentation gives it) rather than by the packets that
	// carried it, so a server that re-packetizes (MediaMTX fragments at its
	// own size and aggregates parameter sets in STAP-A) is measured like one
	// that forwards. Zero: the packet count must match exactly.
	MaxPayload int

	active   bool
	ts       uint32
	nextSeq  uint16
	mark     SynthMark
	got      int
	bytes    int // NAL bytes reassembled
	idr      bool
	paramsTS uint32 // timestamp of the last SPS+PPS pair
	spsTS    uint32
	sps, pps bool

	Broken uint64
}

// Push feeds one packet; it returns the picture its last packet completes.
func (a *SynthAssembler) Push(h *rtp.Header, payload []byte, at time.Time) (SynthFrame, bool) {
	if len(payload) < 2 {
		return SynthFrame{}, false
	}
	switch typ := codec.H264Type(payload[0]); typ {
	case codec.H264TypeSTAPA:
		var f SynthFrame
		done := false
		units := codec.AggregatedUnits(payload[1:])
		for u, ok := units.Next(); ok; u, ok = units.Next() {
			if g, ok := a.single(h, u, at); ok {
				f, done = g, true
			}
		}
		return f, done
	case codec.H264TypeFUA:
		start, end := payload[1]&codec.FUStart != 0, payload[1]&codec.FUEnd != 0
		if start {
			a.abandon()
			// Rebuild the NAL header the fragment stands for.
			var head [64]byte
			n := copy(head[1:], payload[2:])
			head[0] = payload[0]&codec.H264NRIMask | codec.H264Type(payload[1])
			if !a.start(h, head[:n+1], codec.H264Type(payload[1])) {
				return SynthFrame{}, false
			}
			a.bytes = len(payload) - 1
			return a.finishIfDone(end, at)
		}
		if !a.active || h.SequenceNumber != a.nextSeq || h.Timestamp != a.ts {
			a.abandon()
			return SynthFrame{}, false
		}
		a.got++
		a.nextSeq++
		a.bytes += len(payload) - 2
		return a.finishIfDone(end, at)
	default:
		return a.single(h, payload, at)
	}
}

// single takes one whole NAL unit (alone in its packet or from a STAP-A).
func (a *SynthAssembler) single(h *rtp.Header, nal []byte, at time.Time) (SynthFrame, bool) {
	if len(nal) < 2 {
		return SynthFrame{}, false
	}
	switch typ := codec.H264Type(nal[0]); typ {
	case codec.H264TypeSPS:
		a.sps, a.pps, a.spsTS = true, false, h.Timestamp
	case codec.H264TypePPS:
		if a.sps && a.spsTS == h.Timestamp {
			a.pps, a.paramsTS = true, h.Timestamp
		}
	case codec.H264TypeSlice, codec.H264TypeIDR:
		a.abandon()
		if !a.start(h, nal, typ) {
			return SynthFrame{}, false
		}
		a.bytes = len(nal)
		return a.finishIfDone(true, at)
	}
	return SynthFrame{}, false
}

// start opens a picture from its first slice bytes (NAL header included).
func (a *SynthAssembler) start(h *rtp.Header, nal []byte, typ uint8) bool {
	m, ok := parseSynthSlice(nal, typ)
	if !ok {
		a.Broken++
		return false
	}
	a.active, a.ts, a.nextSeq, a.mark, a.got = true, h.Timestamp, h.SequenceNumber+1, m, 1
	a.idr = typ == codec.H264TypeIDR && a.pps && a.paramsTS == h.Timestamp
	return true
}

func (a *SynthAssembler) finishIfDone(end bool, at time.Time) (SynthFrame, bool) {
	if !end {
		return SynthFrame{}, false
	}
	a.active = false
	got := a.got
	if a.MaxPayload > 0 {
		got = synthPackets(a.bytes, a.MaxPayload)
	}
	if got != a.mark.Packets {
		a.Broken++
		return SynthFrame{}, false
	}
	return SynthFrame{SynthMark: a.mark, Keyframe: a.idr, ReceivedAt: at}, true
}

func (a *SynthAssembler) abandon() {
	if a.active {
		a.active = false
		a.Broken++
	}
}

// parseSynthSlice checks the slice header the generator writes (H.264
// §7.3.3 with this package's SPS/PPS) and reads the mark after it.
func parseSynthSlice(nal []byte, typ uint8) (SynthMark, bool) {
	r := bitReader{buf: nal[1:]}
	if r.ue() != 0 { // first_mb_in_slice
		return SynthMark{}, false
	}
	st := r.ue()
	if (typ == codec.H264TypeIDR && st != 7) || (typ == codec.H264TypeSlice && st != 5) {
		return SynthMark{}, false
	}
	if r.ue() != 0 { // pic_parameter_set_id
		return SynthMark{}, false
	}
	r.bits(4) // frame_num
	if typ == codec.H264TypeIDR {
		r.ue()    // idr_pic_id
		r.bits(2) // no_output_of_prior_pics_flag, long_term_reference_flag
	} else {
		r.bits(3) // override, list modification, adaptive marking flags
	}
	r.ue() // slice_qp_delta (se, read as its code)
	if r.bits(1) != 1 || r.err {
		return SynthMark{}, false
	}
	pos := (r.pos + 7) / 8
	if pos > len(r.buf) {
		return SynthMark{}, false
	}
	return readMark(r.buf[pos:])
}

// bitReader reads MSB-first fields; reading past the end sets err.
type bitReader struct {
	buf []byte
	pos int // in bits
	err bool
}

func (r *bitReader) bits(n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		if r.pos >= 8*len(r.buf) {
			r.err = true
			return 0
		}
		v = v<<1 | uint64(r.buf[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func (r *bitReader) ue() uint64 {
	zeros := 0
	for r.bits(1) == 0 {
		if r.err || zeros > 31 {
			r.err = true
			return 0
		}
		zeros++
	}
	return (1<<zeros - 1) + r.bits(zeros)
}
