package rtc

import (
	"strconv"
	"strings"
)

// bundleInactive rewrites the m-sections pion rejected (port 0) although the
// offer wanted them, as bundled inactive sections: a WHEP viewer's video
// m-line for an audio-only stream, say. Browsers tag their BUNDLE group with
// the first m-section, and RFC 8843 §7.3.3 does not let the answerer reject
// the offerer-tagged section while keeping the group; Chromium refuses such
// an answer ("Failed to setup RTCP mux"). An inactive section keeps the
// group whole and carries no media; WHEP does not say how to answer an
// m-line the source cannot feed.
func bundleInactive(lines []string, offer *Offer) []string {
	if offer == nil {
		return lines
	}
	// Transport attributes repeated in every bundled section, taken from
	// the first section pion accepted.
	var transport []string
	section := -1
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			section++
			if len(transport) > 0 {
				break
			}
			continue
		}
		if section >= 0 && (strings.HasPrefix(l, "a=ice-ufrag:") || strings.HasPrefix(l, "a=ice-pwd:") || strings.HasPrefix(l, "a=setup:")) {
			transport = append(transport, l)
		}
	}
	if len(transport) == 0 {
		return lines // nothing accepted: nothing to bundle with
	}

	out := make([]string, 0, len(lines)+16)
	var mids []string
	section = -1
	skipping := false
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			section++
			skipping = false
			if m, ok := revivable(l, offer, section); ok {
				out = append(out, inactiveSection(m, offer, section, transport)...)
				mids = append(mids, m.Mid)
				skipping = true
				continue
			}
			if f := strings.Fields(l); len(f) > 1 && f[1] != "0" && section < len(offer.Media) {
				mids = append(mids, offer.Media[section].Mid)
			}
		}
		// pion writes the candidates into the first m-section, rejected or
		// not: keep them, FinalizeAnswer moves them into place.
		if !skipping || strings.HasPrefix(l, "a=candidate:") {
			out = append(out, l)
		}
	}
	for i, l := range out {
		if strings.HasPrefix(l, "a=group:BUNDLE") {
			out[i] = "a=group:BUNDLE " + strings.Join(mids, " ")
		}
	}
	return out
}

// revivable: an audio/video m-line answered with port 0 that the offer
// itself did not reject and that offers at least one codec.
func revivable(mline string, offer *Offer, i int) (OfferMedia, bool) {
	f := strings.Fields(mline)
	if len(f) < 2 || f[1] != "0" || i >= len(offer.Media) {
		return OfferMedia{}, false
	}
	m := offer.Media[i]
	if m.Rejected || m.Mid == "" || len(m.Codecs) == 0 || (m.Kind != "audio" && m.Kind != "video") {
		return OfferMedia{}, false
	}
	return m, true
}

func inactiveSection(m OfferMedia, offer *Offer, i int, transport []string) []string {
	proto := "UDP/TLS/RTP/SAVPF"
	if offer.Parsed != nil && i < len(offer.Parsed.MediaDescriptions) {
		proto = strings.Join(offer.Parsed.MediaDescriptions[i].MediaName.Protos, "/")
	}
	c := m.Codecs[0]
	pt := strconv.Itoa(int(c.PayloadType))
	rtpmap := "a=rtpmap:" + pt + " " + c.MimeType[strings.IndexByte(c.MimeType, '/')+1:] + "/" + strconv.Itoa(int(c.ClockRate))
	if c.Channels > 1 {
		rtpmap += "/" + strconv.Itoa(int(c.Channels))
	}
	out := []string{"m=" + m.Kind + " 9 " + proto + " " + pt, "c=IN IP4 0.0.0.0"}
	out = append(out, transport...)
	return append(out, "a=mid:"+m.Mid, "a=rtcp-mux", rtpmap, "a=inactive")
}
