package codec

import "strings"

// ID is a codec resolved from its MIME type. Callers resolve it once, when a
// track is created (Parse), and keep it beside the track, so the per-packet
// path switches on a small integer instead of comparing strings.
type ID uint8

const (
	// Unknown is anything this package has no knowledge of: an unknown
	// video codec, "video/rtx" and FEC (whose payloads are not media), or a
	// MIME type that is neither audio nor video.
	Unknown ID = iota
	// OtherAudio is an audio codec without specific handling here
	// (telephone-event, ...). Like every audio codec, each packet is
	// independently decodable.
	OtherAudio
	H264
	H265
	VP8
	VP9
	AV1
	Opus
	PCMU
	PCMA
	G722
	// MPEG4Audio is AAC in RFC 3640 "mpeg4-generic" packetization.
	MPEG4Audio
	// MPEG4AudioLATM is AAC in RFC 6416 "MP4A-LATM" packetization.
	MPEG4AudioLATM
	// L16 and L24 are linear PCM (RFC 3551 §4.5.11, RFC 3190).
	L16
	L24
)

// String is the encoding name as RTP uses it (RFC 3551, RFC 6184, RFC 7798,
// RFC 7741, RFC 9628, the AV1 RTP spec, RFC 7587, RFC 3640, RFC 6416): "H264",
// "opus"; "" for Unknown and OtherAudio.
func (id ID) String() string {
	switch id {
	case H264:
		return "H264"
	case H265:
		return "H265"
	case VP8:
		return "VP8"
	case VP9:
		return "VP9"
	case AV1:
		return "AV1"
	case Opus:
		return "opus"
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	case G722:
		return "G722"
	case MPEG4Audio:
		return "MPEG4-GENERIC"
	case MPEG4AudioLATM:
		return "MP4A-LATM"
	case L16:
		return "L16"
	case L24:
		return "L24"
	}
	return ""
}

// Audio reports whether id is an audio codec (OtherAudio included).
func (id ID) Audio() bool { return id == OtherAudio || id >= Opus && id <= L24 }

// Video reports whether id is a video codec whose bitstream this package reads.
func (id ID) Video() bool { return id >= H264 && id <= AV1 }

// Parse resolves a MIME type ("video/H264", "audio/opus"). Media type names
// are case-insensitive (RFC 6838 §4.2), and pion reports whatever case the
// remote SDP used ("video/h264" from some encoders, "video/H264" from
// browsers). It does not allocate.
func Parse(mime string) ID {
	top, name, ok := strings.Cut(mime, "/")
	if !ok {
		return Unknown
	}
	switch {
	case strings.EqualFold(top, "audio"):
		for id := Opus; id <= L24; id++ {
			if strings.EqualFold(name, id.String()) {
				return id
			}
		}
		return OtherAudio
	case strings.EqualFold(top, "video"):
		for id := H264; id <= AV1; id++ {
			if strings.EqualFold(name, id.String()) {
				return id
			}
		}
	}
	return Unknown
}

// Keyframe reports whether an RTP payload (RTP header and padding already
// stripped) is the first packet of a decoder refresh point, i.e. a packet a
// newly joined viewer can start decoding at.
//
// Audio frames are independently decodable, so every audio packet qualifies.
// Unknown codecs never do. Malformed or truncated payloads report false.
func (id ID) Keyframe(payload []byte) bool {
	switch id {
	case H264:
		return h264Keyframe(payload)
	case H265:
		return h265Keyframe(payload)
	case VP8:
		return vp8Keyframe(payload)
	case VP9:
		return vp9Keyframe(payload)
	case AV1:
		return av1Keyframe(payload)
	default:
		return id.Audio()
	}
}
