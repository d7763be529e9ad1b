package testutil

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
)

// EncodeH264 encodes seconds of ffmpeg's testsrc2 at size and fps with
// libx264 (Constrained Baseline, no B-frames) plus the extra x264 options
// (e.g. "keyint=50:min-keyint=50:scenecut=0:aud=1") and returns the clip's
// access units. The test fails if ffmpeg is missing and tools are required.
func EncodeH264(t testing.TB, size string, fps, seconds int, x264opts string) [][][]byte {
	t.Helper()
	ffmpeg := RequireTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), "clip.h264")
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=" + strconv.Itoa(fps) + ":duration=" + strconv.Itoa(seconds),
		"-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-bf", "0", "-preset", "veryfast"}
	if x264opts != "" {
		args = append(args, "-x264-params", x264opts)
	}
	args = append(args, "-f", "h264", out)
	if b, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg encode: %v: %s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	aus := AccessUnits(AnnexBNALs(data))
	if len(aus) < fps*seconds/2 {
		t.Fatalf("clip has %d access units, want about %d", len(aus), fps*seconds)
	}
	return aus
}

// AnnexBNALs splits an Annex B byte stream into NAL units.
func AnnexBNALs(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && b[end-1] == 0 {
					end--
				}
				nals = append(nals, b[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

// AccessUnits groups H.264 NAL units into access units (H.264 §7.4.1.2.3):
// a new one starts at an AUD, SEI, SPS or PPS following a slice, or at a
// slice whose first_mb_in_slice is 0 (its first coded bit is 1).
func AccessUnits(nals [][]byte) [][][]byte {
	var aus [][][]byte
	var cur [][]byte
	hasSlice := false
	for _, n := range nals {
		if len(n) == 0 {
			continue
		}
		typ := n[0] & 0x1F
		isSlice := typ == 1 || typ == 5
		if hasSlice && ((typ >= 6 && typ <= 9) || (isSlice && len(n) > 1 && n[1]&0x80 != 0)) {
			aus = append(aus, cur)
			cur, hasSlice = nil, false
		}
		cur = append(cur, n)
		hasSlice = hasSlice || isSlice
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	return aus
}

// Camera is an in-process RTSP camera on 127.0.0.1: a gortsplib server that
// streams H.264 access units at fps, looped, each NAL unit in its own packet
// or FU-As of 1400 bytes (as gst-rtsp-server and most cameras send them), all
// of one picture under one timestamp. Parameter sets stay in the stream as
// the clip has them, and are announced in the SDP too.
type Camera struct {
	URL string

	srv    *gortsplib.Server
	stream *gortsplib.ServerStream
	served atomic.Pointer[gortsplib.ServerStream] // stream, for the handler once it is ready
	media  *description.Media
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// CameraOptions are a Camera's optional transports.
type CameraOptions struct {
	// MulticastIPRange and MulticastRTPPort (RTCP on the next port) let
	// clients read over UDP multicast.
	MulticastIPRange string
	MulticastRTPPort int
}

// StartCamera starts a camera serving aus at rtsp://127.0.0.1:PORT/cam until
// the test ends.
func StartCamera(t testing.TB, aus [][][]byte, fps int, opts CameraOptions) *Camera {
	t.Helper()
	var sps, pps []byte
	for _, nal := range aus[0] {
		switch nal[0] & 0x1F {
		case 7:
			sps = nal
		case 8:
			pps = nal
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &Camera{URL: "rtsp://" + ln.Addr().String() + "/cam", stop: make(chan struct{}), done: make(chan struct{})}
	c.media = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{
		PayloadTyp: 96, SPS: sps, PPS: pps, PacketizationMode: 1,
	}}}
	c.srv = &gortsplib.Server{
		Handler:     cameraHandler{&c.served},
		RTSPAddress: ln.Addr().String(),
		Listen:      func(string, string) (net.Listener, error) { return ln, nil },
	}
	if opts.MulticastIPRange != "" {
		c.srv.MulticastIPRange = opts.MulticastIPRange
		c.srv.MulticastRTPPort, c.srv.MulticastRTCPPort = opts.MulticastRTPPort, opts.MulticastRTPPort+1
	}
	if err := c.srv.Start(); err != nil {
		ln.Close()
		t.Fatalf("camera: %v", err)
	}
	c.stream = &gortsplib.ServerStream{Server: c.srv, Desc: &description.Session{Medias: []*description.Media{c.media}}}
	if err := c.stream.Initialize(); err != nil {
		c.srv.Close()
		t.Fatal(err)
	}
	c.served.Store(c.stream)
	go c.feed(aus, fps)
	t.Cleanup(c.Close)
	return c
}

func (c *Camera) feed(aus [][][]byte, fps int) {
	defer close(c.done)
	enc := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: 1400, PacketizationMode: 1}
	if enc.Init() != nil {
		return
	}
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		ts := uint32(n) * uint32(90000/fps)
		au := aus[n%len(aus)]
		for i, nal := range au {
			// One NAL unit at a time: the encoder would aggregate small
			// ones into a STAP-A, which hides the per-packet layout.
			pkts, err := enc.Encode([][]byte{nal})
			if err != nil {
				continue
			}
			for k, p := range pkts {
				p.Timestamp = ts
				p.Marker = i == len(au)-1 && k == len(pkts)-1
				_ = c.stream.WritePacketRTP(c.media, p)
			}
		}
	}
}

// Close stops the camera. Idempotent.
func (c *Camera) Close() {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		c.stream.Close()
		c.srv.Close()
		_ = c.srv.Wait()
	})
}

// cameraHandler serves a test camera's one stream to every client. The
// stream can only be made once the server runs: until it is stored, a
// client is told to come back (503), and the store orders the stream's
// initialisation before the server's goroutines read it.
type cameraHandler struct {
	stream *atomic.Pointer[gortsplib.ServerStream]
}

func (h cameraHandler) served() (*base.Response, *gortsplib.ServerStream, error) {
	s := h.stream.Load()
	if s == nil {
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, s, nil
}

func (h cameraHandler) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return h.served()
}

func (h cameraHandler) OnSetup(*gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return h.served()
}

func (h cameraHandler) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// FreeUDPPair finds an even UDP port on 127.0.0.1 whose successor is free
// too (RTP and RTCP, RFC 3550 §11).
func FreeUDPPair(t testing.TB) int {
	t.Helper()
	for range 100 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port >= 65535 {
			a.Close()
			continue
		}
		b, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port+1))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return port
	}
	t.Fatal("no free even UDP port pair")
	return 0
}
