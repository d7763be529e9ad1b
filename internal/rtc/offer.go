package rtc

import (
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// OfferCodec is one payload type of an offered m-section.
type OfferCodec struct {
	PayloadType uint8
	MimeType    string // "video/H264", "audio/opus" (pion spelling)
	ClockRate   uint32
	Channels    uint16
	Fmtp        string
	Feedback    []string // rtcp-fb values without the payload type: "nack", "nack pli", "transport-cc"
}

// OfferMedia is one m-section of an offer.
type OfferMedia struct {
	Index     int
	Kind      string // "audio", "video", "application", ...
	Mid       string
	Direction string // sendrecv, sendonly, recvonly, inactive
	Rejected  bool   // port 0 without bundle-only
	Codecs    []OfferCodec
}

// Offer is a parsed SDP offer.
type Offer struct {
	// Setup is the offer's DTLS role (a=setup): actpass, active or passive.
	Setup string
	// SDP is the offer without its a=candidate lines: those are in
	// Candidates, and reach pion only through the candidate policy.
	SDP        string
	Parsed     *sdp.SessionDescription
	Media      []OfferMedia
	Candidates []FragCandidate
}

// ParseOffer parses and sanity-checks an offer (RFC 9725 §4.2: anything a
// WebRTC stack would refuse is a 400 here, before a peer connection exists).
func ParseOffer(body []byte) (*Offer, error) {
	text := string(body)
	if !strings.HasPrefix(strings.TrimLeft(text, "\r\n\t "), "v=0") {
		return nil, malformed("body does not start with v=0")
	}
	text, cands := takeCandidates(text)
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(text); err != nil {
		return nil, malformed("%v", err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, malformed("no m= line")
	}
	o := &Offer{SDP: text, Parsed: &sd}
	o.Setup, _ = sd.Attribute("setup")
	sessUfrag, _ := sd.Attribute("ice-ufrag")
	sessPwd, _ := sd.Attribute("ice-pwd")
	_, sessFP := sd.Attribute("fingerprint")
	sessDir := direction(sd.Attributes, "sendrecv")
	for i, md := range sd.MediaDescriptions {
		m := OfferMedia{Index: i, Kind: md.MediaName.Media, Direction: direction(md.Attributes, sessDir)}
		m.Mid, _ = md.Attribute("mid")
		if setup, ok := md.Attribute("setup"); ok && o.Setup == "" {
			o.Setup = setup
		}
		_, bundleOnly := md.Attribute("bundle-only")
		m.Rejected = md.MediaName.Port.Value == 0 && !bundleOnly
		if !m.Rejected {
			ufrag, _ := md.Attribute("ice-ufrag")
			pwd, _ := md.Attribute("ice-pwd")
			_, fp := md.Attribute("fingerprint")
			if ufrag == "" && sessUfrag == "" || pwd == "" && sessPwd == "" {
				return nil, malformed("m-line %d has no ice-ufrag/ice-pwd", i)
			}
			if !fp && !sessFP {
				return nil, malformed("m-line %d has no DTLS fingerprint", i)
			}
			if m.Mid == "" {
				return nil, malformed("m-line %d has no a=mid", i)
			}
		}
		if m.Kind == "audio" || m.Kind == "video" {
			m.Codecs = parseCodecs(&sd, md, m.Kind)
		}
		o.Media = append(o.Media, m)
	}
	for _, c := range cands {
		fc := FragCandidate{Candidate: c.value}
		if c.section >= 0 && c.section < len(o.Media) {
			fc.Mid = o.Media[c.section].Mid
		}
		o.Candidates = append(o.Candidates, fc)
	}
	return o, nil
}

type offeredCandidate struct {
	section int // m-line index, -1 at session level
	value   string
}

// takeCandidates removes the a=candidate lines of an offer, returning
// them with the index of their m-section, and the rest in CRLF lines.
func takeCandidates(text string) (string, []offeredCandidate) {
	var b strings.Builder
	b.Grow(len(text))
	var out []offeredCandidate
	section := -1
	for _, l := range splitLines(text) {
		switch {
		case strings.HasPrefix(l, "m="):
			section++
		case strings.HasPrefix(l, "a=candidate:"):
			out = append(out, offeredCandidate{section: section, value: l[2:]})
			continue
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.String(), out
}

func direction(attrs []sdp.Attribute, def string) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return def
}

func parseCodecs(sd *sdp.SessionDescription, md *sdp.MediaDescription, kind string) []OfferCodec {
	var out []OfferCodec
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil {
			continue
		}
		c := OfferCodec{PayloadType: uint8(pt)}
		for _, a := range md.Attributes {
			switch a.Key {
			case "rtpmap":
				if p, rest, ok := strings.Cut(a.Value, " "); ok && p == f {
					parts := strings.Split(rest, "/")
					c.MimeType = kind + "/" + canonicalName(parts[0])
					if len(parts) > 1 {
						if cr, err := strconv.ParseUint(parts[1], 10, 32); err == nil {
							c.ClockRate = uint32(cr)
						}
					}
					if len(parts) > 2 {
						if ch, err := strconv.ParseUint(parts[2], 10, 16); err == nil {
							c.Channels = uint16(ch)
						}
					}
				}
			case "fmtp":
				if p, rest, ok := strings.Cut(a.Value, " "); ok && p == f {
					c.Fmtp = strings.TrimSpace(rest)
				}
			case "rtcp-fb":
				if p, rest, ok := strings.Cut(a.Value, " "); ok && (p == f || p == "*") {
					c.Feedback = append(c.Feedback, strings.TrimSpace(rest))
				}
			}
		}
		if c.MimeType == "" {
			c.MimeType, c.ClockRate, c.Channels = staticPayloadType(kind, uint8(pt))
			if c.MimeType == "" {
				continue
			}
		}
		if c.Channels == 0 && strings.EqualFold(c.MimeType, "audio/opus") {
			c.Channels = 2 // RFC 7587 §7: always /2; GStreamer whepsrc omits it
		}
		out = append(out, c)
	}
	return out
}

// canonicalName spells encoding names the way pion's MIME constants do.
func canonicalName(n string) string {
	switch strings.ToUpper(n) {
	case "OPUS":
		return "opus"
	case "H264", "H265", "VP8", "VP9", "AV1", "PCMU", "PCMA", "G722", "RTX", "RED", "ULPFEC", "FLEXFEC-03":
		return strings.ToUpper(n)
	}
	return n
}

// staticPayloadType covers RFC 3551 static types offered without rtpmap.
func staticPayloadType(kind string, pt uint8) (string, uint32, uint16) {
	if kind != "audio" {
		return "", 0, 0
	}
	switch pt {
	case 0:
		return "audio/PCMU", 8000, 1
	case 8:
		return "audio/PCMA", 8000, 1
	case 9:
		return "audio/G722", 8000, 1
	}
	return "", 0, 0
}

// HasFeedback reports whether the codec's rtcp-fb lines include fb.
func (c OfferCodec) HasFeedback(fb string) bool {
	for _, f := range c.Feedback {
		if strings.EqualFold(f, fb) {
			return true
		}
	}
	return false
}
