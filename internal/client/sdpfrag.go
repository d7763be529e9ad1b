package client

import (
	"fmt"
	"strings"
)

// SDPFrag is an application/trickle-ice-sdpfrag body (RFC 8840 §9): a few
// session-level attributes followed by media sections that carry only the
// ICE attributes. The same shape is used both ways: client→gateway trickle
// and ICE restart, gateway→client restart answer.
type SDPFrag struct {
	ICELite    bool   // a=ice-lite
	ICEOptions string // a=ice-options value, e.g. "trickle ice2"
	Group      string // a=group value, e.g. "BUNDLE 0 1"
	// Session-level credentials; RFC 8840 puts them in the media sections,
	// but a peer may send them here.
	ICEUfrag string
	ICEPwd   string
	Media    []SDPFragMedia
}

// SDPFragMedia is one media section of an SDPFrag.
type SDPFragMedia struct {
	// MLine is the m= line value, e.g. "audio 9 RTP/AVP 0". RFC 8840 says
	// the port is a placeholder (9); the rest mirrors the negotiated line.
	MLine    string
	Mid      string
	ICEUfrag string
	ICEPwd   string
	// Candidates are attribute values including the "candidate:" prefix,
	// the form pion's ICECandidateInit.Candidate uses.
	Candidates      []string
	EndOfCandidates bool
}

// Ufrag returns the first ICE username fragment of the frag, session level
// first.
func (f SDPFrag) Ufrag() string {
	if f.ICEUfrag != "" {
		return f.ICEUfrag
	}
	for _, m := range f.Media {
		if m.ICEUfrag != "" {
			return m.ICEUfrag
		}
	}
	return ""
}

// Pwd returns the first ICE password of the frag, session level first.
func (f SDPFrag) Pwd() string {
	if f.ICEPwd != "" {
		return f.ICEPwd
	}
	for _, m := range f.Media {
		if m.ICEPwd != "" {
			return m.ICEPwd
		}
	}
	return ""
}

// Candidates returns every candidate of the frag, de-duplicated, in order.
func (f SDPFrag) Candidates() []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range f.Media {
		for _, c := range m.Candidates {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// String renders the frag with CRLF line endings.
func (f SDPFrag) String() string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\r\n") }
	if f.ICELite {
		line("a=ice-lite")
	}
	if f.ICEOptions != "" {
		line("a=ice-options:" + f.ICEOptions)
	}
	if f.Group != "" {
		line("a=group:" + f.Group)
	}
	if f.ICEUfrag != "" {
		line("a=ice-ufrag:" + f.ICEUfrag)
	}
	if f.ICEPwd != "" {
		line("a=ice-pwd:" + f.ICEPwd)
	}
	for _, m := range f.Media {
		line("m=" + m.MLine)
		if m.Mid != "" {
			line("a=mid:" + m.Mid)
		}
		if m.ICEUfrag != "" {
			line("a=ice-ufrag:" + m.ICEUfrag)
		}
		if m.ICEPwd != "" {
			line("a=ice-pwd:" + m.ICEPwd)
		}
		for _, c := range m.Candidates {
			line("a=" + c)
		}
		if m.EndOfCandidates {
			line("a=end-of-candidates")
		}
	}
	return b.String()
}

// ParseSDPFrag parses a trickle-ice-sdpfrag body. It also accepts a full
// SDP (non-ICE lines are ignored), which is how FragFromSDP works.
func ParseSDPFrag(body string) (SDPFrag, error) {
	var f SDPFrag
	var cur *SDPFragMedia
	for i, raw := range strings.Split(body, "\n") {
		l := strings.TrimRight(raw, "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		if len(l) < 2 || l[1] != '=' {
			return SDPFrag{}, fmt.Errorf("client: sdpfrag line %d: malformed %q", i+1, l)
		}
		typ, val := l[0], l[2:]
		if typ == 'm' {
			if val == "" {
				return SDPFrag{}, fmt.Errorf("client: sdpfrag line %d: empty m= line", i+1)
			}
			f.Media = append(f.Media, SDPFragMedia{MLine: val})
			cur = &f.Media[len(f.Media)-1]
			continue
		}
		if typ != 'a' {
			continue
		}
		name, value, _ := strings.Cut(val, ":")
		switch name {
		case "candidate":
			if cur == nil {
				// Session-level candidates are not valid SDP, but be lenient:
				// attach them to a media-less section so they are not lost.
				f.Media = append(f.Media, SDPFragMedia{})
				cur = &f.Media[len(f.Media)-1]
			}
			cur.Candidates = append(cur.Candidates, val)
		case "end-of-candidates":
			if cur != nil {
				cur.EndOfCandidates = true
			}
		case "ice-ufrag":
			if cur == nil {
				f.ICEUfrag = value
			} else {
				cur.ICEUfrag = value
			}
		case "ice-pwd":
			if cur == nil {
				f.ICEPwd = value
			} else {
				cur.ICEPwd = value
			}
		case "mid":
			if cur != nil {
				cur.Mid = value
			}
		case "ice-lite":
			f.ICELite = true
		case "ice-options":
			if cur == nil {
				f.ICEOptions = value
			}
		case "group":
			if cur == nil {
				f.Group = value
			}
		}
	}
	return f, nil
}

// FragFromSDP extracts the sdpfrag describing a full SDP's ICE state: its
// credentials (repeated in every media section, as RFC 8840 shows) and
// candidates. With BUNDLE every section shares one transport, so the
// candidates are listed once, under the first bundled section. m= lines
// keep their formats but use the placeholder port 9.
func FragFromSDP(sdp string) (SDPFrag, error) {
	parsed, err := ParseSDPFrag(sdp)
	if err != nil {
		return SDPFrag{}, err
	}
	out := SDPFrag{ICELite: parsed.ICELite, ICEOptions: parsed.ICEOptions, Group: parsed.Group}
	ufrag, pwd := parsed.Ufrag(), parsed.Pwd()
	var bundled map[string]bool
	if tags, ok := strings.CutPrefix(parsed.Group, "BUNDLE"); ok {
		bundled = map[string]bool{}
		for _, mid := range strings.Fields(tags) {
			bundled[mid] = true
		}
	}
	haveBundleCandidates := false
	for _, m := range parsed.Media {
		if m.MLine == "" {
			continue
		}
		fm := SDPFragMedia{MLine: placeholderPort(m.MLine), Mid: m.Mid, ICEUfrag: ufrag, ICEPwd: pwd}
		if bundled[m.Mid] {
			if haveBundleCandidates {
				out.Media = append(out.Media, fm)
				continue
			}
			haveBundleCandidates = true
		}
		fm.Candidates = append([]string(nil), m.Candidates...)
		fm.EndOfCandidates = m.EndOfCandidates
		out.Media = append(out.Media, fm)
	}
	if len(out.Media) == 0 {
		return SDPFrag{}, fmt.Errorf("client: SDP has no media section")
	}
	return out, nil
}

// placeholderPort replaces the port of an m= line value with 9 (RFC 8840
// §9: the port is meaningless in an sdpfrag).
func placeholderPort(mline string) string {
	f := strings.Fields(mline)
	if len(f) < 2 {
		return mline
	}
	f[1] = "9"
	return strings.Join(f, " ")
}
