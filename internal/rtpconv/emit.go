package rtpconv

import (
	"errors"

	"github.com/wishgate/wishgate/internal/codec"
)

// Emit receives one output RTP payload. The payload aliases the
// repacketizer's buffers (or the input packet) and is valid only during the
// call: copy it. marker is the RTP marker bit (last packet of an access unit).
type Emit func(payload []byte, marker bool)

var (
	// ErrUnsupportedPacket is returned for packetization types outside
	// non-interleaved mode (STAP-B, MTAP, FU-B, PACI): they are dropped.
	ErrUnsupportedPacket = errors.New("rtpconv: unsupported RTP packetization type")
	// ErrMalformed is returned for a payload whose structure is inconsistent.
	ErrMalformed = errors.New("rtpconv: malformed payload")
)

// maxNALUSize bounds the reassembly of one fragmented NAL unit. A source that
// sends fragments without an end bit (lost, or hostile) must not grow the
// buffer forever; 4 MiB is well above an intra-coded 4K picture's largest
// slice at camera bitrates.
const maxNALUSize = 4 << 20

// Stats are a repacketizer's counters. They are plain fields: read them from
// the goroutine that pushes packets.
type Stats struct {
	// Fragmented counts NAL units larger than the payload budget that were
	// split into fragmentation units.
	Fragmented uint64
	// LostFragments counts NAL units dropped because a fragment was missing.
	LostFragments uint64
	// ParamsInserted counts parameter-set packets inserted before keyframes.
	ParamsInserted uint64
	// Reordered counts access units whose timestamp went backwards: the
	// source uses B-frames, which WebRTC decoders in browsers do not reorder.
	Reordered uint64
}

// fragmenter splits one NAL unit into fragmentation units (H.264 FU-A,
// RFC 6184 §5.8; H.265 FU, RFC 7798 §4.4.3).
type fragmenter struct {
	buf []byte
}

// fragment emits nal as FUs of at most max bytes. hdr is the FU's own
// header (FU indicator for H.264, payload header + FU header for H.265) with
// the S and E bits clear in its last byte; skip is the length of the NAL
// unit header, which the FUs replace.
func (f *fragmenter) fragment(nal []byte, hdr []byte, skip int, max int, marker bool, emit Emit) {
	data := nal[skip:]
	chunk := max - len(hdr)
	first := true
	for len(data) > 0 {
		n := min(chunk, len(data))
		f.buf = append(f.buf[:0], hdr...)
		last := n == len(data)
		fu := &f.buf[len(hdr)-1]
		if first {
			*fu |= codec.FUStart
		}
		if last {
			*fu |= codec.FUEnd
		}
		f.buf = append(f.buf, data[:n]...)
		emit(f.buf, marker && last)
		data = data[n:]
		first = false
	}
}

// aggregate builds an aggregation packet (STAP-A or AP) of the given header
// followed by each unit with a 16-bit size (RFC 6184 §5.7.1, RFC 7798
// §4.4.2), or returns nil if it would exceed max.
func (f *fragmenter) aggregate(hdr []byte, units [][]byte, max int) []byte {
	n := len(hdr)
	for _, u := range units {
		n += 2 + len(u)
	}
	if n > max {
		return nil
	}
	f.buf = append(f.buf[:0], hdr...)
	for _, u := range units {
		f.buf = append(f.buf, byte(len(u)>>8), byte(len(u)))
		f.buf = append(f.buf, u...)
	}
	return f.buf
}

// auTracker follows access-unit boundaries by RTP timestamp (some cameras
// never set the marker bit) and detects reordered, i.e. B-frame, streams.
type auTracker struct {
	started bool
	ts      uint32
}

// next reports whether ts starts a new access unit and whether it went
// backwards (presentation order differs from decode order).
func (a *auTracker) next(ts uint32) (newAU, backwards bool) {
	if !a.started {
		a.started, a.ts = true, ts
		return true, false
	}
	if ts == a.ts {
		return false, false
	}
	backwards = int32(ts-a.ts) < 0
	a.ts = ts
	return true, backwards
}

// seqTracker detects gaps in the input sequence numbers.
type seqTracker struct {
	started bool
	last    uint16
}

func (s *seqTracker) gap(seq uint16) bool {
	gap := s.started && seq != s.last+1
	s.started, s.last = true, seq
	return gap
}

// paramsSeen records which parameter sets the current access unit carried.
type paramsSeen uint8

func (s *paramsSeen) add(k codec.ParamKind) {
	if k != codec.NotParam {
		*s |= 1 << k
	}
}

func (s paramsSeen) has(kinds ...codec.ParamKind) bool {
	for _, k := range kinds {
		if s&(1<<k) == 0 {
			return false
		}
	}
	return true
}
