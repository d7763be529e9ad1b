package bridge_test

import (
	"bytes"
	"context"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/testutil"
)

// runTool runs a third-party tool (skipped, or failed under
// WISHGATE_REQUIRE_TOOLS=1, when missing) and returns stdout and stderr.
func runTool(t *testing.T, tool string, timeout time.Duration, args ...string) (string, string, error) {
	t.Helper()
	path := testutil.RequireTool(t, tool)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// rtspReader is a gortsplib client reading a stream from the gateway.
type rtspReader struct {
	c     *gortsplib.Client
	desc  *description.Session
	mu    sync.Mutex
	n     int
	bytes int // RTP header and payload
}

// readRTSP describes, sets up and plays url; it returns the response
// status of the first request that failed.
func readRTSP(t *testing.T, rawURL string, transport *gortsplib.Transport) (*rtspReader, error) {
	t.Helper()
	u, err := base.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	r := &rtspReader{c: &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: transport}}
	if err := r.c.Start2(); err != nil {
		t.Fatal(err)
	}
	desc, _, err := r.c.Describe(u)
	if err != nil {
		r.c.Close()
		return nil, err
	}
	r.desc = desc
	if err := r.c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		r.c.Close()
		return nil, err
	}
	r.c.OnPacketRTPAny(func(_ *description.Media, _ format.Format, pkt *rtp.Packet) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.n++
		r.bytes += pkt.MarshalSize()
	})
	if _, err := r.c.Play(nil); err != nil {
		r.c.Close()
		return nil, err
	}
	t.Cleanup(r.c.Close)
	return r, nil
}

func (r *rtspReader) received() (packets, bytes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.bytes
}

func (r *rtspReader) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// readRTSPPackets reads n packets from url over TCP and closes.
func readRTSPPackets(t *testing.T, rawURL string, n int) int {
	t.Helper()
	tcp := gortsplib.TransportTCP
	r, err := readRTSP(t, rawURL, &tcp)
	if err != nil {
		t.Fatalf("RTSP read %s: %v", rawURL, err)
	}
	defer r.c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for r.count() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return r.count()
}
