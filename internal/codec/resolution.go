package codec

import (
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// Resolution returns the picture size an RTP payload declares, if it
// carries one: an H.264/H.265 SPS (single NAL unit or inside an aggregation
// packet), the first packet of a VP8 key frame (RFC 6386 §9.1), a VP9
// scalability structure (RFC 9628 §4.2.1) or key frame
// header, or an AV1 sequence header OBU. Other payloads report ok=false.
// The bit parsing of parameter sets is mediacommon's; this function only
// finds them in RTP payloads. Callers keep it off the per-packet path (it
// is meant for keyframe packets).
func (id ID) Resolution(payload []byte) (width, height int, ok bool) {
	switch id {
	case H264:
		width, height, ok = h264Resolution(payload)
	case H265:
		width, height, ok = h265Resolution(payload)
	case VP8:
		width, height, ok = vp8Resolution(payload)
	case VP9:
		width, height, ok = vp9Resolution(payload)
	case AV1:
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
		if len(nalu) == 0 || H264Type(nalu[0]) != H264TypeSPS || s.Unmarshal(nalu) != nil {
			return 0, 0, false
		}
		return s.Width(), s.Height(), s.Width() > 0 && s.Height() > 0
	}
	if H264Type(payload[0]) == H264TypeSTAPA {
		units := AggregatedUnits(payload[1:])
		for u, ok := units.Next(); ok; u, ok = units.Next() {
			if w, h, ok := sps(u); ok {
				return w, h, true
			}
		}
		return 0, 0, false
	}
	return sps(payload)
}

func h265Resolution(payload []byte) (int, int, bool) {
	if len(payload) < H265HeaderLen {
		return 0, 0, false
	}
	sps := func(nalu []byte) (int, int, bool) {
		var s h265.SPS
		if len(nalu) < H265HeaderLen || H265Type(nalu[0]) != H265TypeSPS || s.Unmarshal(nalu) != nil {
			return 0, 0, false
		}
		return s.Width(), s.Height(), s.Width() > 0 && s.Height() > 0
	}
	if H265Type(payload[0]) == H265TypeAP {
		units := AggregatedUnits(payload[H265HeaderLen:])
		for u, ok := units.Next(); ok; u, ok = units.Next() {
			if w, h, ok := sps(u); ok {
				return w, h, true
			}
		}
		return 0, 0, false
	}
	return sps(payload)
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
