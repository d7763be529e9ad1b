package rtc

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// advertised is what the answers currently carry instead of, or besides,
// the local addresses; replaced as a whole by the refresh loop.
type advertised struct {
	// NAT1To1 are the resolved EngineConfig.PublicIPs.
	NAT1To1 []string
	// Names records each configured entry's last resolution, for diagnostics.
	Names []NameStatus
	// Reflexive is the public address a STUN server saw, or invalid.
	Reflexive netip.AddrPort
	STUN      []STUNStatus
}

// NameStatus is one nat_1to1 entry and what it resolved to.
type NameStatus struct {
	Configured string    `json:"configured"`
	Resolved   []string  `json:"resolved"`
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"resolved_at"`
}

// STUNStatus is the last answer of one STUN server.
type STUNStatus struct {
	Server    string    `json:"server"`
	Reflexive string    `json:"reflexive,omitempty"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"asked_at"`
}

// addrs are the addresses the gateway is reached at from outside.
func (a *advertised) addrs() []netip.Addr {
	var out []netip.Addr
	for _, s := range a.NAT1To1 {
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, ip.Unmap())
		}
	}
	if a.Reflexive.IsValid() {
		out = append(out, a.Reflexive.Addr())
	}
	return out
}

// resolveTimeout bounds one round of DNS lookups; stunTimeout one STUN
// transaction. Neither is on the answer path: answers use the last result
// (answers must not wait on the network: OBS gives up on a POST after 8 s,
// FFmpeg's handshake after 5 s).
const (
	resolveTimeout = 5 * time.Second
	stunTimeout    = 3 * time.Second
)

// rewriteRules turns the advertised addresses into pion address rewrite
// rules: NAT 1:1 addresses replace the host addresses; a STUN-discovered
// address is added next to them as a host candidate on the media port, so
// that no per-session STUN transaction (and no extra socket, which pion's
// srflx rewrite would open) is needed.
func (a *advertised) rewriteRules() []webrtc.ICEAddressRewriteRule {
	switch {
	case len(a.NAT1To1) > 0:
		var v4, v6 []string
		for _, ip := range a.NAT1To1 {
			if netip.MustParseAddr(ip).Is4() {
				v4 = append(v4, ip)
			} else {
				v6 = append(v6, ip)
			}
		}
		var rules []webrtc.ICEAddressRewriteRule
		for _, ext := range [][]string{v4, v6} {
			if len(ext) > 0 {
				rules = append(rules, webrtc.ICEAddressRewriteRule{
					External: ext, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
				})
			}
		}
		return rules
	case a.Reflexive.IsValid():
		return []webrtc.ICEAddressRewriteRule{{
			External:        []string{a.Reflexive.Addr().String()},
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteAppend,
			Networks:        []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6},
		}}
	}
	return nil
}

// resolve looks up every nat_1to1 entry; an entry that fails keeps its
// previous addresses (prev), so a DNS hiccup does not empty the answers.
func resolve(ctx context.Context, entries []string, prev []NameStatus) []NameStatus {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	out := make([]NameStatus, len(entries))
	var wg sync.WaitGroup
	for i, h := range entries {
		out[i] = NameStatus{Configured: h, At: time.Now(), Resolved: []string{}}
		if ip, err := netip.ParseAddr(h); err == nil {
			out[i].Resolved = []string{ip.Unmap().String()}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
			if err != nil || len(ips) == 0 {
				if err == nil {
					err = fmt.Errorf("no addresses")
				}
				out[i].Error = err.Error()
				if i < len(prev) && prev[i].Configured == h {
					out[i].Resolved = prev[i].Resolved
				}
				return
			}
			for _, ip := range ips {
				if s := ip.Unmap().String(); !slices.Contains(out[i].Resolved, s) {
					out[i].Resolved = append(out[i].Resolved, s)
				}
			}
			slices.Sort(out[i].Resolved)
		}()
	}
	wg.Wait()
	return out
}

func flatten(names []NameStatus) []string {
	var out []string
	for _, n := range names {
		for _, ip := range n.Resolved {
			if !slices.Contains(out, ip) {
				out = append(out, ip)
			}
		}
	}
	return out
}

// askSTUN asks each server in turn from the media socket and returns the
// first reflexive address seen.
func askSTUN(ctx context.Context, mux *ice.UniversalUDPMuxDefault, servers []string) (netip.AddrPort, []STUNStatus) {
	var found netip.AddrPort
	status := make([]STUNStatus, len(servers))
	for i, s := range servers {
		status[i] = STUNStatus{Server: s, At: time.Now()}
		rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		addr, err := resolveUDP(rctx, s)
		cancel()
		if err != nil {
			status[i].Error = err.Error()
			continue
		}
		xor, err := mux.GetXORMappedAddrContext(ctx, addr, stunTimeout)
		if err != nil {
			status[i].Error = err.Error()
			continue
		}
		ip, _ := netip.AddrFromSlice(xor.IP)
		ap := netip.AddrPortFrom(ip.Unmap(), uint16(xor.Port))
		status[i].Reflexive = ap.String()
		if !found.IsValid() {
			found = ap
		}
	}
	return found, status
}

func resolveUDP(ctx context.Context, hostPort string) (*net.UDPAddr, error) {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return nil, err
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil || len(ips) == 0 {
		if err == nil {
			err = fmt.Errorf("%s: no IPv4 address", host)
		}
		return nil, err
	}
	return net.ResolveUDPAddr("udp4", net.JoinHostPort(ips[0].String(), port))
}

// refreshLoop keeps the advertised addresses current until ctx ends.
func (e *Engine) refreshLoop(ctx context.Context) {
	defer e.wg.Done()
	var dnsTick, stunTick <-chan time.Time
	if needsDNS(e.cfg.PublicIPs) {
		t := time.NewTicker(e.cfg.NAT1To1Refresh)
		defer t.Stop()
		dnsTick = t.C
	}
	if e.stunEnabled() {
		e.refreshSTUN(ctx) // at once: answers lack the address until then
		t := time.NewTicker(e.cfg.STUNRefresh)
		defer t.Stop()
		stunTick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-dnsTick:
			cur := e.adv.Load()
			names := resolve(ctx, e.cfg.PublicIPs, cur.Names)
			next := *cur
			next.Names, next.NAT1To1 = names, flatten(names)
			if !slices.Equal(next.NAT1To1, cur.NAT1To1) {
				e.log.Info("advertised addresses changed", "nat_1to1", next.NAT1To1)
			}
			for _, n := range names {
				if n.Error != "" {
					e.log.Warn("cannot resolve nat_1to1 name; keeping its last addresses", "name", n.Configured, "error", n.Error)
				}
			}
			e.adv.Store(&next)
		case <-stunTick:
			e.refreshSTUN(ctx)
		}
	}
}

func (e *Engine) refreshSTUN(ctx context.Context) {
	found, status := askSTUN(ctx, e.universal, e.cfg.STUNServers)
	cur := e.adv.Load()
	next := *cur
	next.STUN = status
	if found.IsValid() {
		if found != cur.Reflexive {
			e.log.Info("reflexive address discovered", "address", found.String())
			if local := e.UDPAddr().Port; int(found.Port()) != local {
				e.log.Warn("the NAT maps the media port to another port; forward the UDP port or use TURN",
					"local_port", local, "public_port", found.Port())
			}
		}
		next.Reflexive = found
	} else if ctx.Err() == nil {
		e.log.Warn("no STUN server answered; keeping the last reflexive address", "servers", e.cfg.STUNServers)
	}
	e.adv.Store(&next)
}

func needsDNS(entries []string) bool {
	for _, h := range entries {
		if _, err := netip.ParseAddr(h); err != nil {
			return true
		}
	}
	return false
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err
}
