package rtc

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

func TestHostFilter(t *testing.T) {
	f := hostFilter{ifaces: []string{"eth0"}}
	if !f.keepIface("eth0") || f.keepIface("docker0") {
		t.Fatal("interface filter")
	}
	f = hostFilter{}
	for _, n := range []string{"10.0.0.0/8", "2001:db8::/32"} {
		f.nets = append(f.nets, mustPrefix(t, n))
	}
	for ip, want := range map[string]bool{"10.1.2.3": true, "192.168.1.1": false, "2001:db8::1": true, "::ffff:10.0.0.1": true} {
		if got := f.keepIP(net.ParseIP(ip)); got != want {
			t.Errorf("%s: got %v", ip, got)
		}
	}
	if !(hostFilter{}).keepIP(net.ParseIP("192.0.2.1")) || !(hostFilter{}).keepIface("any") {
		t.Fatal("an empty filter keeps everything")
	}
}

func newTestEngine(t *testing.T, cfg EngineConfig) *Engine {
	t.Helper()
	if cfg.UDPAddr == "" {
		cfg.UDPAddr = "127.0.0.1:0"
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func diagnose(t *testing.T, e *Engine) Diagnostics {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := e.Diagnose(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDiagnoseUDPAndTCP(t *testing.T) {
	e := newTestEngine(t, EngineConfig{TCPAddr: "127.0.0.1:0"})
	d := diagnose(t, e)
	if !d.UDP.Bound || !d.TCP.Enabled || !d.TCP.Bound || d.TCP.Addr != e.TCPAddr().String() {
		t.Fatalf("listeners: %+v %+v", d.UDP, d.TCP)
	}
	if len(d.Candidates) != 2 {
		t.Fatalf("want one UDP and one TCP candidate, got %+v", d.Candidates)
	}
	u, c := d.Candidates[0], d.Candidates[1]
	if u.Protocol != "udp" || u.Address != "127.0.0.1" || u.Port != e.UDPAddr().Port || u.Type != "host" {
		t.Fatalf("first candidate must be the UDP host one: %+v", u)
	}
	if c.Protocol != "tcp" || c.TCPType != "passive" || c.Port != e.TCPAddr().Port {
		t.Fatalf("TCP candidate: %+v", c)
	}
	if !slices.ContainsFunc(d.Warnings, func(w string) bool { return strings.Contains(w, "private or loopback") }) {
		t.Fatalf("loopback-only candidates should warn: %v", d.Warnings)
	}
	_ = e.Close()
	if _ = e.Close(); false {
		t.Fatal("unreachable")
	}
	d2, err := e.Diagnose(context.Background())
	if err == nil || d2.UDP.Bound {
		t.Fatalf("closed engine: %+v %v", d2.UDP, err)
	}
}

func TestNAT1To1NamesAndIPs(t *testing.T) {
	e := newTestEngine(t, EngineConfig{TCPAddr: "127.0.0.1:0", PublicIPs: []string{"localhost", "198.51.100.9"}})
	d := diagnose(t, e)
	if len(d.NAT1To1) != 2 || d.NAT1To1[0].Configured != "localhost" || !slices.Contains(d.NAT1To1[0].Resolved, "127.0.0.1") {
		t.Fatalf("resolution: %+v", d.NAT1To1)
	}
	var udp, tcp bool
	for _, c := range d.Candidates {
		if c.Address == "198.51.100.9" && c.Protocol == "udp" && c.Port == e.UDPAddr().Port {
			udp = true
		}
		if c.Address == "198.51.100.9" && c.Protocol == "tcp" && c.Port == e.TCPAddr().Port {
			tcp = true
		}
	}
	if !udp || !tcp {
		t.Fatalf("the NAT 1:1 address is not advertised on both sockets: %+v", d.Candidates)
	}
	if _, err := NewEngine(EngineConfig{UDPAddr: "127.0.0.1:0", PublicIPs: []string{"no-such-host.invalid"}}); err == nil || !strings.Contains(err.Error(), "nat_1to1") {
		t.Fatalf("an unresolvable name must fail the start: %v", err)
	}
}

// fakeSTUN answers binding requests with a fixed public address, as a STUN
// server on the far side of a NAT would.
func fakeSTUN(t *testing.T, public *net.UDPAddr) string {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil || req.Type != stun.BindingRequest {
				continue
			}
			resp, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: public.IP, Port: public.Port}, stun.Fingerprint)
			if err == nil {
				_, _ = conn.WriteTo(resp.Raw, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return conn.LocalAddr().String()
}

func TestSTUNReflexiveAddressIsAdvertised(t *testing.T) {
	server := fakeSTUN(t, &net.UDPAddr{IP: net.ParseIP("203.0.113.7"), Port: 40000})
	e := newTestEngine(t, EngineConfig{STUNServers: []string{server}, STUNRefresh: time.Hour})
	deadline := time.Now().Add(5 * time.Second)
	for {
		d := diagnose(t, e)
		if slices.ContainsFunc(d.Candidates, func(c CandidateReport) bool {
			return c.Address == "203.0.113.7" && c.Port == e.UDPAddr().Port && c.Protocol == "udp"
		}) {
			if len(d.STUN) != 1 || d.STUN[0].Reflexive != "203.0.113.7:40000" {
				t.Fatalf("stun status: %+v", d.STUN)
			}
			if d.Candidates[0].Address != "127.0.0.1" && d.Candidates[0].Address != "203.0.113.7" {
				t.Fatalf("order: %+v", d.Candidates)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reflexive address never advertised: %+v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A STUN server that never answers must not delay answers (OBS gives up on
// a POST after 8 s):
// gathering uses the last known address, never a live STUN transaction.
func TestSilentSTUNDoesNotDelayAnswers(t *testing.T) {
	silent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	e := newTestEngine(t, EngineConfig{STUNServers: []string{silent.LocalAddr().String()}, STUNRefresh: time.Hour})
	start := time.Now()
	d := diagnose(t, e)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("gathering took %s while STUN was pending", took)
	}
	if len(d.Candidates) == 0 || d.Candidates[0].Address != "127.0.0.1" {
		t.Fatalf("candidates: %+v", d.Candidates)
	}
	// The timeout is reported once the transaction gives up.
	deadline := time.Now().Add(stunTimeout + 3*time.Second)
	for {
		d = diagnose(t, e)
		if len(d.STUN) == 1 && d.STUN[0].Error != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("STUN failure never reported: %+v", d.STUN)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCandidateOrderPublicFirst(t *testing.T) {
	cands := []string{
		"a=candidate:1 1 tcp 1 203.0.113.7 9 typ host tcptype passive",
		"a=candidate:2 1 udp 1 fe80::1 5 typ host",
		"a=candidate:3 1 udp 1 10.0.0.5 5 typ host",
		"a=candidate:4 1 udp 1 2001:db8::5 5 typ host",
		"a=candidate:5 1 udp 1 203.0.113.7 5 typ host",
		"a=candidate:6 1 udp 1 198.51.100.1 5 typ srflx raddr 10.0.0.5 rport 5",
	}
	sortCandidates(cands)
	var got []string
	for _, c := range cands {
		got = append(got, strings.Fields(c)[0][len("a=candidate:"):])
	}
	if want := []string{"5", "3", "4", "2", "6", "1"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// wildcardConn stands in for a socket bound to 0.0.0.0 without opening one
// (tests stay on loopback): hostUDPMux only asks it for its address.
type wildcardConn struct{ net.PacketConn }

func (wildcardConn) LocalAddr() net.Addr { return &net.UDPAddr{IP: net.IPv4zero, Port: 5000} }

func TestHostUDPMuxFiltersWildcardAddresses(t *testing.T) {
	all := (&hostUDPMux{conn: wildcardConn{}}).GetListenAddresses()
	for _, a := range all {
		ip := a.(*net.UDPAddr).IP
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.To4() == nil || a.(*net.UDPAddr).Port != 5000 {
			t.Fatalf("unexpected host address %s", a)
		}
	}
	none := (&hostUDPMux{conn: wildcardConn{}, filter: hostFilter{nets: []netip.Prefix{netip.MustParsePrefix("240.0.0.0/4")}}}).GetListenAddresses()
	if len(none) != 0 {
		t.Fatalf("host_networks 240.0.0.0/4 (reserved, never assigned) kept %v", none)
	}
	if got := (&hostUDPMux{conn: wildcardConn{}, filter: hostFilter{ifaces: []string{"no-such-if0"}}}).GetListenAddresses(); len(got) != 0 {
		t.Fatalf("interfaces [no-such-if0] kept %v", got)
	}
	if len(all) == 0 {
		t.Skip("this machine has no non-loopback IPv4 address to select")
	}
	one := all[0].(*net.UDPAddr).IP
	got := (&hostUDPMux{conn: wildcardConn{}, filter: hostFilter{nets: []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr(one.String()), 32)}}}).GetListenAddresses()
	if len(got) != 1 || !got[0].(*net.UDPAddr).IP.Equal(one) {
		t.Fatalf("host_networks %s/32 kept %v", one, got)
	}
}
