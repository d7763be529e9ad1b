package rtc

import (
	"strings"

	"github.com/pion/sdp/v3"
)

// MaxSimulcastLayers bounds the encodings one offered m-section may send:
// each is a full track in the gateway (its own GOP cache, history and
// fan-out), so a stranger must not choose how many. OBS sends up to four,
// browsers three.
const MaxSimulcastLayers = 4

// maxRIDLength: an rtp-stream-id travels in a one-byte RTP header
// extension (RFC 8852 §3.1, RFC 8285 §4.2: at most 16 bytes of data), and
// libwebrtc refuses longer rids.
const maxRIDLength = 16

// SimulcastRID is one encoding an offer's a=simulcast line lists.
type SimulcastRID struct {
	ID     string
	Paused bool // "~": the sender starts with it paused (RFC 8853 §5.1)
}

// SimulcastStream is one ';'-separated entry of an a=simulcast list: one
// encoding, or alternatives of which the sender sends one (',').
type SimulcastStream []SimulcastRID

// Layers flattens a simulcast description into its rids, in the order the
// offer lists them. An alternative the sender does not use is a layer that
// stays silent, which the gateway treats like a paused one.
func Layers(streams []SimulcastStream) []string {
	var out []string
	for _, s := range streams {
		for _, r := range s {
			out = append(out, r.ID)
		}
	}
	return out
}

// parseSimulcast reads the send side of an m-section's simulcast (RFC 8853
// §5.1; rids RFC 8851 §4): nil when the section sends no simulcast. Every
// listed rid must be declared by an a=rid line with direction send, appear
// once, and be at most 16 characters from [A-Za-z0-9_-].
func parseSimulcast(md *sdp.MediaDescription, index int) ([]SimulcastStream, error) {
	var line string
	declared := map[string]bool{}
	for _, a := range md.Attributes {
		switch a.Key {
		case "simulcast":
			if line != "" {
				return nil, malformed("m-line %d has more than one a=simulcast", index)
			}
			line = a.Value
		case "rid":
			id, rest, _ := strings.Cut(a.Value, " ")
			dir, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
			if dir == "send" {
				declared[id] = true
			}
		}
	}
	list := sendList(line)
	if list == "" {
		return nil, nil
	}
	var out []SimulcastStream
	seen := map[string]bool{}
	n := 0
	for _, entry := range strings.Split(list, ";") {
		var stream SimulcastStream
		for _, alt := range strings.Split(entry, ",") {
			r := SimulcastRID{ID: alt}
			if strings.HasPrefix(alt, "~") {
				r = SimulcastRID{ID: alt[1:], Paused: true}
			}
			switch {
			case !validRID(r.ID):
				return nil, malformed("m-line %d: simulcast rid %q is not 1-%d characters of A-Z, a-z, 0-9, - and _", index, r.ID, maxRIDLength)
			case seen[r.ID]:
				return nil, malformed("m-line %d lists simulcast rid %q twice", index, r.ID)
			case !declared[r.ID]:
				return nil, malformed("m-line %d lists simulcast rid %q without an a=rid:%s send line", index, r.ID, r.ID)
			}
			seen[r.ID] = true
			if n++; n > MaxSimulcastLayers {
				return nil, unsupported("m-line %d offers more than %d simulcast layers", index, MaxSimulcastLayers)
			}
			stream = append(stream, r)
		}
		out = append(out, stream)
	}
	return out, nil
}

// sendList returns the send direction's list of an a=simulcast value
// ("send q;h;f", "recv 1 send 2;3"), or "".
func sendList(v string) string {
	f := strings.Fields(v)
	for i := 0; i+1 < len(f); i += 2 {
		if f[i] == "send" {
			return f[i+1]
		}
	}
	return ""
}

func validRID(id string) bool {
	if id == "" || len(id) > maxRIDLength {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// recvLine is the answer's a=simulcast line for an offered send list: the
// same streams, alternatives and pause marks, in the same order. OBS counts
// the entries of the answer's line and stops publishing when one is
// missing; RFC 8853 §5.3 lets the answerer remove streams, never reorder.
func recvLine(streams []SimulcastStream) string {
	parts := make([]string, len(streams))
	for i, s := range streams {
		alts := make([]string, len(s))
		for j, r := range s {
			alts[j] = r.ID
			if r.Paused {
				alts[j] = "~" + r.ID
			}
		}
		parts[i] = strings.Join(alts, ",")
	}
	return "a=simulcast:recv " + strings.Join(parts, ";")
}

// answerSimulcast makes every m-section whose offer sent simulcast receive
// all of it: pion orders the answer's rids by the offer's a=rid lines, not
// by its a=simulcast line, and drops alternatives. Each such section gets
// exactly one a=rid:<id> recv per offered rid and the recv line above, where
// pion wrote its own (or at the end of the section).
func answerSimulcast(lines []string, offer *Offer) []string {
	if offer == nil || !offer.hasSimulcast() {
		return lines
	}
	out := make([]string, 0, len(lines)+8)
	section := -1
	var pending []SimulcastStream
	emit := func() {
		for _, id := range Layers(pending) {
			out = append(out, "a=rid:"+id+" recv")
		}
		out = append(out, recvLine(pending))
		pending = nil
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			if pending != nil {
				emit()
			}
			section++
			f := strings.Fields(l)
			if section < len(offer.Media) && offer.Media[section].Simulcast != nil && len(f) > 1 && f[1] != "0" {
				pending = offer.Media[section].Simulcast
			}
		}
		if strings.HasPrefix(l, "a=rid:") || strings.HasPrefix(l, "a=simulcast:") {
			if pending != nil {
				emit()
			}
			if section >= 0 && section < len(offer.Media) && offer.Media[section].Simulcast != nil {
				continue // pion's own lines, replaced
			}
		}
		out = append(out, l)
	}
	if pending != nil {
		emit()
	}
	return out
}

func (o *Offer) hasSimulcast() bool {
	for _, m := range o.Media {
		if m.Simulcast != nil {
			return true
		}
	}
	return false
}
