package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// The origin's answer carries the addresses its viewers reach it at: with
// nat_1to1 (or STUN) those are public ones, which the other nodes, on the
// cluster's own network, may not reach (no hairpin NAT) or should not use.
// The address a node advertises to the cluster (cluster_advertise_url) is
// by definition one the nodes reach it at, so the relay adds it as a remote
// candidate on each of the answer's UDP media ports, ahead of the others;
// ICE keeps whichever pair answers. The address comes from the directory,
// never from a client.

// advertisedPriority ranks the added candidates above any host candidate
// the origin lists (RFC 8445 §5.1.2.1: type preference 126, local 65535).
const advertisedPriority = 2130706431

// dialAdvertised adds host candidates at the origin's advertised host
// (resolved within ctx when it is a name) on the answer's UDP ports.
func dialAdvertised(ctx context.Context, pc *webrtc.PeerConnection, host string) error {
	rd := pc.RemoteDescription()
	if rd == nil {
		return fmt.Errorf("relay: no answer to add the origin's advertised address to")
	}
	ips, err := lookupHost(ctx, host)
	if err != nil {
		return err
	}
	listed, ports := answerUDP(rd.SDP)
	var errs []error
	for _, ip := range ips {
		for _, port := range ports {
			ap := netip.AddrPortFrom(ip, port)
			if slices.Contains(listed, ap) {
				continue // the answer has it already
			}
			c := fmt.Sprintf("candidate:wgcluster 1 udp %d %s %d typ host", advertisedPriority, ip, port)
			if err := pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c}); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ap, err))
			}
		}
	}
	return errors.Join(errs...)
}

// lookupHost is the advertised host's addresses: the literal, or what the
// name resolves to.
func lookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("relay: resolve the origin's advertised host %q: %w", host, err)
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		out = append(out, ip.Unmap())
	}
	return out, nil
}

// answerUDP returns the UDP candidates an answer lists and their distinct
// ports (the origin's media sockets).
func answerUDP(sdp string) (listed []netip.AddrPort, ports []uint16) {
	for line := range strings.SplitSeq(sdp, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=candidate:")
		if !ok {
			continue
		}
		c, err := ice.UnmarshalCandidate(v)
		if err != nil || !c.NetworkType().IsUDP() {
			continue
		}
		ip, err := netip.ParseAddr(c.Address())
		if err != nil {
			continue
		}
		port := uint16(c.Port())
		listed = append(listed, netip.AddrPortFrom(ip.Unmap(), port))
		if !slices.Contains(ports, port) {
			ports = append(ports, port)
		}
	}
	return listed, ports
}
