package codec

// H.264 NAL unit types (ITU-T H.264 Table 7-1) and RTP packet types
// (RFC 6184 §5.2) this package cares about.
const (
	h264TypeMask = 0x1F
	h264IDR      = 5
	h264SPS      = 7
	h264STAPA    = 24
	h264FUA      = 28

	// fuStart is the S bit of the FU header (RFC 6184 §5.8); the same bit
	// position is used by the H.265 FU header (RFC 7798 §4.4.3).
	fuStart = 0x80
)

// h264Single reports whether t is a real NAL unit type rather than an RTP
// packetization type. RFC 6184 §5.2: 1-23 are single NAL units, 0 and 30-31
// are unspecified, 24-29 are aggregation/fragmentation. Aggregates must not
// nest and FUs carry exactly one NAL unit (§5.7, §5.8), so anything outside
// 1-23 found inside one is garbage and ignored.
func h264Single(t uint8) bool { return t >= 1 && t <= 23 }

// h264Refresh reports whether NAL type t starts a decoder refresh point.
// SPS counts as well as IDR because encoders (libwebrtc, OBS, ffmpeg) send
// SPS/PPS immediately before the IDR, often in their own packet, and a viewer
// must receive them to decode the IDR; starting at the IDR would lose them.
func h264Refresh(t uint8) bool { return t == h264IDR || t == h264SPS }

func h264Keyframe(payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	switch t := payload[0] & h264TypeMask; t {
	case h264STAPA:
		units := aggUnits{rest: payload[1:]}
		for u, ok := units.next(); ok; u, ok = units.next() {
			if h264Refresh(u[0] & h264TypeMask) {
				return true
			}
		}
		return false
	case h264FUA:
		// Only the first fragment starts the NAL unit; continuations of an
		// IDR are useless to a viewer that missed the start (RFC 6184 §5.8).
		return len(payload) >= 2 && payload[1]&fuStart != 0 &&
			h264Refresh(payload[1]&h264TypeMask)
	default:
		// Covers single NAL units; unsupported packet types (STAP-B, MTAP,
		// FU-B: interleaved mode only, never negotiated by WebRTC) and
		// types 0/30/31 cannot match h264Refresh.
		return h264Refresh(t)
	}
}

// H264NALTypes appends to dst the types of the NAL units whose start is
// carried by an RTP payload and returns the extended slice: the type of a
// single NAL unit packet, of every STAP-A member, or the inner type of an
// FU-A whose start bit is set. FU-A continuations, malformed STAP-A tails and
// packet types outside packetization modes 0/1 contribute nothing.
//
// It allocates only if dst lacks capacity; pass a reused buffer (dst[:0]) on
// the per-packet path.
func H264NALTypes(payload []byte, dst []uint8) []uint8 {
	if len(payload) == 0 {
		return dst
	}
	switch t := payload[0] & h264TypeMask; {
	case h264Single(t):
		dst = append(dst, t)
	case t == h264STAPA:
		units := aggUnits{rest: payload[1:]}
		for u, ok := units.next(); ok; u, ok = units.next() {
			if inner := u[0] & h264TypeMask; h264Single(inner) {
				dst = append(dst, inner)
			}
		}
	case t == h264FUA:
		if len(payload) >= 2 && payload[1]&fuStart != 0 {
			if inner := payload[1] & h264TypeMask; h264Single(inner) {
				dst = append(dst, inner)
			}
		}
	}
	return dst
}
