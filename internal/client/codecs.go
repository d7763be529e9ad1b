package client

import (
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/codec"
)

// CodecID names one entry of the client's codec catalog. The catalog is the
// set of codecs the gateway's tests exercise; each entry has a fixed payload
// type so offers are reproducible.
type CodecID string

// The codec catalog.
const (
	CodecH264       CodecID = "H264/42e01f" // Constrained Baseline 3.1, packetization-mode=1
	CodecH264High   CodecID = "H264/64001f" // High 3.1, packetization-mode=1
	CodecH264High50 CodecID = "H264/640032" // High 5.0, packetization-mode=1
	CodecH265       CodecID = "H265"
	CodecVP8        CodecID = "VP8"
	CodecVP9        CodecID = "VP9" // profile-id=0
	CodecAV1        CodecID = "AV1"
	CodecOpus       CodecID = "opus"
	CodecPCMU       CodecID = "PCMU"
	CodecPCMA       CodecID = "PCMA"
	CodecG722       CodecID = "G722"
)

// VideoCodecIDs returns every video codec of the catalog, in the order a
// browser-like viewer offers them (H.264 Constrained Baseline first).
func VideoCodecIDs() []CodecID {
	return []CodecID{CodecH264, CodecH264High, CodecH264High50, CodecVP8, CodecVP9, CodecAV1, CodecH265}
}

// AudioCodecIDs returns every audio codec of the catalog, Opus first.
func AudioCodecIDs() []CodecID {
	return []CodecID{CodecOpus, CodecPCMU, CodecPCMA, CodecG722}
}

// videoFeedback is what every catalog video codec advertises: NACK for
// retransmission, PLI and FIR so the gateway can ask the publisher for
// keyframes.
func videoFeedback() []webrtc.RTCPFeedback {
	return []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBNACK},
		{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
	}
}

// Params returns the catalog entry for id, freshly allocated so callers may
// modify it. Unknown IDs yield the zero value.
func (id CodecID) Params() webrtc.RTPCodecParameters {
	video := func(mime string, pt webrtc.PayloadType, fmtp string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: mime, ClockRate: 90000, SDPFmtpLine: fmtp, RTCPFeedback: videoFeedback(),
			},
			PayloadType: pt,
		}
	}
	audio := func(mime string, pt webrtc.PayloadType, clock uint32, channels uint16, fmtp string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: mime, ClockRate: clock, Channels: channels, SDPFmtpLine: fmtp,
			},
			PayloadType: pt,
		}
	}
	const h264 = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id="
	switch id {
	case CodecH264:
		return video(webrtc.MimeTypeH264, 102, h264+"42e01f")
	case CodecH264High:
		return video(webrtc.MimeTypeH264, 112, h264+"64001f")
	case CodecH264High50:
		return video(webrtc.MimeTypeH264, 114, h264+"640032")
	case CodecH265:
		return video(webrtc.MimeTypeH265, 116, "level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST")
	case CodecVP8:
		return video(webrtc.MimeTypeVP8, 96, "")
	case CodecVP9:
		return video(webrtc.MimeTypeVP9, 98, "profile-id=0")
	case CodecAV1:
		return video(webrtc.MimeTypeAV1, 45, "level-idx=5;profile=0;tier=0")
	case CodecOpus:
		return audio(webrtc.MimeTypeOpus, 111, 48000, 2, "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1")
	case CodecPCMU:
		return audio(webrtc.MimeTypePCMU, 0, 8000, 0, "")
	case CodecPCMA:
		return audio(webrtc.MimeTypePCMA, 8, 8000, 0, "")
	case CodecG722:
		// G.722 samples at 16 kHz but its RTP clock is 8 kHz (RFC 3551 §4.5.2).
		return audio(webrtc.MimeTypeG722, 9, 8000, 0, "")
	}
	return webrtc.RTPCodecParameters{}
}

// Kind reports whether id is a video or an audio codec (0 if unknown).
func (id CodecID) Kind() webrtc.RTPCodecType {
	return kindOfMime(id.Params().MimeType)
}

// Codecs returns the catalog entries for ids, in order; handy for
// Options.VideoCodecs / Options.AudioCodecs.
func Codecs(ids ...CodecID) []webrtc.RTPCodecParameters {
	out := make([]webrtc.RTPCodecParameters, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.Params())
	}
	return out
}

// CodecIDOf maps negotiated codec parameters back to the catalog entry with
// the same MIME type (and, for H.264, the same profile-level-id), so a
// receiver can pick the matching Source/Checker for what the gateway chose.
func CodecIDOf(p webrtc.RTPCodecParameters) (CodecID, bool) {
	for _, id := range append(VideoCodecIDs(), AudioCodecIDs()...) {
		c := id.Params()
		if !strings.EqualFold(c.MimeType, p.MimeType) {
			continue
		}
		if strings.EqualFold(c.MimeType, webrtc.MimeTypeH264) &&
			!strings.EqualFold(codec.FmtpParam(c.SDPFmtpLine, "profile-level-id"), codec.FmtpParam(p.SDPFmtpLine, "profile-level-id")) {
			continue
		}
		return id, true
	}
	return "", false
}

// kindOfMime derives the media kind from a MIME type's top-level type.
func kindOfMime(mime string) webrtc.RTPCodecType {
	top, _, _ := strings.Cut(mime, "/")
	switch strings.ToLower(top) {
	case "video":
		return webrtc.RTPCodecTypeVideo
	case "audio":
		return webrtc.RTPCodecTypeAudio
	}
	return 0
}
