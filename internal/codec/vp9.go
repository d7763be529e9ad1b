package codec

import "github.com/bluenviron/mediacommon/v2/pkg/codecs/vp9"

// VP9 payload descriptor bits (RFC 9628 §4.2), byte 0: I P L F B E V Z.
const (
	vp9I   = 0x80 // PictureID present
	vp9P   = 0x40 // inter-picture predicted
	vp9L   = 0x20 // layer indices present
	vp9F   = 0x10 // flexible mode
	vp9B   = 0x08 // start of a frame
	vp9V   = 0x02 // scalability structure present
	vp9M   = 0x80 // PictureID byte: 15-bit PictureID, second byte follows
	vp9SID = 0x0E // layer byte TID(3)|U|SID(3)|D: spatial layer id
	vp9N   = 0x01 // P_DIFF byte: another follows
)

// vp9Descriptor is the part of a VP9 payload descriptor the gateway reads.
type vp9Descriptor struct {
	flags byte  // byte 0
	sid   uint8 // spatial layer; 0 without layer indices
	// rest is what follows the descriptor's fixed fields and reference
	// indices: the scalability structure if V is set, else the frame.
	rest []byte
}

// parseVP9Descriptor reads a descriptor up to the scalability structure.
// ok is false if it is truncated.
func parseVP9Descriptor(payload []byte) (d vp9Descriptor, ok bool) {
	if len(payload) == 0 {
		return d, false
	}
	d.flags = payload[0]
	i := 1
	if d.flags&vp9I != 0 {
		if len(payload) <= i {
			return d, false
		}
		if payload[i]&vp9M != 0 {
			i += 2
		} else {
			i++
		}
	}
	if d.flags&vp9L != 0 {
		if len(payload) <= i {
			return d, false
		}
		d.sid = (payload[i] & vp9SID) >> 1
		i++
		if d.flags&vp9F == 0 {
			i++ // TL0PICIDX
		}
	}
	if d.flags&vp9F != 0 && d.flags&vp9P != 0 {
		for range 3 { // at most 3 reference indices
			if len(payload) <= i {
				return d, false
			}
			more := payload[i]&vp9N != 0
			i++
			if !more {
				break
			}
		}
	}
	if len(payload) < i {
		return d, false
	}
	d.rest = payload[i:]
	return d, true
}

// keyframe: the first packet of a frame (B=1) that uses no inter-picture
// prediction (P=0) in the base spatial layer. With spatial scalability, P=0
// on an upper layer only means it predicts from the layer below (RFC 9628
// §4.2), so that layer alone is not a refresh point. Without L, the stream
// has a single spatial layer.
func (d vp9Descriptor) keyframe() bool {
	return d.flags&vp9B != 0 && d.flags&vp9P == 0 && d.sid == 0
}

func vp9Keyframe(payload []byte) bool {
	d, ok := parseVP9Descriptor(payload)
	return ok && d.keyframe()
}

// vp9Resolution prefers the scalability structure libwebrtc sends with key
// frames (its largest spatial layer is the picture size); without one it
// parses the uncompressed header of a key frame's first packet.
func vp9Resolution(payload []byte) (int, int, bool) {
	d, ok := parseVP9Descriptor(payload)
	if !ok {
		return 0, 0, false
	}
	if d.flags&vp9V != 0 {
		if len(d.rest) == 0 {
			return 0, 0, false
		}
		ss := d.rest[0]
		layers := int(ss>>5) + 1
		if ss&0x10 != 0 && len(d.rest) >= 1+4*layers { // Y: sizes present
			p := d.rest[1+4*(layers-1):]
			w := int(p[0])<<8 | int(p[1])
			h := int(p[2])<<8 | int(p[3])
			if w > 0 && h > 0 {
				return w, h, true
			}
		}
		return 0, 0, false // the structure's length is not needed otherwise
	}
	if !d.keyframe() {
		return 0, 0, false
	}
	var hdr vp9.Header
	if hdr.Unmarshal(d.rest) != nil || hdr.FrameSize == nil {
		return 0, 0, false
	}
	return hdr.Width(), hdr.Height(), hdr.Width() > 0 && hdr.Height() > 0
}
