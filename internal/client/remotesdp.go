package client

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// negotiatedCodec returns the codec the answerer put first in the first
// active m-section of kind: per RFC 3264 that is the one it prefers, which
// for the gateway is the one it will send or expects to receive.
func negotiatedCodec(answer string, kind webrtc.RTPCodecType) (webrtc.RTPCodecParameters, bool) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return webrtc.RTPCodecParameters{}, false
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != kind.String() || md.MediaName.Port.Value == 0 || len(md.MediaName.Formats) == 0 {
			continue
		}
		pt := md.MediaName.Formats[0]
		c := webrtc.RTPCodecParameters{}
		n, err := strconv.ParseUint(pt, 10, 7)
		if err != nil {
			return webrtc.RTPCodecParameters{}, false
		}
		c.PayloadType = webrtc.PayloadType(n)
		for _, a := range md.Attributes {
			apt, rest, _ := strings.Cut(a.Value, " ")
			if apt != pt && !(a.Key == "rtcp-fb" && apt == "*") {
				continue
			}
			switch a.Key {
			case "rtpmap": // "<pt> <name>/<clock>[/<channels>]"
				parts := strings.Split(rest, "/")
				c.MimeType = kind.String() + "/" + parts[0]
				if len(parts) > 1 {
					clock, _ := strconv.ParseUint(parts[1], 10, 32)
					c.ClockRate = uint32(clock)
				}
				if len(parts) > 2 {
					ch, _ := strconv.ParseUint(parts[2], 10, 16)
					c.Channels = uint16(ch)
				}
			case "fmtp":
				c.SDPFmtpLine = rest
			case "rtcp-fb":
				typ, param, _ := strings.Cut(rest, " ")
				c.RTCPFeedback = append(c.RTCPFeedback, webrtc.RTCPFeedback{Type: typ, Parameter: param})
			}
		}
		if c.MimeType == "" {
			return webrtc.RTPCodecParameters{}, false
		}
		return c, true
	}
	return webrtc.RTPCodecParameters{}, false
}

// applyICERestart rewrites the current remote description with the ICE
// state the gateway returned for a restart: new credentials everywhere they
// appear, old candidates removed, new ones added. The media and DTLS parts
// are untouched, which is exactly what an ICE restart changes (RFC 8839
// §4.4.1.1.1), so the result is a valid answer to the restart offer.
// Candidates all go under the first m-section: the session is BUNDLEd over
// one transport and pion reads candidates from every section anyway.
func applyICERestart(remote string, frag SDPFrag) (string, error) {
	ufrag, pwd := frag.Ufrag(), frag.Pwd()
	if ufrag == "" || pwd == "" {
		return "", fmt.Errorf("%w: ICE restart answer lacks ice-ufrag/ice-pwd", ErrProtocol)
	}
	cands := frag.Candidates()
	eoc := false
	for _, m := range frag.Media {
		eoc = eoc || m.EndOfCandidates
	}

	var out []string
	sections := 0
	addCandidates := func() {
		for _, c := range cands {
			out = append(out, "a="+c)
		}
		if eoc {
			out = append(out, "a=end-of-candidates")
		}
	}
	for _, raw := range strings.Split(remote, "\n") {
		l := strings.TrimRight(raw, "\r")
		switch {
		case l == "":
			continue
		case strings.HasPrefix(l, "m="):
			if sections == 1 {
				addCandidates()
			}
			sections++
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = "a=ice-pwd:" + pwd
		case strings.HasPrefix(l, "a=candidate:"), l == "a=end-of-candidates":
			continue
		}
		out = append(out, l)
	}
	switch sections {
	case 0:
		return "", fmt.Errorf("client: remote description has no media section")
	case 1:
		addCandidates()
	}
	return strings.Join(out, "\r\n") + "\r\n", nil
}
