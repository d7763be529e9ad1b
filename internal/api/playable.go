package api

import (
	"strings"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/streams"
)

// playable tells whether WHEP hands a track to a browser (the same test
// WHEP applies, codec.WebRTCPlayable) and, when not or only partly, why.
func playable(c streams.Codec) (bool, string) {
	if err := codec.WebRTCPlayable(c.MimeType, c.ClockRate, c.Channels); err != nil {
		return false, strings.TrimPrefix(err.Error(), codec.ErrNotWebRTC.Error()+": ") + "; RTSP readers still get it"
	}
	if codec.Parse(c.MimeType) == codec.H265 {
		return true, "H265: plays only in browsers with HEVC WebRTC decoding (Safari, recent Chrome on hardware that decodes it)"
	}
	return true, ""
}
