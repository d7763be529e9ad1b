package hostile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/config"
)

// slack is how much later than its deadline a connection may be seen
// closed on a loaded machine; without the deadline it is never closed.
const slack = 4 * time.Second

// dialFrom opens a TCP connection to addr from a loopback source address.
func dialFrom(t *testing.T, src string, addr net.Addr) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads c (discarding what it gets) until the gateway closes
// it, and fails unless that happens between min and max from now. It
// returns everything read.
func closedWithin(t *testing.T, what string, c net.Conn, min, max time.Duration) string {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(max))
	b, err := io.ReadAll(c)
	took := time.Since(start)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Errorf("%s: still open after %v", what, took.Round(time.Millisecond))
	case took < min:
		t.Errorf("%s: closed after %v, before its deadline %v", what, took.Round(time.Millisecond), min)
	default:
		t.Logf("%s: closed after %v", what, took.Round(time.Millisecond))
	}
	return string(b)
}

// TestStalledHTTPConnectionsClosed: a connection that sends nothing, one
// that drips its headers, one that stalls its body and an idle keep-alive
// connection are each closed at their deadline (short ones here), and the
// stalled body is answered 408, never 500.
func TestStalledHTTPConnectionsClosed(t *testing.T) {
	const read, idle = time.Second, 1500 * time.Millisecond
	gw := startGateway(t, func(c *config.Config) {
		c.RTSPAddr = ""
		c.HTTPReadTimeout, c.HTTPWriteTimeout, c.HTTPIdleTimeout = read, 10*time.Second, idle
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	addr := gw.HTTPAddr()

	silent := dialFrom(t, "127.0.0.1", addr)
	closedWithin(t, "a connection that sends nothing", silent, read-200*time.Millisecond, read+slack)

	drip := dialFrom(t, "127.0.0.1", addr)
	dripDone := make(chan struct{})
	go func() {
		defer close(dripDone)
		for _, b := range []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 200)) {
			if _, err := drip.Write([]byte{b}); err != nil {
				return // closed by the gateway
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	closedWithin(t, "a connection dripping its headers", drip, read-200*time.Millisecond, read+slack)
	<-dripDone

	stall := dialFrom(t, "127.0.0.1", addr)
	fmt.Fprintf(stall, "POST /whep/control HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 4000\r\n\r\nv=0\r\n")
	got := closedWithin(t, "a POST whose body stalls", stall, read-200*time.Millisecond, read+slack)
	if !strings.HasPrefix(got, "HTTP/1.1 408 ") || !strings.Contains(got, "application/problem+json") {
		t.Errorf("the stalled POST was answered %q", firstLine(got))
	}

	keep := dialFrom(t, "127.0.0.1", addr)
	fmt.Fprintf(keep, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(keep), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz on the keep-alive connection: %v %v", resp, err)
	}
	resp.Body.Close()
	closedWithin(t, "an idle keep-alive connection", keep, idle-200*time.Millisecond, idle+slack)

	// Those four, counted as they bit; none of the connections that were
	// served and closed (the scrapes, the control's signalling), whose
	// server interrupted its own reads.
	a := newAttacker(t, gw)
	if n := metric(t, a, `wishgate_connections_timed_out_total{direction="read",listener="http"}`); n != 4 {
		t.Errorf("HTTP connections ended by a read deadline: %v, want 4", n)
	}
	if n := metric(t, a, `wishgate_connections_timed_out_total{direction="write",listener="http"}`); n != 0 {
		t.Errorf("HTTP connections ended by a write deadline: %v, want 0", n)
	}
	ctl.check(t, 0.999)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

// TestHTTPConnectionCaps: one address may hold max_connections_per_ip
// connections, everyone together max_connections; past either, a new
// connection is answered 503 with Retry-After and closed, and a closed one
// gives its place back. The control session (whose media needs no HTTP)
// keeps its picture throughout, and the gateway counts what it refused.
func TestHTTPConnectionCaps(t *testing.T) {
	gw := startGateway(t, func(c *config.Config) {
		c.RTSPAddr = ""
		c.MaxConnections, c.MaxConnectionsPerIP = 6, 3
		c.RateLimitExempt = nil // loopback is held to the per-address cap too
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	addr := gw.HTTPAddr()

	var held []net.Conn
	for range 3 {
		held = append(held, dialFrom(t, "127.0.0.1", addr))
	}
	// The gateway sees them in order: one that got through answers.
	if got := getOn(t, held[2], "/healthz"); got != http.StatusOK {
		t.Fatalf("third connection of 127.0.0.1: %d", got)
	}
	refused := func(what, src string) {
		t.Helper()
		c := dialFrom(t, src, addr)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		got := closedWithin(t, what, c, 0, slack)
		if !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, "Retry-After: 1") ||
			!strings.Contains(got, "max_connections") {
			t.Errorf("%s: answered %q", what, got)
		}
	}
	refused("a fourth connection of 127.0.0.1", "127.0.0.1")
	for range 3 {
		held = append(held, dialFrom(t, "127.0.0.2", addr))
	}
	if got := getOn(t, held[5], "/healthz"); got != http.StatusOK {
		t.Fatalf("third connection of 127.0.0.2: %d", got)
	}
	refused("a seventh connection in all", "127.0.0.4")
	// Every place taken, for a while: the control session does not care.
	before := ctl.viewer.Received(webrtc.RTPCodecTypeVideo).Packets
	waitFor(t, ctx, "the control viewer's packets while the listener is full", func() bool {
		return ctl.viewer.Received(webrtc.RTPCodecTypeVideo).Packets >= before+300
	})

	// One place given back: a new connection gets in.
	held[0].Close()
	a := newAttacker(t, gw)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dialFrom(t, "127.0.0.1", addr)
		if getOn(t, c, "/healthz") == http.StatusOK {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection's place was not given back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range held {
		c.Close()
	}
	waitFor(t, ctx, "the held connections gone", func() bool {
		n := metric(t, a, `wishgate_connections{listener="http"}`)
		return n >= 0 && n <= 2
	})
	if n := metric(t, a, `wishgate_connections_refused_total{listener="http",reason="per_ip"}`); n < 1 {
		t.Errorf("refused per_ip counted %v", n)
	}
	if n := metric(t, a, `wishgate_connections_refused_total{listener="http",reason="total"}`); n < 1 {
		t.Errorf("refused total counted %v", n)
	}
	ctl.check(t, 0.999)
}

// getOn sends one GET on c and returns the status, or 0 if the
// connection was refused (closed, or answered 503 by the limiter).
func getOn(t *testing.T, c net.Conn, path string) int {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		return 0
	}
	return resp.StatusCode
}

// metric reads one sample of /metrics by its full name and labels, or -1
// while the scrape itself is refused (a listener still full).
func metric(t *testing.T, a *attacker, series string) float64 {
	t.Helper()
	// Not a.do: a refused scrape may be answered before its request is
	// written, which net/http reports as an error, not as the 503.
	resp, err := a.hc.Get(a.base + "/metrics")
	if err != nil {
		return -1
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("metric %q: %v", l, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", series)
	return 0
}
