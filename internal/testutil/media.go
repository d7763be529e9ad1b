package testutil

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/h264writer"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// H264File writes a viewer's H.264 RTP with pion's h264writer, whole access
// units only (a session closed mid-frame must not leave a truncated
// picture), for ffmpeg to decode afterwards. Write may be called from a
// track reader goroutine.
type H264File struct {
	mu    sync.Mutex
	path  string
	f     *os.File
	w     *h264writer.H264Writer
	au    []*rtp.Packet
	wrote int
}

// NewH264File creates the file in the test's temporary directory.
func NewH264File(t testing.TB) *H264File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "viewer.h264")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return &H264File{path: path, f: f, w: h264writer.NewWith(f)}
}

// Write adds one RTP packet.
func (h *H264File) Write(p *rtp.Packet) {
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

// Decode closes the file and decodes it with ffmpeg, failing on any decoder
// message; it returns the number of frames.
func (h *H264File) Decode(t testing.TB) int {
	t.Helper()
	ffmpeg := RequireTool(t, "ffmpeg")
	h.mu.Lock()
	_ = h.w.Close()
	h.w = nil
	h.mu.Unlock()
	out, stderr := run(t, ffmpeg, "-hide_banner", "-v", "error", "-f", "h264", "-i", h.path, "-f", "framecrc", "-")
	if s := strings.TrimSpace(stderr); s != "" {
		t.Errorf("ffmpeg reported decode errors:\n%s", s)
	}
	return CountFrames(out)
}

// Path is the file's name.
func (h *H264File) Path() string { return h.path }

// OpusFile writes a viewer's Opus RTP into an Ogg file with pion's
// oggwriter, for ffmpeg to decode afterwards.
type OpusFile struct {
	mu   sync.Mutex
	path string
	w    *oggwriter.OggWriter
}

// NewOpusFile creates the file (48 kHz, channels as negotiated).
func NewOpusFile(t testing.TB, channels uint16) *OpusFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "viewer.ogg")
	w, err := oggwriter.New(path, 48000, channels)
	if err != nil {
		t.Fatal(err)
	}
	return &OpusFile{path: path, w: w}
}

// Write adds one RTP packet.
func (o *OpusFile) Write(p *rtp.Packet) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.w != nil {
		_ = o.w.WriteRTP(p)
	}
}

// Decode closes the file, decodes it with ffmpeg to 48 kHz mono and
// returns how many seconds it holds and their RMS level (full scale 1).
func (o *OpusFile) Decode(t testing.TB) (seconds, rms float64) {
	t.Helper()
	ffmpeg := RequireTool(t, "ffmpeg")
	o.mu.Lock()
	_ = o.w.Close()
	o.w = nil
	o.mu.Unlock()
	out, stderr := run(t, ffmpeg, "-hide_banner", "-v", "error", "-i", o.path, "-ac", "1", "-ar", "48000", "-f", "s16le", "-")
	if s := strings.TrimSpace(stderr); s != "" {
		t.Errorf("ffmpeg reported Opus decode errors:\n%s", s)
	}
	n := len(out) / 2
	if n == 0 {
		return 0, 0
	}
	var sum float64
	for i := range n {
		v := float64(int16(binary.LittleEndian.Uint16([]byte(out[2*i:])))) / 32768
		sum += v * v
	}
	return float64(n) / 48000, math.Sqrt(sum / float64(n))
}

func run(t testing.TB, tool string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var eb bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stderr = &eb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, eb.String())
	}
	return string(out), eb.String()
}

// CountFrames counts the packet lines of ffmpeg's framecrc output.
func CountFrames(framecrc string) int {
	n := 0
	for line := range strings.SplitSeq(framecrc, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}
