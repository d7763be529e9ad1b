package bridge_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/h264writer"

	"github.com/wishgate/wishgate/internal/testutil"
)

// h264File writes a viewer's H.264 RTP with pion's h264writer, whole access
// units only (a session closed mid-frame must not leave a truncated picture).
type h264File struct {
	mu    sync.Mutex
	path  string
	f     *os.File
	w     *h264writer.H264Writer
	au    []*rtp.Packet
	wrote int
}

func newH264File(t *testing.T) *h264File {
	path := filepath.Join(t.TempDir(), "viewer.h264")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return &h264File{path: path, f: f, w: h264writer.NewWith(f)}
}

func (h *h264File) write(p *rtp.Packet) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w == nil {
		return
	}
	h.au = append(h.au, p.Clone())
	if !p.Marker {
		return
	}
	for _, q := range h.au {
		if h.w.WriteRTP(q) == nil {
			h.wrote++
		}
	}
	h.au = h.au[:0]
}

// decode closes the file and decodes it with ffmpeg, failing on any decoder
// message; it returns the number of frames.
func (h *h264File) decode(t *testing.T) int {
	t.Helper()
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	h.mu.Lock()
	_ = h.w.Close()
	h.w = nil
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-v", "error", "-f", "h264", "-i", h.path, "-f", "framecrc", "-")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg decode: %v\n%s", err, stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Errorf("ffmpeg reported decode errors:\n%s", s)
	}
	return countFrames(string(out))
}

// countFrames counts the packet lines of ffmpeg's framecrc output.
func countFrames(framecrc string) int {
	n := 0
	for line := range strings.SplitSeq(framecrc, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

// runFFmpeg runs ffmpeg (or ffprobe) with a deadline and returns stdout and stderr.
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
