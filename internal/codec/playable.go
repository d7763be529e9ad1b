package codec

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotWebRTC reports a codec that WebRTC peers cannot receive.
var ErrNotWebRTC = errors.New("codec not playable over WebRTC")

// WebRTCPlayable reports whether a track with this codec can be sent to a
// WebRTC viewer as it is (given that the viewer offers it). A WHEP handler
// sends such a track's derived track instead (a camera's AAC transcoded to
// Opus, streams/derived.go) or, without one, skips it and sends the rest:
// AAC audio from a camera must not stop its video reaching a browser. The
// error says why.
func WebRTCPlayable(mime string, clockRate uint32, channels uint16) error {
	name := mime
	if i := strings.IndexByte(mime, '/'); i >= 0 {
		name = mime[i+1:]
	}
	switch Parse(mime) {
	case H264, H265, VP8, VP9, AV1:
		if clockRate == 90000 {
			return nil
		}
	case Opus:
		if clockRate == 48000 {
			return nil
		}
	case PCMU, PCMA:
		if clockRate == 8000 && channels <= 1 {
			return nil
		}
		return fmt.Errorf("%w: G.711 at %d Hz/%d ch (WebRTC has only 8 kHz mono G.711)",
			ErrNotWebRTC, clockRate, max(channels, 1))
	case G722:
		// RTP names G.722 with an 8000 Hz clock (RFC 3551 §4.5.2); WebRTC
		// peers decode it mono only.
		if clockRate == 8000 && channels <= 1 {
			return nil
		}
	case MPEG4Audio, MPEG4AudioLATM:
		return fmt.Errorf("%w: AAC / MPEG-4 audio has no WebRTC decoder in browsers", ErrNotWebRTC)
	}
	return fmt.Errorf("%w: %s/%d", ErrNotWebRTC, name, clockRate)
}
