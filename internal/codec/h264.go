package codec

// H.264 NAL unit types (ITU-T H.264 Table 7-1) and RTP packet types
// (RFC 6184 §5.2).
const (
	H264TypeSlice = 1 // coded slice of a non-IDR picture
	H264TypeIDR   = 5
	H264TypeSPS   = 7
	H264TypePPS   = 8
	H264TypeSTAPA = 24
	H264TypeFUA   = 28

	// H264TypeMask selects the type from the NAL unit header
	// F(1) | NRI(2) | Type(5), and from the FU header S|E|R|Type(5).
	H264TypeMask = 0x1F
	// H264NRIMask selects F and NRI, which an FU indicator or a STAP-A
	// header carries over from the NAL units it holds (RFC 6184 §5.7, §5.8).
	H264NRIMask = 0xE0
	// H264RefIdcMask selects NRI (nal_ref_idc) alone, without F.
	H264RefIdcMask = 0x60
)

// FU header S and E bits: the first and last fragment of a NAL unit
// (RFC 6184 §5.8, and the same positions in the H.265 FU header, RFC 7798
// §4.4.3).
const (
	FUStart = 0x80
	FUEnd   = 0x40
)

// H264Type extracts the NAL unit (or RTP packet) type from a header byte.
func H264Type(b0 byte) uint8 { return b0 & H264TypeMask }

// H264IsNAL reports whether t is a real NAL unit type rather than an RTP
// packetization type. RFC 6184 §5.2: 1-23 are single NAL units, 0 and 30-31
// are unspecified, 24-29 are aggregation/fragmentation. Aggregates must not
// nest and FUs carry exactly one NAL unit (§5.7, §5.8), so anything outside
// 1-23 found inside one is garbage.
func H264IsNAL(t uint8) bool { return t >= 1 && t <= 23 }

// h264Refresh reports whether NAL type t starts a decoder refresh point.
// SPS counts as well as IDR because encoders (libwebrtc, OBS, ffmpeg) send
// SPS/PPS immediately before the IDR, often in their own packet, and a viewer
// must receive them to decode the IDR; starting at the IDR would lose them.
func h264Refresh(t uint8) bool { return t == H264TypeIDR || t == H264TypeSPS }

func h264Keyframe(payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	switch t := H264Type(payload[0]); t {
	case H264TypeSTAPA:
		units := AggregatedUnits(payload[1:])
		for u, ok := units.Next(); ok; u, ok = units.Next() {
			if h264Refresh(H264Type(u[0])) {
				return true
			}
		}
		return false
	case H264TypeFUA:
		// Only the first fragment starts the NAL unit; continuations of an
		// IDR are useless to a viewer that missed the start (RFC 6184 §5.8).
		return len(payload) >= 2 && payload[1]&FUStart != 0 &&
			h264Refresh(H264Type(payload[1]))
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
	switch t := H264Type(payload[0]); {
	case H264IsNAL(t):
		dst = append(dst, t)
	case t == H264TypeSTAPA:
		units := AggregatedUnits(payload[1:])
		for u, ok := units.Next(); ok; u, ok = units.Next() {
			if inner := H264Type(u[0]); H264IsNAL(inner) {
				dst = append(dst, inner)
			}
		}
	case t == H264TypeFUA:
		if len(payload) >= 2 && payload[1]&FUStart != 0 {
			if inner := H264Type(payload[1]); H264IsNAL(inner) {
				dst = append(dst, inner)
			}
		}
	}
	return dst
}
