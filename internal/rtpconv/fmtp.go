package rtpconv

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// DefaultH264ProfileLevelID is announced when a source's SPS is not known:
// Constrained Baseline level 3.1, which every WebRTC H.264 implementation
// offers. Browsers decode higher profiles fine once the SPS arrives in-band.
const DefaultH264ProfileLevelID = "42e01f"

// H264Fmtp is the fmtp line for a re-packetized H.264 track: always
// packetization-mode=1 (the output uses FU-A), profile-level-id from the SPS
// (RFC 6184 §8.1: bytes 1-3 of the SPS), and the parameter sets for readers
// that take them from the SDP (RTSP clients).
func H264Fmtp(sps, pps []byte) string {
	plid := DefaultH264ProfileLevelID
	if len(sps) >= 4 {
		plid = fmt.Sprintf("%02x%02x%02x", sps[1], sps[2], sps[3])
	}
	s := "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + plid
	if len(sps) > 0 && len(pps) > 0 {
		s += ";sprop-parameter-sets=" + base64.StdEncoding.EncodeToString(sps) + "," +
			base64.StdEncoding.EncodeToString(pps)
	}
	return s
}

// H265Fmtp is the fmtp line for an H.265 track: profile-id, tier-flag and
// level-id from the SPS (RFC 7798 §7.1, as libwebrtc negotiates them) plus
// the parameter sets. Without a parsable SPS it names Main profile, level 3.1.
func H265Fmtp(vps, sps, pps []byte) string {
	profile, tier, level := uint8(1), uint8(0), uint8(93)
	var p h265.SPS
	if len(sps) > 0 && p.Unmarshal(sps) == nil {
		ptl := p.ProfileTierLevel
		profile, tier, level = ptl.GeneralProfileIdc, ptl.GeneralTierFlag, ptl.GeneralLevelIdc
	}
	s := fmt.Sprintf("level-id=%d;profile-id=%d;tier-flag=%d;tx-mode=SRST", level, profile, tier)
	for _, ps := range []struct {
		key string
		v   []byte
	}{{"sprop-vps", vps}, {"sprop-sps", sps}, {"sprop-pps", pps}} {
		if len(ps.v) > 0 {
			s += ";" + ps.key + "=" + base64.StdEncoding.EncodeToString(ps.v)
		}
	}
	return s
}

// ErrNotWebRTC reports a codec that WebRTC peers cannot receive.
var ErrNotWebRTC = errors.New("codec not playable over WebRTC")

// WebRTCPlayable reports whether a track with this codec can be sent to a
// WebRTC viewer (given that the viewer offers it). A WHEP handler skips
// tracks for which it returns an error, and sends the rest: AAC audio from a
// camera must not stop its video reaching a browser. The error says why.
func WebRTCPlayable(mime string, clockRate uint32, channels uint16) error {
	name := mime
	if i := strings.IndexByte(mime, '/'); i >= 0 {
		name = mime[i+1:]
	}
	switch strings.ToUpper(name) {
	case "H264", "H265", "VP8", "VP9", "AV1":
		if clockRate == 90000 {
			return nil
		}
	case "OPUS":
		if clockRate == 48000 {
			return nil
		}
	case "PCMU", "PCMA":
		if clockRate == 8000 && channels <= 1 {
			return nil
		}
		return fmt.Errorf("%w: G.711 at %d Hz/%d ch (WebRTC has only 8 kHz mono G.711; transcoding is not supported yet)",
			ErrNotWebRTC, clockRate, max(channels, 1))
	case "G722":
		if clockRate == 8000 {
			return nil
		}
	case "MPEG4-GENERIC", "MP4A-LATM":
		return fmt.Errorf("%w: AAC / MPEG-4 audio has no WebRTC decoder in browsers (transcoding is not supported yet)", ErrNotWebRTC)
	}
	return fmt.Errorf("%w: %s/%d", ErrNotWebRTC, name, clockRate)
}
