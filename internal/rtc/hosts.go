package rtc

import (
	"net"
	"net/netip"
	"slices"

	"github.com/pion/ice/v4"
)

// hostFilter decides which local addresses may be host candidates
// (EngineConfig.Interfaces and HostNetworks).
type hostFilter struct {
	ifaces []string
	nets   []netip.Prefix
}

func (f hostFilter) keepIface(name string) bool {
	return len(f.ifaces) == 0 || slices.Contains(f.ifaces, name)
}

func (f hostFilter) keepIP(ip net.IP) bool {
	if len(f.nets) == 0 {
		return true
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	for _, n := range f.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// localIPs lists the addresses of up, non-loopback interfaces that pass
// the filter. Link-local addresses are left out: a client can only reach
// them on the same link, where the LAN address works as well, and they
// make answers long (FFmpeg uses just the first candidate anyway).
func (f hostFilter) localIPs(v4, v6 bool) []net.IP {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []net.IP
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 || !f.keepIface(ifc.Name) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsLoopback() || !f.keepIP(ipn.IP) {
				continue
			}
			if is4 := ipn.IP.To4() != nil; (is4 && v4) || (!is4 && v6) {
				out = append(out, ipn.IP)
			}
		}
	}
	return out
}

// hostUDPMux is the UDP mux as the ICE agents see it: pion lists every
// interface address of a socket bound to 0.0.0.0 or [::] without applying
// its interface and IP filters (those only act on sockets it opens itself),
// so the host addresses are chosen here. It hides the universal mux's STUN
// side from the agents: the engine asks STUN itself, off the answer path.
type hostUDPMux struct {
	ice.UDPMux
	conn   net.PacketConn
	filter hostFilter
}

func (m *hostUDPMux) GetListenAddresses() []net.Addr {
	la, ok := m.conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		return nil
	}
	if !la.IP.IsUnspecified() {
		// Bound to one address: that is the one host candidate.
		return []net.Addr{la}
	}
	v6 := la.IP.To4() == nil // [::] is dual-stack on Linux
	var out []net.Addr
	for _, ip := range m.filter.localIPs(true, v6) {
		out = append(out, &net.UDPAddr{IP: ip, Port: la.Port})
	}
	return out
}
