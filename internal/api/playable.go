package api

import (
	"strings"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/streams"
)

// playable tells whether a browser can play a track over WHEP (the test
// WHEP applies, codec.WebRTCPlayable, and whether browsers decode what it
// forwards, codec.BrowserDecodable) and, when not or only partly, why.
func playable(c streams.Codec) (bool, string) {
	if err := codec.WebRTCPlayable(c.MimeType, c.ClockRate, c.Channels); err != nil {
		return false, strings.TrimPrefix(err.Error(), codec.ErrNotWebRTC.Error()+": ") + "; RTSP readers still get it"
	}
	if err := codec.BrowserDecodable(c.MimeType, c.Fmtp); err != nil {
		return false, strings.TrimPrefix(err.Error(), codec.ErrNotInBrowsers.Error()+": ") +
			"; WHEP still serves it to clients that decode it, RTSP readers get it"
	}
	if codec.Parse(c.MimeType) == codec.H265 {
		return true, "H265: plays only in browsers with HEVC WebRTC decoding (Safari, recent Chrome on hardware that decodes it)"
	}
	return true, ""
}
