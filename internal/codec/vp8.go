package codec

// VP8 payload descriptor bits (RFC 7741 §4.2).
const (
	vp8X      = 0x80 // byte 0: extended control bits present
	vp8S      = 0x10 // byte 0: start of VP8 partition
	vp8PIDMsk = 0x07 // byte 0: partition index
	vp8I      = 0x80 // X byte: PictureID present
	vp8L      = 0x40 // X byte: TL0PICIDX present
	vp8TK     = 0x30 // X byte: T or K; both live in one shared TID/Y/KEYIDX byte
	vp8M      = 0x80 // PictureID byte: 15-bit PictureID, second byte follows
	vp8P      = 0x01 // payload header: inverse key frame flag (RFC 7741 §4.3)
)

func vp8Keyframe(payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	// The frame tag that holds P is only at the start of partition 0, i.e.
	// S=1 with PID=0 (RFC 7741 §4.3); anywhere else the byte is media data.
	if payload[0]&(vp8S|vp8PIDMsk) != vp8S {
		return false
	}
	i := 1
	if payload[0]&vp8X != 0 {
		if len(payload) <= i {
			return false
		}
		x := payload[i]
		i++
		if x&vp8I != 0 {
			if len(payload) <= i {
				return false
			}
			if payload[i]&vp8M != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&vp8L != 0 {
			i++
		}
		if x&vp8TK != 0 {
			i++
		}
	}
	// P=0 means key frame (RFC 6386 §9.1 frame tag, bit 0).
	return len(payload) > i && payload[i]&vp8P == 0
}
