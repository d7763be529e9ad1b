package codec

import "strings"

// kind is the codec family a MIME type names. It is resolved from the string
// on every call rather than cached, because the package keeps no state and
// strings.EqualFold on these short ASCII names does not allocate.
type kind uint8

const (
	kindUnknown kind = iota
	kindAudio
	kindH264
	kindH265
	kindVP8
	kindVP9
	kindAV1
)

// kindOf maps a MIME type to its codec family. Media type names are
// case-insensitive (RFC 6838 §4.2), and pion reports whatever case the remote
// SDP used ("video/h264" from some encoders, "video/H264" from browsers).
func kindOf(mime string) kind {
	switch {
	case IsAudio(mime):
		return kindAudio
	case strings.EqualFold(mime, "video/H264"):
		return kindH264
	case strings.EqualFold(mime, "video/H265"):
		return kindH265
	case strings.EqualFold(mime, "video/VP8"):
		return kindVP8
	case strings.EqualFold(mime, "video/VP9"):
		return kindVP9
	case strings.EqualFold(mime, "video/AV1"):
		return kindAV1
	default:
		return kindUnknown
	}
}

// IsAudio reports whether mime has the "audio/" top-level type, compared
// case-insensitively.
func IsAudio(mime string) bool { return hasPrefixFold(mime, "audio/") }

// IsVideo reports whether mime has the "video/" top-level type, compared
// case-insensitively. Note that "video/rtx" and the FEC types are video by
// this test even though they carry no decodable pictures.
func IsVideo(mime string) bool { return hasPrefixFold(mime, "video/") }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
