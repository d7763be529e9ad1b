package rtpconv

import (
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
)

// depacketizer is the input-side state H264 and H265 share: the parameter
// sets learnt, access-unit and sequence tracking, and the fragmented unit
// being reassembled. The exported MaxPayload and Stats stay fields of H264
// and H265 themselves, so that their composite literals keep working; the
// methods here take what they need of them.
type depacketizer struct {
	ps codec.ParamSets

	au  auTracker
	seq seqTracker
	// seen: the parameter sets the current access unit already carried.
	seen paramsSeen

	fu   []byte
	inFU bool
	frag fragmenter
}

// budget is the output payload bound for a MaxPayload field (0: MaxPayload).
func budget(maxPayload int) int {
	if maxPayload > 0 {
		return maxPayload
	}
	return MaxPayload
}

// begin does what every input packet starts with: a sequence gap drops the
// unit being reassembled, a new timestamp starts a new access unit. It
// returns the packet's payload, empty for the keep-alive padding some cameras
// send, which the caller ignores.
func (d *depacketizer) begin(pkt *rtp.Packet, st *Stats) []byte {
	if d.seq.gap(pkt.SequenceNumber) && d.inFU {
		d.inFU = false
		st.LostFragments++
	}
	if newAU, back := d.au.next(pkt.Timestamp); newAU {
		d.seen = 0
		if back {
			st.Reordered++
		}
	}
	return pkt.Payload
}

// reassemble adds one fragment to the unit being reassembled and returns the
// whole unit when end is set. A start fragment begins a unit with the NAL
// unit header hdr, rebuilt by the caller from the FU's headers; a fragment
// with no unit begun (its start was lost, or we joined mid-unit) is ignored.
// A unit growing beyond maxNALUSize is dropped, counted in LostFragments, and
// reported as ErrMalformed.
func (d *depacketizer) reassemble(start, end bool, hdr, data []byte, st *Stats) (nal []byte, err error) {
	if start {
		d.fu = append(d.fu[:0], hdr...)
		d.inFU = true
	} else if !d.inFU {
		return nil, nil
	}
	if len(d.fu)+len(data) > maxNALUSize {
		d.inFU = false
		d.fu = nil // give the memory back
		st.LostFragments++
		return nil, ErrMalformed
	}
	d.fu = append(d.fu, data...)
	if !end {
		return nil, nil
	}
	d.inFU = false
	return d.fu, nil
}

// unitSender sends one NAL unit, fragmenting it to the output budget.
type unitSender interface {
	out(nal []byte, marker bool, emit Emit)
}

// forwardAggregate sends an aggregation packet p (STAP-A or AP, whose
// aggregated units follow hdrLen bytes of header) unchanged if it fits in max
// bytes, or else each of its units on its own through s, the marker on the
// last. The caller has checked that p is well formed.
func forwardAggregate(p []byte, hdrLen, max int, marker bool, s unitSender, emit Emit) {
	if len(p) <= max {
		emit(p, marker)
		return
	}
	it := codec.AggregatedUnits(p[hdrLen:])
	u, ok := it.Next()
	for ok {
		next, more := it.Next()
		s.out(u, marker && !more, emit)
		u, ok = next, more
	}
}
