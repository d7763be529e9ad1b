package api

import (
	"errors"
	"strings"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/internal/transcode"
	"github.com/wishgate/wishgate/streams"
)

// playable tells whether WHEP viewers get a track — as it is, or
// transcoded into its derived track — and, when not or only partly, why.
func (a *API) playable(t streams.TrackInfo) (ok bool, note string, tr *transcodeJSON) {
	if ci := t.Conversion; ci != nil {
		tr = &transcodeJSON{
			From: codecLabel(t.Codec), To: codecLabel(ci.To), ToCodec: ci.To.String(),
			Running: ci.Running, Readers: ci.Readers, Starts: ci.Starts,
			CPUSeconds: ci.CPU.Seconds(), Packets: ci.Packets, Error: ci.Error,
		}
		note = tr.From + " → " + tr.To + ": transcoded for WebRTC viewers while they watch (RTSP readers get the original)"
		if ci.Error != "" {
			note += "; the last start failed: " + ci.Error
		}
		return true, note, tr
	}
	ok, note = playableAsIs(t.Codec)
	if ok {
		return ok, note, nil
	}
	switch _, err := a.cfg.Registry.ConversionTarget(t.Codec); {
	case err == nil, errors.Is(err, transcode.ErrUnsupported):
	case errors.Is(err, streams.ErrNoConversions):
		note += "; not transcoded: transcoding is off (audio_transcode: off)"
	default:
		note += "; not transcoded: " + err.Error()
	}
	return false, note, nil
}

// playableAsIs tells whether a browser can play a track over WHEP as it
// is (the test WHEP applies, codec.WebRTCPlayable, and whether browsers
// decode what it forwards, codec.BrowserDecodable) and, when not or only
// partly, why.
func playableAsIs(c streams.Codec) (bool, string) {
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

// codecLabel names a codec as people do: "AAC", "G.711", "Opus".
func codecLabel(c streams.Codec) string {
	switch codec.Parse(c.MimeType) {
	case codec.MPEG4Audio, codec.MPEG4AudioLATM:
		return "AAC"
	case codec.PCMU, codec.PCMA:
		return "G.711"
	case codec.Opus:
		return "Opus"
	}
	return c.Name()
}
