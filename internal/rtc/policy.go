package rtc

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RemoteNetwork is one ice_remote_networks rule: remote candidates in Prefix
// are allowed or denied, overriding the built-in defaults (link-local,
// loopback, cloud metadata) but never the absolute rules (multicast,
// broadcast, unspecified, the gateway's own sockets).
type RemoteNetwork struct {
	Allow  bool
	Prefix netip.Prefix
}

// ParseRemoteNetwork reads "allow CIDR" or "deny CIDR".
func ParseRemoteNetwork(s string) (RemoteNetwork, error) {
	verb, cidr, ok := strings.Cut(strings.TrimSpace(s), " ")
	var r RemoteNetwork
	switch verb {
	case "allow":
		r.Allow = true
	case "deny":
	default:
		ok = false
	}
	if !ok {
		return r, fmt.Errorf("%q: want \"allow CIDR\" or \"deny CIDR\"", s)
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	if err != nil {
		return r, fmt.Errorf("%q: %v", s, err)
	}
	r.Prefix = p.Masked()
	return r, nil
}

// dropReason says why a remote candidate never reached ICE. Each has a
// counter (the wishgate_ice_remote_candidates_dropped_total metric).
type dropReason int

const (
	keep            dropReason = iota
	dropUnsupported            // TCP, an RTCP component, an mDNS name, unparsable
	dropUnspecified            // 0.0.0.0/8, ::
	dropMulticast              // 224.0.0.0/4, ff00::/8
	dropBroadcast              // 255.255.255.255, 240.0.0.0/4, a local subnet's broadcast
	dropOwnSocket              // one of the gateway's listening sockets
	dropDenied                 // a deny rule of ice_remote_networks
	dropLinkLocal              // 169.254.0.0/16 (the cloud metadata address), fe80::/10
	dropLoopback               // 127.0.0.0/8, ::1, unless media is bound to loopback
	dropMetadata               // cloud metadata services outside link-local
	dropDuplicate              // a transport address the session already has
	dropOverCap                // an offer's candidates beyond max_remote_candidates, peer-reflexive ones beyond twice it
	numDropReasons
)

func (r dropReason) String() string {
	switch r {
	case dropUnsupported:
		return "unsupported"
	case dropUnspecified:
		return "unspecified"
	case dropMulticast:
		return "multicast"
	case dropBroadcast:
		return "broadcast"
	case dropOwnSocket:
		return "own_socket"
	case dropDenied:
		return "denied"
	case dropLinkLocal:
		return "link_local"
	case dropLoopback:
		return "loopback"
	case dropMetadata:
		return "metadata"
	case dropDuplicate:
		return "duplicate"
	case dropOverCap:
		return "over_cap"
	}
	return "keep"
}

// Addresses the defaults refuse beyond the IP classes: cloud metadata
// services that are not link-local (AWS over IPv6, Alibaba Cloud), and the
// NAT64 well-known prefix (RFC 6052), whose embedded IPv4 address is judged
// as that address.
var (
	metadataAWSv6 = netip.MustParseAddr("fd00:ec2::254")
	metadataAli   = netip.MustParseAddr("100.100.100.200")
	nat64Prefix   = netip.MustParsePrefix("64:ff9b::/96")
)

// selfRefresh bounds how stale the cached list of local addresses is.
const selfRefresh = 30 * time.Second

// candidatePolicy decides which remote addresses the gateway may send ICE
// checks to: a client must never be able to aim it at a host of its choice
// (multicast groups, the metadata service, the operator's LAN, the
// gateway's own HTTP port). It is consulted before pion sees a candidate,
// and by pion itself for peer-reflexive addresses (learnt.go).
type candidatePolicy struct {
	rules    []RemoteNetwork
	loopback bool // the media socket is bound to loopback
	drops    [numDropReasons]atomic.Uint64
	// advertised returns the NAT 1:1 and STUN-discovered addresses: ours
	// too, seen from outside.
	advertised func() []netip.Addr

	mu        sync.Mutex
	sockets   []netip.AddrPort // the gateway's listeners; an unspecified address means every local one
	local     map[netip.Addr]bool
	broadcast map[netip.Addr]bool
	localAt   time.Time
}

func newCandidatePolicy(rules []RemoteNetwork, loopback bool) *candidatePolicy {
	return &candidatePolicy{rules: rules, loopback: loopback}
}

// protect adds listening sockets no candidate may name.
func (p *candidatePolicy) protect(addrs ...netip.AddrPort) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range addrs {
		p.sockets = append(p.sockets, netip.AddrPortFrom(a.Addr().Unmap(), a.Port()))
	}
}

// check judges one candidate's transport address.
func (p *candidatePolicy) check(a netip.AddrPort) dropReason {
	ip := judged(a.Addr())
	if r := p.absolute(ip); r != keep {
		return r
	}
	if p.ownSocket(netip.AddrPortFrom(a.Addr().Unmap(), a.Port())) {
		return dropOwnSocket
	}
	return p.configurable(ip)
}

// keepIP is pion's remote IP filter for peer connections that have no
// learnBudget of their own (diagnostics).
func (p *candidatePolicy) keepIP(ip net.IP) bool { return p.ipReason(ip) == keep }

func (p *candidatePolicy) count(r dropReason) { p.drops[r].Add(1) }

// judged is the address the rules look at: unmapped, and for NAT64 the
// IPv4 address the translator would send to.
func judged(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if nat64Prefix.Contains(a) {
		b := a.As16()
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return a
}

func (p *candidatePolicy) absolute(a netip.Addr) dropReason {
	switch {
	case !a.IsValid(), a.IsUnspecified(), a.Is4() && a.As4()[0] == 0:
		return dropUnspecified
	case a.IsMulticast():
		return dropMulticast
	case a.Is4() && a.As4()[0] >= 240:
		return dropBroadcast
	case a.Is4() && p.isBroadcast(a):
		return dropBroadcast
	}
	return keep
}

func (p *candidatePolicy) configurable(a netip.Addr) dropReason {
	for _, r := range p.rules {
		if r.Prefix.Contains(a) {
			if r.Allow {
				return keep
			}
			return dropDenied
		}
	}
	switch {
	case a.IsLinkLocalUnicast():
		return dropLinkLocal
	case a.IsLoopback() && !p.loopback:
		return dropLoopback
	case a == metadataAWSv6, a == metadataAli:
		return dropMetadata
	}
	return keep
}

func (p *candidatePolicy) ownSocket(a netip.AddrPort) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	var port, wildcard bool
	for _, s := range p.sockets {
		if s.Port() != a.Port() {
			continue
		}
		if s.Addr() == a.Addr() {
			return true
		}
		port = true
		wildcard = wildcard || s.Addr().IsUnspecified()
	}
	switch {
	case !port:
		return false
	case p.isAdvertised(a.Addr()):
		return true // how the outside reaches this machine (NAT 1:1, STUN)
	case !wildcard:
		return false
	}
	// A socket on every address: any address of this machine names it.
	p.refreshLocked()
	return p.local[a.Addr()] || a.Addr().IsLoopback()
}

func (p *candidatePolicy) isAdvertised(a netip.Addr) bool {
	if p.advertised == nil {
		return false
	}
	for _, x := range p.advertised() {
		if x == a {
			return true
		}
	}
	return false
}

func (p *candidatePolicy) isBroadcast(a netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refreshLocked()
	return p.broadcast[a]
}

// refreshLocked re-reads the local addresses and the IPv4 subnet broadcast
// addresses if the cached ones are older than selfRefresh.
func (p *candidatePolicy) refreshLocked() {
	now := time.Now()
	if p.local != nil && now.Sub(p.localAt) < selfRefresh {
		return
	}
	p.local, p.broadcast, p.localAt = map[netip.Addr]bool{}, map[netip.Addr]bool{}, now
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		p.local[ip] = true
		ones, bits := ipn.Mask.Size()
		if ip.Is4() && bits == 32 && ones < 31 {
			b := ip.As4()
			for i := range b {
				b[i] |= ^ipn.Mask[len(ipn.Mask)-4+i]
			}
			p.broadcast[netip.AddrFrom4(b)] = true
		}
	}
}

// dropCounts reports the counters by reason name.
func (p *candidatePolicy) dropCounts() map[string]uint64 {
	out := make(map[string]uint64, numDropReasons-1)
	for r := dropUnsupported; r < numDropReasons; r++ {
		out[r.String()] = p.drops[r].Load()
	}
	return out
}
