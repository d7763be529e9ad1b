package codec

// VP9 payload descriptor bits (RFC 9628 §4.2), byte 0: I P L F B E V Z.
const (
	vp9I   = 0x80 // PictureID present
	vp9P   = 0x40 // inter-picture predicted
	vp9L   = 0x20 // layer indices present
	vp9B   = 0x08 // start of a frame
	vp9M   = 0x80 // PictureID byte: 15-bit PictureID, second byte follows
	vp9SID = 0x0E // layer byte TID(3)|U|SID(3)|D: spatial layer id
)

// vp9Keyframe reports the first packet of a frame (B=1) that uses no
// inter-picture prediction (P=0) in the base spatial layer. With spatial
// scalability, P=0 on an upper layer only means it predicts from the layer
// below (RFC 9628 §4.2), so that layer alone is not a refresh point. Without
// L, the stream has a single spatial layer.
func vp9Keyframe(payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	b0 := payload[0]
	if b0&vp9B == 0 || b0&vp9P != 0 {
		return false
	}
	i := 1
	if b0&vp9I != 0 {
		if len(payload) <= i {
			return false
		}
		if payload[i]&vp9M != 0 {
			i += 2
		} else {
			i++
		}
	}
	if b0&vp9L != 0 {
		return len(payload) > i && payload[i]&vp9SID == 0
	}
	// Descriptor must at least be complete up to where we looked.
	return len(payload) >= i
}
