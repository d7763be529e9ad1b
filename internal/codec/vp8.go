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

// vp8FrameStart returns the VP8 payload of the packet that starts a frame
// (the first packet of partition 0, S=1 with PID=0, RFC 7741 §4.3), i.e.
// the bytes after the payload descriptor, which begin with the frame tag.
// ok is false for other packets and for a truncated descriptor.
func vp8FrameStart(payload []byte) (frame []byte, ok bool) {
	if len(payload) == 0 || payload[0]&(vp8S|vp8PIDMsk) != vp8S {
		return nil, false
	}
	i := 1
	if payload[0]&vp8X != 0 {
		if len(payload) <= i {
			return nil, false
		}
		x := payload[i]
		i++
		if x&vp8I != 0 {
			if len(payload) <= i {
				return nil, false
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
	if len(payload) <= i {
		return nil, false
	}
	return payload[i:], true
}

// vp8Keyframe: P=0 in the frame tag means key frame (RFC 6386 §9.1, bit 0).
func vp8Keyframe(payload []byte) bool {
	f, ok := vp8FrameStart(payload)
	return ok && f[0]&vp8P == 0
}

// vp8Resolution reads a key frame header: a 3-byte frame tag, the start
// code 9d 01 2a, then 14-bit width and height each with 2 scaling bits
// (RFC 6386 §9.1).
func vp8Resolution(payload []byte) (int, int, bool) {
	f, ok := vp8FrameStart(payload)
	if !ok || f[0]&vp8P != 0 || len(f) < 10 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0, false
	}
	w := int(f[6]) | int(f[7]&0x3f)<<8
	h := int(f[8]) | int(f[9]&0x3f)<<8
	return w, h, w > 0 && h > 0
}
