package rtc

import (
	"strings"
)

// Fragment is a parsed application/trickle-ice-sdpfrag body (RFC 8840 §4.4).
type Fragment struct {
	Ufrag, Pwd string
	// Candidates are the a=candidate values ("candidate:..."), with the mid
	// of the m-line they followed.
	Candidates      []FragCandidate
	EndOfCandidates bool
}

// FragCandidate is one trickled candidate.
type FragCandidate struct {
	Mid       string
	Candidate string // without the "a=" prefix
}

// maxFragLines bounds the work a PATCH body can cause.
const maxFragLines = 512

// ParseFragment parses an sdpfrag. Unknown attribute lines are ignored;
// anything that is not an SDP line at all is malformed.
func ParseFragment(body []byte) (*Fragment, error) {
	f := &Fragment{}
	mid := ""
	lines := splitLines(string(body))
	if len(lines) > maxFragLines {
		return nil, malformed("sdpfrag has more than %d lines", maxFragLines)
	}
	for _, l := range lines {
		if len(l) < 2 || l[1] != '=' || l[0] < 'a' || l[0] > 'z' {
			return nil, malformed("sdpfrag line %q is not an SDP line", truncate(l, 40))
		}
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			f.Ufrag = strings.TrimSpace(l[len("a=ice-ufrag:"):])
		case strings.HasPrefix(l, "a=ice-pwd:"):
			f.Pwd = strings.TrimSpace(l[len("a=ice-pwd:"):])
		case strings.HasPrefix(l, "m="):
			mid = ""
		case strings.HasPrefix(l, "a=mid:"):
			mid = strings.TrimSpace(l[len("a=mid:"):])
		case strings.HasPrefix(l, "a=candidate:"):
			c := l[2:]
			if len(strings.Fields(c)) < 8 {
				return nil, malformed("candidate %q is incomplete", truncate(c, 60))
			}
			f.Candidates = append(f.Candidates, FragCandidate{Mid: mid, Candidate: c})
		case l == "a=end-of-candidates":
			f.EndOfCandidates = true
		}
	}
	if (f.Ufrag == "") != (f.Pwd == "") {
		return nil, malformed("sdpfrag has ice-ufrag without ice-pwd or the reverse")
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
