package rtc

import (
	"net/netip"
	"strconv"
	"strings"
)

// remoteCandidate is one a=candidate value a client sent, as far as the
// gateway uses it (RFC 8839 §5.1).
type remoteCandidate struct {
	Mid       string
	Component string
	Transport string // lower case
	Priority  uint32
	Host      string // the connection-address field as sent
	Addr      netip.AddrPort
	Type      string
	// line is the candidate rebuilt from what was checked: pion parses this
	// string, so the address it sends checks to is the one the policy saw.
	line string
}

// key identifies a candidate's transport address: a second candidate
// with the same one adds nothing.
func (c remoteCandidate) key() netip.AddrPort { return c.Addr }

// parseCandidate reads "candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY
// ADDRESS PORT typ TYPE [raddr A rport P] [name value]...". It reports
// false for anything the gateway does not use: TCP (we only accept ICE-TCP
// from clients, never dial them), RTCP components (rtcp-mux is required),
// mDNS names (we don't resolve .local, RFC 8839 §5.1 allows hostnames but
// WebRTC sends only IPs or .local) and unparsable values.
func parseCandidate(mid, value string) (remoteCandidate, bool) {
	f := strings.Fields(strings.TrimPrefix(value, "candidate:"))
	if len(f) < 8 || f[6] != "typ" {
		return remoteCandidate{}, false
	}
	c := remoteCandidate{Mid: mid, Component: f[1], Transport: strings.ToLower(f[2]), Host: f[4], Type: f[7]}
	if c.Component != "1" || c.Transport != "udp" || !iceChars(f[0], 64) {
		return c, false
	}
	prio, err := strconv.ParseUint(f[3], 10, 32)
	if err != nil {
		return c, false
	}
	c.Priority = uint32(prio)
	ip, err := netip.ParseAddr(f[4])
	port, perr := strconv.ParseUint(f[5], 10, 16)
	if err != nil || ip.Zone() != "" || perr != nil || port == 0 {
		return c, false
	}
	c.Addr = netip.AddrPortFrom(ip.Unmap(), uint16(port))
	switch c.Type {
	case "host", "srflx", "prflx", "relay":
	default:
		return c, false
	}
	var b strings.Builder
	b.WriteString("candidate:")
	b.WriteString(f[0])
	b.WriteString(" 1 udp ")
	b.WriteString(strconv.FormatUint(prio, 10))
	b.WriteByte(' ')
	b.WriteString(c.Addr.Addr().String())
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(int(c.Addr.Port())))
	b.WriteString(" typ ")
	b.WriteString(c.Type)
	// Keep the related address (informative only: nothing is sent to it)
	// and the ufrag extension, which pion uses to drop candidates of an
	// earlier ICE generation. Every other extension is left out.
	for i := 8; i+1 < len(f); i += 2 {
		switch f[i] {
		case "raddr":
			if ra, err := netip.ParseAddr(f[i+1]); err == nil && ra.Zone() == "" {
				b.WriteString(" raddr " + ra.Unmap().String())
			}
		case "rport":
			if rp, err := strconv.ParseUint(f[i+1], 10, 16); err == nil {
				b.WriteString(" rport " + strconv.FormatUint(rp, 10))
			}
		case "ufrag":
			if iceChars(f[i+1], 256) {
				b.WriteString(" ufrag " + f[i+1])
			}
		}
	}
	c.line = b.String()
	return c, true
}

// iceChars: 1*n ice-chars (RFC 8839 §5.1: a foundation has at most 32, a
// ufrag 256; some stacks use 32 hex digits plus a prefix, hence 64).
func iceChars(s string, n int) bool {
	if len(s) == 0 || len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '+' || ch == '/') {
			return false
		}
	}
	return true
}
