package rtc

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestParseRemoteNetwork(t *testing.T) {
	for in, want := range map[string]RemoteNetwork{
		"allow 10.0.0.0/8":        {Allow: true, Prefix: netip.MustParsePrefix("10.0.0.0/8")},
		"deny 192.168.1.7/16":     {Prefix: netip.MustParsePrefix("192.168.0.0/16")},
		"  deny   2001:db8::/32 ": {Prefix: netip.MustParsePrefix("2001:db8::/32")},
	} {
		got, err := ParseRemoteNetwork(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, in := range []string{"10.0.0.0/8", "permit 10.0.0.0/8", "deny", "deny 10.0.0.0", "allow x/8", ""} {
		if _, err := ParseRemoteNetwork(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestCandidatePolicy(t *testing.T) {
	rules := []RemoteNetwork{
		{Allow: true, Prefix: netip.MustParsePrefix("169.254.10.0/24")}, // widens link-local
		{Allow: true, Prefix: netip.MustParsePrefix("224.0.0.0/4")},     // cannot widen multicast
		{Prefix: netip.MustParsePrefix("10.0.0.0/8")},
	}
	p := newCandidatePolicy(rules, false)
	p.protect(netip.MustParseAddrPort("0.0.0.0:8080"), netip.MustParseAddrPort("192.0.2.50:8554"))
	p.advertised = func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("203.0.113.9")} }
	cases := []struct {
		addr string
		want dropReason
	}{
		{"192.0.2.1:5000", keep},
		{"[2001:db8::1]:5000", keep},
		{"192.168.1.20:5000", keep},
		{"224.0.0.251:5353", dropMulticast},
		{"239.255.255.250:1900", dropMulticast},
		{"[ff02::fb]:5353", dropMulticast},
		{"255.255.255.255:9", dropBroadcast},
		{"240.1.2.3:9", dropBroadcast},
		{"0.0.0.0:9", dropUnspecified},
		{"0.1.2.3:9", dropUnspecified},
		{"[::]:9", dropUnspecified},
		{"169.254.169.254:80", dropLinkLocal},
		{"[::ffff:169.254.169.254]:80", dropLinkLocal},
		{"[64:ff9b::a9fe:a9fe]:80", dropLinkLocal}, // NAT64 of the metadata address
		{"[64:ff9b::e000:fb]:5353", dropMulticast},
		{"[fe80::1]:5000", dropLinkLocal},
		{"169.254.10.5:5000", keep}, // the allow rule
		{"[fd00:ec2::254]:80", dropMetadata},
		{"100.100.100.200:80", dropMetadata},
		{"127.0.0.1:5000", dropLoopback},
		{"[::1]:5000", dropLoopback},
		{"10.1.2.3:5000", dropDenied},
		{"127.0.0.1:8080", dropOwnSocket},   // wildcard HTTP socket, via loopback
		{"203.0.113.9:8080", dropOwnSocket}, // ... via the advertised address
		{"192.0.2.50:8554", dropOwnSocket},  // RTSP bound to one address
		{"192.0.2.51:8554", keep},           // another host's RTSP port
		{"203.0.113.9:5000", keep},
	}
	for _, c := range cases {
		if got := p.check(netip.MustParseAddrPort(c.addr)); got != c.want {
			t.Errorf("%s: %s, want %s", c.addr, got, c.want)
		}
	}
	// pion's filter (peer-reflexive addresses) applies the same classes.
	for ip, want := range map[string]bool{"192.0.2.1": true, "169.254.169.254": false, "224.0.0.1": false, "10.0.0.1": false, "127.0.0.1": false} {
		if got := p.keepIP(net.ParseIP(ip)); got != want {
			t.Errorf("keepIP(%s) = %v", ip, got)
		}
	}
	if lo := newCandidatePolicy(nil, true); lo.check(netip.MustParseAddrPort("127.0.0.1:5000")) != keep {
		t.Error("loopback refused although media is on loopback")
	}
}

func TestLocalBroadcastRefused(t *testing.T) {
	p := newCandidatePolicy(nil, false)
	p.mu.Lock()
	p.refreshLocked()
	var bcast []netip.Addr
	for a := range p.broadcast {
		bcast = append(bcast, a)
	}
	p.mu.Unlock()
	for _, a := range bcast {
		if got := p.check(netip.AddrPortFrom(a, 9)); got != dropBroadcast {
			t.Errorf("subnet broadcast %s: %s", a, got)
		}
	}
	t.Logf("local subnet broadcast addresses: %v", bcast)
}

func TestParseCandidate(t *testing.T) {
	cases := []struct {
		in   string
		ok   bool
		line string
	}{
		{"candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 46154 generation 0 ufrag EsAw network-cost 999",
			true, "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 46154 ufrag EsAw"},
		{"candidate:1 1 UDP 2122252543 ::ffff:192.0.2.1 5000 typ host", true, "candidate:1 1 udp 2122252543 192.0.2.1 5000 typ host"},
		{"candidate:1 2 udp 2122252543 192.0.2.1 5001 typ host", false, ""},
		{"candidate:1 1 tcp 2122252543 192.0.2.1 9 typ host tcptype active", false, ""},
		{"candidate:1 1 udp 2122252543 3b0c2f5e-1a.local 5000 typ host", false, ""},
		{"candidate:1 1 udp 2122252543 fe80::1%eth0 5000 typ host", false, ""},
		{"candidate:1 1 udp 2122252543 192.0.2.1 0 typ host", false, ""},
		{"candidate:1 1 udp 99999999999 192.0.2.1 5000 typ host", false, ""},
		{"candidate:1 1 udp 1 192.0.2.1 5000 typ weird", false, ""},
		{"candidate:b@d 1 udp 1 192.0.2.1 5000 typ host", false, ""},
		{"candidate:1 1 udp 1 192.0.2.1 5000 host typ", false, ""},
	}
	for _, c := range cases {
		got, ok := parseCandidate("0", c.in)
		if ok != c.ok || (ok && got.line != c.line) {
			t.Errorf("%q: ok=%v line=%q", c.in, ok, got.line)
		}
		if ok && !strings.HasPrefix(got.line, "candidate:") {
			t.Errorf("%q: rebuilt without prefix", c.in)
		}
	}
}
