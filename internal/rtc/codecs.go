package rtc

import (
	"strings"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/streams"
)

// ingestPreference is the order in which a publisher's offered video codecs
// are chosen: H.264 first because every browser, RTSP reader and NVR plays it.
func ingestPreference(kind string) []string {
	if kind == "audio" {
		return []string{"audio/opus", "audio/G722", "audio/PCMU", "audio/PCMA"}
	}
	return []string{"video/H264", "video/VP8", "video/VP9", "video/AV1", "video/H265"}
}

// ChooseIngestCodec picks the codec a publisher's m-section will send.
// Nothing is transcoded, so the choice is the codec the stream will carry.
func ChooseIngestCodec(m OfferMedia) (OfferCodec, error) {
	for _, mime := range ingestPreference(m.Kind) {
		var fallback *OfferCodec
		for i, c := range m.Codecs {
			if !strings.EqualFold(c.MimeType, mime) || !clockOK(c) {
				continue
			}
			// H.264 in packetization-mode 1 allows FU-A, which every
			// encoder at a real bitrate needs (RFC 6184 §6.3).
			if mime == "video/H264" && codec.FmtpParam(c.Fmtp, "packetization-mode") != "1" {
				if fallback == nil {
					fallback = &m.Codecs[i]
				}
				continue
			}
			return c, nil
		}
		if fallback != nil {
			return *fallback, nil
		}
	}
	return OfferCodec{}, unsupported("no supported %s codec: the offer has %s; wishgate accepts %s",
		m.Kind, codecNames(m.Codecs), shortNames(ingestPreference(m.Kind)))
}

// clockOK rejects variants this gateway cannot pass through unchanged
// (e.g. G.711 at 16 kHz, which WebRTC peers don't decode).
func clockOK(c OfferCodec) bool {
	return codec.WebRTCPlayable(c.MimeType, c.ClockRate, c.Channels) == nil
}

// ChooseEgressCodec picks, from a viewer's m-section, the payload type that
// carries the stream's codec, reusing the viewer's payload type number
// (RFC 3264 §6.1).
func ChooseEgressCodec(m OfferMedia, src streams.Codec) (OfferCodec, error) {
	var best *OfferCodec
	bestScore := -1
	for i, c := range m.Codecs {
		if !strings.EqualFold(c.MimeType, src.MimeType) || c.ClockRate != src.ClockRate {
			continue
		}
		score := egressScore(c, src)
		if score > bestScore {
			best, bestScore = &m.Codecs[i], score
		}
	}
	if best == nil {
		return OfferCodec{}, unsupported("the stream's %s is %s but the offer only has %s",
			m.Kind, src.Name(), codecNames(m.Codecs))
	}
	return *best, nil
}

// egressScore ranks a viewer's payload types for the stream's codec; -1 never
// wins. Decoders follow in-band parameters, so a profile mismatch is only a
// preference, but a packetization mode or VP9/AV1 profile mismatch is not.
func egressScore(c OfferCodec, src streams.Codec) int {
	switch codec.Parse(src.MimeType) {
	case codec.H264:
		if strings.TrimSpace(c.Fmtp) == "" {
			// GStreamer's whepsrc offers every codec without fmtp
			// lines; its decoders follow the in-band SPS and
			// accept FU-A, so a bare H264 is a match of last resort.
			return 0
		}
		srcMode := codec.FmtpParam(src.Fmtp, "packetization-mode")
		mode := codec.FmtpParam(c.Fmtp, "packetization-mode")
		if srcMode == "1" && mode != "1" {
			return -1
		}
		score := 0
		if mode == srcMode {
			score++
		}
		sp, cp := codec.FmtpParam(src.Fmtp, "profile-level-id"), codec.FmtpParam(c.Fmtp, "profile-level-id")
		if len(sp) >= 4 && len(cp) >= 4 && strings.EqualFold(sp[:2], cp[:2]) {
			score += 2
			if strings.EqualFold(sp[:4], cp[:4]) {
				score++
			}
		}
		return score
	case codec.VP9:
		if orDefault(codec.FmtpParam(c.Fmtp, "profile-id"), "0") != orDefault(codec.FmtpParam(src.Fmtp, "profile-id"), "0") {
			return -1
		}
	case codec.AV1:
		if orDefault(codec.FmtpParam(c.Fmtp, "profile"), "0") != orDefault(codec.FmtpParam(src.Fmtp, "profile"), "0") {
			return -1
		}
	case codec.PCMU, codec.PCMA, codec.G722:
		if c.Channels > 1 {
			return -1
		}
	}
	return 0
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func codecNames(cs []OfferCodec) string {
	seen := map[string]bool{}
	var names []string
	for _, c := range cs {
		n := c.MimeType[strings.IndexByte(c.MimeType, '/')+1:]
		switch strings.ToLower(n) {
		case "rtx", "red", "ulpfec", "flexfec-03", "cn", "telephone-event":
			continue
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "no codecs"
	}
	return strings.Join(names, ", ")
}

func shortNames(mimes []string) string {
	out := make([]string, len(mimes))
	for i, m := range mimes {
		out[i] = m[strings.IndexByte(m, '/')+1:]
	}
	return strings.Join(out, ", ")
}

// StreamCodec converts a negotiated offer codec into the registry's codec.
func StreamCodec(c OfferCodec) streams.Codec {
	ch := c.Channels
	if strings.HasPrefix(c.MimeType, "video/") {
		ch = 0
	}
	return streams.Codec{MimeType: c.MimeType, ClockRate: c.ClockRate, Channels: ch, Fmtp: c.Fmtp}
}

// IsStereoOpus reports whether an Opus source sends two channels.
func IsStereoOpus(c streams.Codec) bool {
	return codec.Parse(c.MimeType) == codec.Opus &&
		(codec.FmtpParam(c.Fmtp, "stereo") == "1" || codec.FmtpParam(c.Fmtp, "sprop-stereo") == "1")
}
