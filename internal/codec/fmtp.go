package codec

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// FmtpParam returns the value of parameter key in an fmtp line
// ("profile-level-id=42e01f;packetization-mode=1"), "" if absent. Keys
// compare case-insensitively (RFC 8866 §6.15 leaves them to the codec,
// and every codec the gateway handles treats them so); blanks around keys
// and values are ignored. It does not allocate.
func FmtpParam(fmtp, key string) string {
	for fmtp != "" {
		var kv string
		kv, fmtp, _ = strings.Cut(fmtp, ";")
		k, v, _ := strings.Cut(kv, "=")
		if strings.EqualFold(strings.TrimSpace(k), key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// FormatFmtp writes parameters as an fmtp line, keys in sorted order so the
// line is the same for the same parameters.
func FormatFmtp(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(k + "=" + params[k])
	}
	return b.String()
}

// DefaultH264ProfileLevelID is announced when a source's SPS is not known:
// Constrained Baseline level 3.1, which every WebRTC H.264 implementation
// offers. Browsers decode higher profiles fine once the SPS arrives in-band.
const DefaultH264ProfileLevelID = "42e01f"

// H264ProfileLevelID is the profile-level-id an SPS declares (RFC 6184
// §8.1: profile_idc, the constraint flags and level_idc, bytes 1-3 of the
// SPS NAL unit, in hex), or DefaultH264ProfileLevelID for a missing or
// unparsable SPS.
func H264ProfileLevelID(sps []byte) string {
	if !h264SPSValid(sps) {
		return DefaultH264ProfileLevelID
	}
	return fmt.Sprintf("%02x%02x%02x", sps[1], sps[2], sps[3])
}

func h264SPSValid(sps []byte) bool {
	var p h264.SPS
	return len(sps) >= 4 && H264Type(sps[0]) == H264TypeSPS && p.Unmarshal(sps) == nil
}

// H264Fmtp is the fmtp line for an H.264 track sent in packetization mode 1
// (FU-A), with profile-level-id from the SPS and the parameter sets for
// readers that take them from the SDP (RTSP clients). Sets whose SPS does
// not parse are left out, as RTSP clients would ignore or refuse them;
// decoders then take them in-band.
func H264Fmtp(sps, pps []byte) string {
	s := "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + H264ProfileLevelID(sps)
	if h264SPSValid(sps) && ParamKindOf(H264, pps) == PPS {
		s += ";sprop-parameter-sets=" + base64.StdEncoding.EncodeToString(sps) + "," +
			base64.StdEncoding.EncodeToString(pps)
	}
	return s
}

// H265Fmtp is the fmtp line for an H.265 track: profile-id, tier-flag and
// level-id from the SPS (RFC 7798 §7.1, as libwebrtc negotiates them) plus
// the parameter sets. Without a parsable SPS it names Main profile, level
// 3.1 and carries no sets; a PPS that does not parse leaves the sets out
// too: RTSP clients refuse a description with a set they cannot read
// (gortsplib does), and decoders take the sets in-band.
func H265Fmtp(vps, sps, pps []byte) string {
	profile, tier, level := uint8(1), uint8(0), uint8(93)
	var p h265.SPS
	spsOK := ParamKindOf(H265, sps) == SPS && p.Unmarshal(sps) == nil
	if spsOK {
		ptl := p.ProfileTierLevel
		profile, tier, level = ptl.GeneralProfileIdc, ptl.GeneralTierFlag, ptl.GeneralLevelIdc
	}
	s := fmt.Sprintf("level-id=%d;profile-id=%d;tier-flag=%d;tx-mode=SRST", level, profile, tier)
	var pp h265.PPS
	if !spsOK || ParamKindOf(H265, pps) != PPS || pp.Unmarshal(pps) != nil {
		return s
	}
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
