package codec

import (
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/vp9"
)

// Resolution returns the picture size an RTP payload declares, if it
// carries one: an H.264/H.265 SPS (single NAL unit or inside an aggregation
// packet), the first packet of a VP8 key frame (RFC 6386 §9.1), a VP9
// scalability structure (draft-ietf-payload-vp9 §4.2.1) or key frame
// header, or an AV1 sequence header OBU. Other payloads report ok=false.
// The bit parsing of parameter sets is mediacommon's; this function only
// finds them in RTP payloads. Callers keep it off the per-packet path (it
// is meant for keyframe packets).
func Resolution(mime string, payload []byte) (width, height int, ok bool) {
	switch kindOf(mime) {
	case kindH264:
		width, height, ok = h264Resolution(payload)
	case kindH265:
		width, height, ok = h265Resolution(payload)
	case kindVP8:
		width, height, ok = vp8Resolution(payload)
	case kindVP9:
		width, height, ok = vp9Resolution(payload)
	case kindAV1:
		width, height, ok = av1Resolution(payload)
	}
	if !ok || width <= 0 || height <= 0 {
		return 0, 0, false
	}
	return width, height, true
}

func h264Resolution(payload []byte) (int, int, bool) {
	if len(payload) == 0 {
		return 0, 0, false
	}
	sps := func(nalu []byte) (int, int, bool) {
		var s h264.SPS
		if len(nalu) == 0 || nalu[0]&h264TypeMask != h264SPS || s.Unmarshal(nalu) != nil {
			return 0, 0, false
		}
		return s.Width(), s.Height(), s.Width() > 0 && s.Height() > 0
	}
	if payload[0]&h264TypeMask == h264STAPA {
		units := aggUnits{rest: payload[1:]}
		for u, ok := units.next(); ok; u, ok = units.next() {
			if w, h, ok := sps(u); ok {
				return w, h, true
			}
		}
		return 0, 0, false
	}
	return sps(payload)
}

func h265Resolution(payload []byte) (int, int, bool) {
	if len(payload) < 2 {
		return 0, 0, false
	}
	sps := func(nalu []byte) (int, int, bool) {
		var s h265.SPS
		if len(nalu) < 2 || h265Type(nalu[0]) != h265SPS || s.Unmarshal(nalu) != nil {
			return 0, 0, false
		}
		return s.Width(), s.Height(), s.Width() > 0 && s.Height() > 0
	}
	if h265Type(payload[0]) == h265AP {
		// RFC 7798 §4.4.2; WebRTC never negotiates sprop-max-don-diff, so
		// there is no DONL/DOND.
		units := aggUnits{rest: payload[2:]}
		for u, ok := units.next(); ok; u, ok = units.next() {
			if w, h, ok := sps(u); ok {
				return w, h, true
			}
		}
		return 0, 0, false
	}
	return sps(payload)
}

// vp8Resolution reads the key frame header after the payload descriptor:
// a 3-byte frame tag, the start code 9d 01 2a, then 14-bit width and
// height each with 2 scaling bits (RFC 6386 §9.1).
func vp8Resolution(payload []byte) (int, int, bool) {
	if !vp8Keyframe(payload) {
		return 0, 0, false
	}
	i := 1
	if payload[0]&vp8X != 0 {
		x := payload[i]
		i++
		if x&vp8I != 0 {
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
	f := payload[i:]
	if len(f) < 10 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0, false
	}
	w := int(f[6]) | int(f[7]&0x3f)<<8
	h := int(f[8]) | int(f[9]&0x3f)<<8
	return w, h, w > 0 && h > 0
}

const (
	vp9F = 0x10 // flexible mode
	vp9V = 0x02 // scalability structure present
	vp9N = 0x01 // P_DIFF byte: another follows
)

// vp9Resolution prefers the scalability structure libwebrtc sends with key
// frames (its largest spatial layer is the picture size); without one it
// parses the uncompressed header of a key frame's first packet.
func vp9Resolution(payload []byte) (int, int, bool) {
	if len(payload) == 0 {
		return 0, 0, false
	}
	b0 := payload[0]
	i := 1
	if b0&vp9I != 0 {
		if len(payload) <= i {
			return 0, 0, false
		}
		if payload[i]&vp9M != 0 {
			i += 2
		} else {
			i++
		}
	}
	if b0&vp9L != 0 {
		i++
		if b0&vp9F == 0 {
			i++ // TL0PICIDX
		}
	}
	if b0&vp9F != 0 && b0&vp9P != 0 {
		for n := 0; n < 3; n++ { // at most 3 reference indices
			if len(payload) <= i {
				return 0, 0, false
			}
			more := payload[i]&vp9N != 0
			i++
			if !more {
				break
			}
		}
	}
	if len(payload) <= i {
		return 0, 0, false
	}
	if b0&vp9V != 0 {
		ss := payload[i]
		layers := int(ss>>5) + 1
		if ss&0x10 != 0 && len(payload) >= i+1+4*layers { // Y: sizes present
			p := payload[i+1+4*(layers-1):]
			w := int(p[0])<<8 | int(p[1])
			h := int(p[2])<<8 | int(p[3])
			if w > 0 && h > 0 {
				return w, h, true
			}
		}
		return 0, 0, false // the structure's length is not needed otherwise
	}
	if !vp9Keyframe(payload) {
		return 0, 0, false
	}
	var hdr vp9.Header
	if hdr.Unmarshal(payload[i:]) != nil || hdr.FrameSize == nil {
		return 0, 0, false
	}
	return hdr.Width(), hdr.Height(), hdr.Width() > 0 && hdr.Height() > 0
}

const (
	av1W     = 0x30 // aggregation header: OBU element count
	obuSeqHd = 1
)

// av1Resolution walks the OBU elements of an aggregation packet (AV1 RTP
// spec §4.4) looking for a whole sequence header OBU.
func av1Resolution(payload []byte) (int, int, bool) {
	if len(payload) < 2 {
		return 0, 0, false
	}
	count := int(payload[0]&av1W) >> 4
	if payload[0]&0x80 != 0 { // Z: the first element continues an OBU
		return 0, 0, false
	}
	rest := payload[1:]
	for n := 0; len(rest) > 0 && n < 64; n++ {
		var elem []byte
		if count != 0 && n == count-1 {
			elem, rest = rest, nil
		} else {
			size, used := leb128(rest)
			if used == 0 || size > uint64(len(rest)-used) {
				return 0, 0, false
			}
			elem, rest = rest[used:used+int(size)], rest[used+int(size):]
		}
		if len(elem) > 0 && (elem[0]>>3)&0x0f == obuSeqHd {
			var sh av1.SequenceHeader
			if sh.Unmarshal(elem) != nil {
				return 0, 0, false
			}
			return sh.Width(), sh.Height(), sh.Width() > 0 && sh.Height() > 0
		}
	}
	return 0, 0, false
}

// leb128 decodes an unsigned LEB128 value; used is 0 if malformed.
func leb128(b []byte) (v uint64, used int) {
	for i := 0; i < 8 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
