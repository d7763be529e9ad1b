package codec

// H.265 NAL unit types (ITU-T H.265 Table 7-1) and RTP packet types
// (RFC 7798 §4.4).
const (
	h265IRAPFirst = 16 // BLA_W_LP
	h265IRAPLast  = 21 // CRA_NUT; 22-23 are reserved IRAP types, never emitted
	h265VPS       = 32
	h265SPS       = 33
	h265AP        = 48
	h265FU        = 49

	// h265HeaderLen is the 2-byte NAL unit / payload header (RFC 7798 §1.1.4).
	h265HeaderLen  = 2
	h265FUTypeMask = 0x3F
)

// h265Type extracts the 6-bit type from the first header byte:
// F(1) | Type(6) | LayerId high bit(1).
func h265Type(b0 byte) uint8 { return (b0 >> 1) & 0x3F }

// h265Refresh reports whether NAL type t starts a decoder refresh point: any
// IRAP picture (BLA, IDR, CRA; H.265 Table 7-1), or the VPS/SPS that encoders send
// immediately ahead of it and without which it cannot be decoded.
func h265Refresh(t uint8) bool {
	return (t >= h265IRAPFirst && t <= h265IRAPLast) || t == h265VPS || t == h265SPS
}

func h265Keyframe(payload []byte) bool {
	if len(payload) < h265HeaderLen {
		return false
	}
	switch t := h265Type(payload[0]); t {
	case h265AP:
		units := aggUnits{rest: payload[h265HeaderLen:]}
		for u, ok := units.next(); ok; u, ok = units.next() {
			if len(u) >= h265HeaderLen && h265Refresh(h265Type(u[0])) {
				return true
			}
		}
		return false
	case h265FU:
		// Payload header (2) + FU header S|E|FuType(6) (RFC 7798 §4.4.3).
		// No DONL is assumed, as for APs.
		const fuHeader = h265HeaderLen
		return len(payload) > fuHeader && payload[fuHeader]&fuStart != 0 &&
			h265Refresh(payload[fuHeader]&h265FUTypeMask)
	default:
		// Single NAL unit packets; PACI (50) and reserved types never match.
		return h265Refresh(t)
	}
}
