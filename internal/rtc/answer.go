package rtc

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/wishgate/wishgate/internal/codec"
)

// AnswerOptions tune FinalizeAnswer.
type AnswerOptions struct {
	// StereoOpusPT, when non-zero, is the Opus payload type whose fmtp gets
	// stereo=1;sprop-stereo=1 (Chromium decodes mono otherwise).
	StereoOpusPT string
	// Direction, when set ("sendonly" for WHEP, "recvonly" for WHIP), is
	// written into every active audio/video m-section. pion turns a local
	// sendonly transceiver matched to a sendrecv offer (Safari, Chromium
	// addTrack) into sendrecv, but RFC 9725 §4.2 and WHEP ("Playback
	// session set up") fix the server's direction.
	Direction string
	// Offer, when set, turns m-sections pion rejected (no track of that
	// kind) into bundled inactive ones (see bundleInactive).
	Offer *Offer
	// SimulcastFrom, when set, is the offer whose simulcast encodings the
	// answer receives, every one in the offer's order (answerSimulcast).
	SimulcastFrom *Offer
}

// FinalizeAnswer rewrites pion's answer into what WHIP/WHEP clients need:
//   - CRLF line ends (OBS and simple-whep-client check for "v=0\r\n");
//   - every offered simulcast encoding received, in the offer's order
//     (RFC 8853 §5.3; OBS gives up when one is missing);
//   - a=rtcp-mux-only in every bundled RTP m-section (RFC 9725 §4.4.1);
//   - every candidate, the reachable UDP host candidates first (FFmpeg uses
//     only the first UDP host candidate), in the first active m-section,
//     and a=end-of-candidates in every active one (we never trickle, §4.3.2).
func FinalizeAnswer(answer string, opts AnswerOptions) string {
	lines := answerSimulcast(bundleInactive(splitLines(answer), opts.Offer), opts.SimulcastFrom)
	var cands []string
	kept := lines[:0:0]
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "a=candidate:"):
			// rtcp-mux-only: an RTCP component candidate is never used.
			if f := strings.Fields(l); len(f) > 1 && f[1] == "1" {
				cands = append(cands, l)
			}
		case l == "a=end-of-candidates", l == "a=rtcp-mux-only":
		default:
			kept = append(kept, l)
		}
	}
	sortCandidates(cands)

	var out strings.Builder
	out.Grow(len(answer) + 256)
	placed := false
	active := false
	rtpSection := false
	// The viewer may have offered Opus without an fmtp line (aiortc): the
	// answer still has to say stereo or Chromium-based players downmix
	// (mediamtx#2043), so one is added after the rtpmap.
	addStereoFmtp := opts.StereoOpusPT != ""
	for _, l := range kept {
		if strings.HasPrefix(l, "a=fmtp:"+opts.StereoOpusPT+" ") {
			addStereoFmtp = false
		}
	}
	flush := func() {
		if !active {
			return
		}
		if !placed {
			for _, c := range cands {
				out.WriteString(c)
				out.WriteString("\r\n")
			}
			placed = true
		}
		out.WriteString("a=end-of-candidates\r\n")
	}
	for _, l := range kept {
		if strings.HasPrefix(l, "m=") {
			flush()
			active = !strings.HasPrefix(strings.SplitN(l, " ", 3)[1], "0")
			rtpSection = strings.HasPrefix(l, "m=audio") || strings.HasPrefix(l, "m=video")
		}
		if opts.StereoOpusPT != "" && strings.HasPrefix(l, "a=fmtp:"+opts.StereoOpusPT+" ") {
			l = withStereo(l)
		}
		if opts.Direction != "" && active && rtpSection && isDirection(l) && l != "a=inactive" {
			l = "a=" + opts.Direction
		}
		out.WriteString(l)
		out.WriteString("\r\n")
		if addStereoFmtp && active && strings.HasPrefix(l, "a=rtpmap:"+opts.StereoOpusPT+" ") {
			out.WriteString("a=fmtp:" + opts.StereoOpusPT + " stereo=1;sprop-stereo=1\r\n")
			addStereoFmtp = false
		}
		if l == "a=rtcp-mux" && active {
			out.WriteString("a=rtcp-mux-only\r\n")
		}
	}
	flush()
	return out.String()
}

func isDirection(l string) bool {
	switch l {
	case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
		return true
	}
	return false
}

func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r "); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func withStereo(line string) string {
	for _, p := range []string{"stereo=1", "sprop-stereo=1"} {
		key, _, _ := strings.Cut(p, "=")
		if codec.FmtpParam(line[strings.IndexByte(line, ' ')+1:], key) == "" {
			line += ";" + p
		}
	}
	return line
}

// sortCandidates orders candidates so that clients which use only the first
// one find the most reachable: UDP before TCP, host before others,
// IPv4 before IPv6, public before private (a NAT 1:1 or STUN-discovered
// address, or a machine with both), global before link-local.
func sortCandidates(cands []string) {
	rank := func(c string) int {
		f := strings.Fields(c)
		if len(f) < 8 {
			return 100
		}
		r := 0
		if !strings.EqualFold(f[2], "udp") {
			r += 16
		}
		if f[7] != "host" {
			r += 8
		}
		if ip, err := netip.ParseAddr(f[4]); err == nil {
			if ip.Is6() && !ip.Is4In6() {
				r += 4
			}
			switch ip = ip.Unmap(); {
			case ip.IsLinkLocalUnicast():
				r += 2
			case ip.IsPrivate() || ip.IsLoopback():
				r++
			}
		}
		return r
	}
	sort.SliceStable(cands, func(i, j int) bool { return rank(cands[i]) < rank(cands[j]) })
}
