package rtc

import (
	"errors"
	"fmt"
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
	// Simulcast lists the encodings the section sends (RFC 8853), nil
	// without simulcast; Layers flattens it.
	Simulcast []SimulcastStream
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
	text, cands, err := screenOffer(text)
	if err != nil {
		return nil, err
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(text); err != nil {
		return nil, malformed("%v", err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, malformed("no m= line")
	}
	o := &Offer{SDP: text, Parsed: &sd}
	if err := checkFingerprints(sd.Attributes, -1); err != nil {
		return nil, err
	}
	mids := map[string]int{}
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
		if err := checkFingerprints(md.Attributes, i); err != nil {
			return nil, err
		}
		if j, dup := mids[m.Mid]; dup && m.Mid != "" {
			// RFC 8843 §7.2.1 / RFC 5888 §5: each identification-tag once.
			return nil, unsupported("m-lines %d and %d have the same mid %q", j, i, truncate(m.Mid, 32))
		}
		mids[m.Mid] = i
		if m.Kind == "audio" || m.Kind == "video" {
			if m.Codecs, err = parseCodecs(md, m.Kind, i); err != nil {
				return nil, err
			}
		}
		if m.Kind == "video" && !m.Rejected {
			var err error
			if m.Simulcast, err = parseSimulcast(md, i); err != nil {
				return nil, err
			}
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

func direction(attrs []sdp.Attribute, def string) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return def
}

// parseCodecs reads an m-section's payload types in one pass over its
// attributes (the prescreen bounds both).
func parseCodecs(md *sdp.MediaDescription, kind string, index int) ([]OfferCodec, error) {
	byPT := make(map[string]*OfferCodec, len(md.MediaName.Formats))
	var out []*OfferCodec
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil || pt > 127 {
			continue // not an RTP payload type (RFC 3550 §5.1: 7 bits)
		}
		if byPT[f] != nil {
			return nil, malformed("m-line %d lists payload type %s twice", index, f)
		}
		c := &OfferCodec{PayloadType: uint8(pt)}
		byPT[f] = c
		out = append(out, c)
	}
	var wildcard []string
	rtpmaps := map[string]bool{}
	for _, a := range md.Attributes {
		p, rest, ok := strings.Cut(a.Value, " ")
		c := byPT[p]
		switch {
		case a.Key == "rtcp-fb" && ok && p == "*":
			wildcard = append(wildcard, strings.TrimSpace(rest))
		case c == nil || !ok:
		case a.Key == "rtpmap":
			if rtpmaps[p] {
				return nil, malformed("m-line %d has two a=rtpmap lines for payload type %s", index, p)
			}
			rtpmaps[p] = true
			if err := c.setRTPMap(kind, rest); err != nil {
				return nil, malformed("m-line %d, a=rtpmap:%s: %v", index, p, err)
			}
		case a.Key == "fmtp":
			c.Fmtp = strings.TrimSpace(rest)
		case a.Key == "rtcp-fb":
			c.Feedback = append(c.Feedback, strings.TrimSpace(rest))
		}
	}
	codecs := make([]OfferCodec, 0, len(out))
	for _, c := range out {
		c.Feedback = append(c.Feedback, wildcard...)
		if c.MimeType == "" {
			c.MimeType, c.ClockRate, c.Channels = staticPayloadType(kind, c.PayloadType)
			if c.MimeType == "" {
				continue
			}
		}
		if c.Channels == 0 && strings.EqualFold(c.MimeType, "audio/opus") {
			c.Channels = 2 // RFC 7587 §7: always /2; GStreamer whepsrc omits it
		}
		codecs = append(codecs, *c)
	}
	return codecs, nil
}

// setRTPMap reads "NAME/CLOCK[/CHANNELS]" (RFC 8866 §6.6): the clock rate
// is required and cannot be 0, which would divide every timestamp by zero.
func (c *OfferCodec) setRTPMap(kind, v string) error {
	parts := strings.Split(strings.TrimSpace(v), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return errors.New("want NAME/CLOCK-RATE[/CHANNELS]")
	}
	cr, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || cr == 0 {
		return fmt.Errorf("clock rate %q: want a positive number", truncate(parts[1], 12))
	}
	c.MimeType, c.ClockRate = kind+"/"+canonicalName(parts[0]), uint32(cr)
	if len(parts) == 3 {
		ch, err := strconv.ParseUint(parts[2], 10, 16)
		if err != nil || ch == 0 {
			return fmt.Errorf("channels %q: want a positive number", truncate(parts[2], 12))
		}
		c.Channels = uint16(ch)
	}
	return nil
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
