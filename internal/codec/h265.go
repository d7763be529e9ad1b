package codec

// H.265 NAL unit types (ITU-T H.265 Table 7-1) and RTP packet types
// (RFC 7798 §4.4).
const (
	H265TypeIRAPLow  = 16 // BLA_W_LP, the first IRAP type
	H265TypeIRAPHigh = 21 // CRA_NUT; 22-23 are reserved IRAP types, never emitted
	H265TypeVPS      = 32
	H265TypeSPS      = 33
	H265TypePPS      = 34
	H265TypeAP       = 48
	H265TypeFU       = 49

	// H265HeaderLen is the 2-byte NAL unit / payload header (RFC 7798 §1.1.4).
	H265HeaderLen = 2
	// H265FUTypeMask selects the type from the FU header S|E|FuType(6).
	H265FUTypeMask = 0x3F
	// H265TypeMask selects the 6-bit type once shifted down from the first
	// header byte (see H265Type).
	H265TypeMask = 0x3F
	// H265KeepMask selects F and the LayerId high bit from the first header
	// byte: what an AP or FU payload header keeps of the NAL unit header,
	// around its own type (RFC 7798 §4.4.2, §4.4.3).
	H265KeepMask = 0x81
)

// H265Type extracts the 6-bit type from the first header byte:
// F(1) | Type(6) | LayerId high bit(1).
func H265Type(b0 byte) uint8 { return (b0 >> 1) & H265TypeMask }

// H265IsNAL reports whether t is a real NAL unit type rather than an RTP
// packetization type (AP 48, FU 49, PACI 50, and the unspecified 51-63).
func H265IsNAL(t uint8) bool { return t < H265TypeAP }

// H265IsIRAP reports whether t is an IRAP picture (BLA, IDR, CRA).
func H265IsIRAP(t uint8) bool { return t >= H265TypeIRAPLow && t <= H265TypeIRAPHigh }

// h265Refresh reports whether NAL type t starts a decoder refresh point: any
// IRAP picture, or the VPS/SPS that encoders send immediately ahead of it and
// without which it cannot be decoded.
func h265Refresh(t uint8) bool {
	return H265IsIRAP(t) || t == H265TypeVPS || t == H265TypeSPS
}

func h265Keyframe(payload []byte) bool {
	if len(payload) < H265HeaderLen {
		return false
	}
	switch t := H265Type(payload[0]); t {
	case H265TypeAP:
		units := AggregatedUnits(payload[H265HeaderLen:])
		for u, ok := units.Next(); ok; u, ok = units.Next() {
			if len(u) >= H265HeaderLen && h265Refresh(H265Type(u[0])) {
				return true
			}
		}
		return false
	case H265TypeFU:
		// Payload header (2) + FU header S|E|FuType(6) (RFC 7798 §4.4.3).
		// No DONL is assumed, as for APs.
		const fuHeader = H265HeaderLen
		return len(payload) > fuHeader && payload[fuHeader]&FUStart != 0 &&
			h265Refresh(payload[fuHeader]&H265FUTypeMask)
	default:
		// Single NAL units; PACI (50) and reserved types never match.
		return h265Refresh(t)
	}
}
