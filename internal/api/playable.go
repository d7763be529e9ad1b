package api

import (
	"strings"

	"github.com/wishgate/wishgate/streams"
)

// playable tells whether WHEP can hand a track to a browser as it is (the
// gateway never transcodes) and, when not or only partly, why.
func playable(c streams.Codec) (bool, string) {
	switch strings.ToLower(c.MimeType) {
	case "video/h264", "video/vp8", "video/vp9", "video/av1",
		"audio/opus", "audio/pcmu", "audio/pcma", "audio/g722":
		return true, ""
	case "video/h265":
		return true, "H265: plays only in browsers with HEVC WebRTC decoding (Safari, recent Chrome on hardware that decodes it)"
	case "audio/mpeg4-generic", "audio/mp4a-latm", "audio/aac":
		return false, "AAC: not playable in browsers over WebRTC (RTSP readers still get it)"
	}
	return false, c.Name() + ": not a WebRTC codec (RTSP readers still get it)"
}
