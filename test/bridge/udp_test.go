package bridge_test

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"

	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// RTSP readers get RTP over UDP when they ask for it. When another program
// holds the UDP pair (MediaMTX's defaults are the same), the gateway still
// starts, says so in its log, and serves RTSP over TCP only: a UDP reader
// gets 461 Unsupported Transport (and a real client falls back), a TCP
// reader plays.
func TestRTSPOverUDP(t *testing.T) {
	if d := config.Default(); d.RTSPUDPRTPAddr != ":8000" || d.RTSPUDPRTCPAddr != ":8001" {
		t.Fatalf("default RTSP UDP addresses %q/%q, want :8000/:8001", d.RTSPUDPRTPAddr, d.RTSPUDPRTCPAddr)
	}
	udp := gortsplib.TransportUDP
	tcp := gortsplib.TransportTCP

	t.Run("served", func(t *testing.T) {
		port := testutil.FreeUDPPair(t)
		g := startGateway(t, func(c *config.Config) {
			c.RTSPUDPRTPAddr = "127.0.0.1:" + strconv.Itoa(port)
			c.RTSPUDPRTCPAddr = "127.0.0.1:" + strconv.Itoa(port+1)
		})
		publishWHIP(t, g, "cam", "")
		r, err := readRTSP(t, g.rtspURL("cam"), &udp)
		if err != nil {
			t.Fatalf("read over UDP: %v", err)
		}
		defer r.c.Close()
		waitFor(t, 5*time.Second, "RTP over UDP", func() bool { return r.count() > 50 })
		if !strings.Contains(g.log.String(), "udp=127.0.0.1:"+strconv.Itoa(port)+",127.0.0.1:"+strconv.Itoa(port+1)) {
			t.Errorf("start-up log does not name the UDP pair:\n%s", g.log.String())
		}
	})

	t.Run("ports-taken", func(t *testing.T) {
		port := testutil.FreeUDPPair(t)
		for _, p := range []int{port, port + 1} {
			pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
		}
		g := startGateway(t, func(c *config.Config) {
			c.RTSPUDPRTPAddr = "127.0.0.1:" + strconv.Itoa(port)
			c.RTSPUDPRTCPAddr = "127.0.0.1:" + strconv.Itoa(port+1)
		})
		if log := g.log.String(); !strings.Contains(log, "RTSP over UDP is off") || !strings.Contains(log, "udp=off") {
			t.Fatalf("no warning that RTSP over UDP is off:\n%s", log)
		}
		publishWHIP(t, g, "cam", "")
		if r, err := readRTSP(t, g.rtspURL("cam"), &udp); err == nil {
			r.c.Close()
			t.Fatal("read over UDP succeeded with the UDP ports taken")
		} else if !strings.Contains(err.Error(), "461") {
			t.Fatalf("read over UDP: %v, want 461 Unsupported Transport", err)
		}
		r, err := readRTSP(t, g.rtspURL("cam"), &tcp)
		if err != nil {
			t.Fatalf("read over TCP: %v", err)
		}
		defer r.c.Close()
		waitFor(t, 5*time.Second, "RTP over TCP", func() bool { return r.count() > 50 })
	})
}
