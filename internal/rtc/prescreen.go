package rtc

import (
	"strconv"
	"strings"
)

// Offer limits, checked in one linear pass before any SDP parser runs:
// pion's and ours do work per payload type per attribute, so an offer
// within the body cap could cost seconds of CPU (thousands of a=rtcp-fb
// lines), and every client in testdata/sdp stays far inside them. Chromium
// sends the most: 34 payload types, 168 attributes and 5 rtcp-fb per payload
// type in one m-line, lines of at most 149 bytes.
const (
	maxLineBytes       = 4096
	maxMediaSections   = 16
	maxSectionAttrs    = 512 // attributes of the session or of one m-section
	maxPayloadTypes    = 128 // per m-line: all there are (RFC 3550 §5.1)
	maxFeedbackPerType = 16  // a=rtcp-fb lines per payload type (or *)
	maxOfferCandidates = 128
)

type offeredCandidate struct {
	section int // m-line index, -1 at session level
	value   string
}

// screenOffer checks the offer against the limits above, removes its
// a=candidate lines (returned with the index of their m-section: they reach
// pion only through the candidate policy) and returns the rest in CRLF
// lines.
func screenOffer(text string) (string, []offeredCandidate, error) {
	var b strings.Builder
	b.Grow(len(text))
	var cands []offeredCandidate
	section, attrs := -1, 0
	feedback := map[string]int{}
	for l := range strings.Lines(text) {
		l = strings.TrimRight(l, "\r\n ")
		if l == "" {
			continue
		}
		if len(l) > maxLineBytes {
			return "", nil, malformed("a line of the offer is longer than %d bytes", maxLineBytes)
		}
		switch {
		case strings.HasPrefix(l, "m="):
			section++
			if section >= maxMediaSections {
				return "", nil, malformed("the offer has more than %d m-lines", maxMediaSections)
			}
			if f := strings.Fields(l); len(f) > 3+maxPayloadTypes {
				return "", nil, malformed("m-line %d has %d payload types; at most %d", section, len(f)-3, maxPayloadTypes)
			}
			attrs = 0
			clear(feedback)
		case strings.HasPrefix(l, "a="):
			if attrs++; attrs > maxSectionAttrs {
				return "", nil, malformed("%s has more than %d attribute lines", sectionName(section), maxSectionAttrs)
			}
			if v, ok := strings.CutPrefix(l, "a=rtcp-fb:"); ok {
				pt, _, _ := strings.Cut(v, " ")
				if feedback[pt]++; feedback[pt] > maxFeedbackPerType {
					return "", nil, malformed("%s has more than %d a=rtcp-fb lines for payload type %q",
						sectionName(section), maxFeedbackPerType, truncate(pt, 8))
				}
			}
			if strings.HasPrefix(l, "a=candidate:") {
				if len(cands) >= maxOfferCandidates {
					return "", nil, malformed("the offer has more than %d candidates", maxOfferCandidates)
				}
				cands = append(cands, offeredCandidate{section: section, value: l[2:]})
				continue
			}
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.String(), cands, nil
}

func sectionName(section int) string {
	if section < 0 {
		return "the session level"
	}
	return "m-line " + strconv.Itoa(section)
}
