package app

import (
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/wishgate/wishgate/internal/config"
)

func TestWhereMarksAllInterfaces(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8189}, "[::]:8189 (all interfaces)"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8554}, "0.0.0.0:8554 (all interfaces)"},
		{&net.TCPAddr{Port: 8554}, ":8554 (all interfaces)"},
		{&net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8000}, "127.0.0.1:8000"},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 80}, "192.0.2.1:80"},
	} {
		if got := where(tc.addr); got != tc.want {
			t.Errorf("where(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// The start-up line names the pages and every listener.
func TestStartupLineNamesPagesAndListeners(t *testing.T) {
	lw := &lockedWriter{b: &strings.Builder{}}
	cfg := config.Default()
	cfg.HTTPAddr, cfg.UDPAddr, cfg.TCPAddr, cfg.RTSPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.RTSPUDPRTPAddr, cfg.RTSPUDPRTCPAddr = "", ""
	a, err := New(cfg, slog.New(slog.NewTextHandler(lw, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var line string
	for l := range strings.SplitSeq(lw.String(), "\n") {
		if strings.Contains(l, `msg="wishgate listening"`) {
			line = l
		}
	}
	for _, want := range []string{
		"dashboard=" + a.URL() + "/ ", "player=" + a.URL() + "/watch/{name}", "publisher=" + a.URL() + "/publish/{name}",
		"whip=" + a.URL() + "/whip/{name}", "whep=", "http=127.0.0.1:", "webrtc_udp=127.0.0.1:", "webrtc_tcp=127.0.0.1:",
		"rtsp=127.0.0.1:", "rtsp_udp=off", "rtsps=off",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("start-up line lacks %q:\n%s", want, line)
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
