package codec

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrNotInBrowsers: WebRTC can carry the track, but browsers' decoders
// cannot show it. WHEP still serves it (a non-browser client may decode
// it); the API, the dashboard and the log say so.
var ErrNotInBrowsers = errors.New("browsers do not decode it")

// H.264 profile_idc values (ITU-T H.264 Annex A, A.2).
var h264Profiles = map[uint64]string{
	44: "CAVLC 4:4:4 Intra", 66: "Baseline", 77: "Main", 83: "Scalable Baseline", 86: "Scalable High",
	88: "Extended", 100: "High", 110: "High 10", 118: "Multiview High", 122: "High 4:2:2",
	128: "Stereo High", 244: "High 4:4:4 Predictive",
}

// H264ProfileName names the profile of a profile-level-id ("f4001f": High
// 4:4:4 Predictive), "" if it does not parse.
func H264ProfileName(profileLevelID string) string {
	idc, constraints, ok := h264ProfileIdc(profileLevelID)
	if !ok {
		return ""
	}
	name, known := h264Profiles[idc]
	switch {
	case !known:
		return "profile_idc " + strconv.FormatUint(idc, 10)
	case idc == 66 && constraints&0x40 != 0:
		return "Constrained Baseline"
	case idc == 100 && constraints&0x0c == 0x0c:
		return "Constrained High"
	case idc == 110 && constraints&0x10 != 0:
		return "High 10 Intra"
	}
	return name
}

func h264ProfileIdc(plid string) (idc, constraints uint64, ok bool) {
	if len(plid) != 6 {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(plid, 16, 32)
	if err != nil {
		return 0, 0, false
	}
	return v >> 16, (v >> 8) & 0xff, true
}

// BrowserDecodable reports whether browsers decode a track the gateway
// forwards over WebRTC: nil, or an error wrapping ErrNotInBrowsers that
// says why. Browsers' WebRTC H.264 decoders (Chrome, Firefox, Safari) take
// Constrained Baseline, Baseline, Main and High, that is 8-bit 4:2:0
// video; High 10, High 4:2:2 and the 4:4:4 profiles (what libx264 makes of
// an RGB source such as FFmpeg's testsrc unless told -pix_fmt yuv420p)
// decode to a black or frozen picture. A profile the fmtp does not name is
// taken as decodable: the in-band SPS is the decoder's business.
func BrowserDecodable(mime, fmtp string) error {
	if Parse(mime) != H264 {
		return nil
	}
	plid := FmtpParam(fmtp, "profile-level-id")
	idc, constraints, ok := h264ProfileIdc(plid)
	if !ok {
		return nil
	}
	switch {
	case idc == 66, idc == 77, idc == 100:
		return nil
	case idc == 88 && constraints&0xc0 != 0: // Extended that a Baseline or Main decoder takes
		return nil
	}
	return fmt.Errorf("%w: H.264 %s (profile-level-id %s); browsers decode Baseline, Main and High, 8-bit 4:2:0 "+
		"(encode with -pix_fmt yuv420p, or a 4:2:0 8-bit profile)", ErrNotInBrowsers, H264ProfileName(plid), plid)
}
