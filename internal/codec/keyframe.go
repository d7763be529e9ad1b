package codec

// IsKeyframe reports whether an RTP payload (RTP header and padding already
// stripped) is the first packet of a decoder refresh point for the codec
// named by mime, i.e. a packet a newly joined viewer can start decoding at.
//
// Audio frames are independently decodable, so every audio packet qualifies.
// Unknown video codecs (including "video/rtx" and FEC, whose payloads are not
// media) never do. Malformed or truncated payloads report false.
func IsKeyframe(mime string, payload []byte) bool {
	switch kindOf(mime) {
	case kindAudio:
		return true
	case kindH264:
		return h264Keyframe(payload)
	case kindH265:
		return h265Keyframe(payload)
	case kindVP8:
		return vp8Keyframe(payload)
	case kindVP9:
		return vp9Keyframe(payload)
	case kindAV1:
		return av1Keyframe(payload)
	default:
		return false
	}
}
