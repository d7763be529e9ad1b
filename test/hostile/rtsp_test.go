package hostile

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"context"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/config"
)

// TestStalledRTSPConnectionsClosed: an RTSP connection that sends nothing,
// or one OPTIONS and then nothing, is closed at rtsp_idle_timeout; one
// address gets at most max_connections_per_ip connections; an RTSP reader
// playing over TCP, whose connection is as silent, keeps playing for many
// idle timeouts; the WHEP control viewer keeps its picture.
func TestStalledRTSPConnectionsClosed(t *testing.T) {
	const idle = 1500 * time.Millisecond
	gw := startGateway(t, func(c *config.Config) {
		c.RTSPIdleTimeout = idle
		c.MaxConnectionsPerIP = 3
		c.RateLimitExempt = nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	addr := gw.RTSPAddr()

	// A reader over TCP, from its own address: it sends nothing after
	// PLAY (gortsplib's RTCP reports come every few seconds at most).
	var got atomic.Int64
	reader := playRTSP(t, "rtsp://"+addr.String()+"/control", "127.0.0.5", &got)
	defer reader.Close()
	waitFor(t, ctx, "the RTSP reader's first packets", func() bool { return got.Load() > 10 })

	silent := dialFrom(t, "127.0.0.1", addr)
	closedWithin(t, "an RTSP connection that sends nothing", silent, idle-200*time.Millisecond, idle+slack)

	opts := dialFrom(t, "127.0.0.1", addr)
	fmt.Fprintf(opts, "OPTIONS rtsp://%s/control RTSP/1.0\r\nCSeq: 1\r\n\r\n", addr)
	buf := make([]byte, 512)
	_ = opts.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := opts.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "RTSP/1.0 200") {
		t.Fatalf("OPTIONS: %q %v", buf[:n], err)
	}
	closedWithin(t, "an RTSP connection after one OPTIONS", opts, idle-200*time.Millisecond, idle+slack)

	// The per-address cap: three held, the fourth closed at once.
	var held []net.Conn
	for i := range 3 {
		c := dialFrom(t, "127.0.0.1", addr)
		fmt.Fprintf(c, "OPTIONS rtsp://%s/control RTSP/1.0\r\nCSeq: %d\r\n\r\n", addr, i+1)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "RTSP/1.0 200") {
			t.Fatalf("held connection %d: %q %v", i, buf[:n], err)
		}
		held = append(held, c)
	}
	fourth := dialFrom(t, "127.0.0.1", addr)
	closedWithin(t, "a fourth RTSP connection of 127.0.0.1", fourth, 0, idle-500*time.Millisecond)
	for _, c := range held {
		c.Close()
	}

	// The reader played through all of it, four idle timeouts at least.
	start, before := time.Now(), got.Load()
	waitFor(t, ctx, "the RTSP reader playing across idle timeouts", func() bool {
		return time.Since(start) > 4*idle && got.Load() > before+100
	})
	a := newAttacker(t, gw)
	if n := metric(t, a, `wishgate_connections_refused_total{listener="rtsp",reason="per_ip"}`); n != 1 {
		t.Errorf("RTSP refusals per_ip counted %v, want 1", n)
	}
	ctl.check(t, 0.999)
}

// playRTSP plays url over TCP from the source address src, counting packets.
func playRTSP(t *testing.T, url, src string, n *atomic.Int64) *gortsplib.Client {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp, DialContext: d.DialContext}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	desc, _, err := c.Describe(u)
	if err == nil {
		err = c.SetupAll(desc.BaseURL, desc.Medias)
	}
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	c.OnPacketRTPAny(func(*description.Media, format.Format, *rtp.Packet) { n.Add(1) })
	if _, err := c.Play(nil); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}
