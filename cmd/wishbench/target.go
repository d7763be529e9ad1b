package main

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/pion/webrtc/v4"
)

// checkTarget refuses any endpoint that is not on this machine: the tool
// floods what it points at. Loopback is always allowed; with link set, so is
// an address on the small subnet of that veth interface, i.e. a server in
// another network namespace of this machine (scripts/bench-compare.sh).
func checkTarget(raw, link string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return nil
	}
	if ip != nil && link != "" {
		return onVethLink(ip, link)
	}
	return fmt.Errorf("%q is not a loopback address: wishbench only runs against this machine", host)
}

// onVethLink accepts ip if it is on a /24 (or smaller) subnet of the veth
// interface link other than the interface's own address; a physical NIC is
// refused.
func onVethLink(ip net.IP, link string) error {
	ifc, err := net.InterfaceByName(link)
	if err != nil {
		return fmt.Errorf("-link %s: %w", link, err)
	}
	if dev, err := filepath.EvalSymlinks("/sys/class/net/" + link); err != nil || !strings.Contains(dev, "/devices/virtual/net/") {
		return fmt.Errorf("-link %s is not a virtual (veth) interface", link)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return fmt.Errorf("-link %s: %w", link, err)
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.Equal(ip) || !n.Contains(ip) {
			continue
		}
		if ones, bits := n.Mask.Size(); bits-ones <= 8 {
			return nil
		}
	}
	return fmt.Errorf("%s is not a peer on the subnet of %s", ip, link)
}

// onLink restricts a client's host candidates to the addresses of link
// (nil: loopback, client.LoopbackSettingEngine's default).
func onLink(link string) func(*webrtc.SettingEngine) {
	if link == "" {
		return nil
	}
	return func(se *webrtc.SettingEngine) {
		se.SetIncludeLoopbackCandidate(false)
		se.SetInterfaceFilter(func(name string) bool { return name == link })
		se.SetIPFilter(func(net.IP) bool { return true })
	}
}

// newViewerNet picks the viewers' local address: 127.0.0.1, or the first
// IPv4 address of the -link interface.
func newViewerNet(link string) (viewerNet, error) {
	n := viewerNet{ip: net.IPv4(127, 0, 0, 1), configure: onLink(link)}
	if link == "" {
		return n, nil
	}
	ifc, err := net.InterfaceByName(link)
	if err != nil {
		return n, fmt.Errorf("-link %s: %w", link, err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return n, fmt.Errorf("-link %s: %w", link, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			n.ip = ipn.IP.To4()
			return n, nil
		}
	}
	return n, fmt.Errorf("-link %s has no IPv4 address", link)
}
