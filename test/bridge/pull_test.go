package bridge_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/rtpconv"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

// recStats is what a WHEP viewer received.
type recStats struct {
	video      videoCheck
	audio      int
	audioCodec string
	videoCodec string
	maxPayload int
	seqJumps   int // video sequence number jumps (lost or skipped packets)
	tsBack     int // video timestamps going backwards
}

// recorder is a WHEP viewer's packet log.
type recorder struct {
	mu      sync.Mutex
	s       recStats
	lastSeq uint16
	lastTS  uint32
	started bool
	onVideo func(*rtp.Packet)
}

func (r *recorder) onPacket(kind webrtc.RTPCodecType, codec webrtc.RTPCodecParameters, pkt *rtp.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if kind == webrtc.RTPCodecTypeAudio {
		r.s.audio++
		r.s.audioCodec = codec.MimeType
		return
	}
	r.s.videoCodec = codec.MimeType
	r.s.video.add(pkt.MarshalSize(), pkt.Payload)
	r.s.maxPayload = max(r.s.maxPayload, len(pkt.Payload))
	if r.started {
		if pkt.SequenceNumber != r.lastSeq+1 {
			r.s.seqJumps++
		}
		if int32(pkt.Timestamp-r.lastTS) < 0 {
			r.s.tsBack++
		}
	}
	r.started, r.lastSeq, r.lastTS = true, pkt.SequenceNumber, pkt.Timestamp
	if r.onVideo != nil {
		r.onVideo(pkt)
	}
}

func (r *recorder) snapshot() recStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s
}

func play(t *testing.T, g *gateway, name string, opts client.PlayOptions) (*client.Viewer, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts.OnPacket = rec.onPacket
	v, err := client.Play(ctxTimeout(t, 10*time.Second), g.whepURL(name), opts)
	if err != nil {
		t.Fatalf("WHEP play %s: %v", name, err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v, rec
}

func waitLive(t *testing.T, g *gateway, name string) {
	t.Helper()
	waitFor(t, 10*time.Second, "stream "+name+" live", func() bool {
		info, ok := g.Registry.Info(name)
		return ok && info.State == streams.StateLive && len(info.Tracks) > 0 && info.Tracks[0].Packets > 0
	})
}

// checkWebRTCVideo asserts what a browser needs from a bridged H.264 camera.
func checkWebRTCVideo(t *testing.T, r recStats) {
	t.Helper()
	if r.video.maxPacket > 1200 || r.maxPayload > rtpconv.MaxPayload {
		t.Errorf("largest video packet %d bytes (payload %d): want <= 1200 (payload <= %d)",
			r.video.maxPacket, r.maxPayload, rtpconv.MaxPayload)
	}
	if !r.video.firstIDR {
		t.Fatalf("no IDR received in %d video packets", r.video.packets)
	}
	if !r.video.paramsBefore {
		t.Errorf("SPS/PPS did not come before the first IDR")
	}
}

func TestCameraToWHEP(t *testing.T) {
	cases := []struct {
		name      string
		spec      camSpec
		wantAudio string // mime the viewer gets, "" for none
		note      string // how the audio track is noted, "" for bridged
	}{
		{"h264-opus", camSpec{video: "h264", audio: "opus", udp: true}, "audio/opus", ""},
		{"h264-pcma", camSpec{video: "h264", audio: "pcma"}, "audio/PCMA", ""},
		// AAC reaches browsers transcoded to Opus (RTSP readers keep it);
		// a build without the transcoder keeps it for RTSP only.
		{"h264-aac", camSpec{video: "h264", audio: "aac"}, "audio/opus", "mpeg4-generic/44100/2): transcoded"},
		{"h264-mjpeg", camSpec{video: "h264", mjpeg: true}, "", ""},
		// G.711 at 16 kHz in stereo, which WebRTC does not play either.
		{"h264-pcmu16", camSpec{video: "h264", audio: "pcmu16"}, "audio/opus", "pcmu/16000/2): transcoded"},
	}
	if !testutil.HasTranscoder(t) {
		cases[2].wantAudio, cases[2].note = "", "mpeg4-generic/44100/2): rtsp-only"
		cases[4].wantAudio, cases[4].note = "", "pcmu/16000/2): rtsp-only"
	}
	g := startGateway(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cam := newCamera(t, tc.spec)
			cam.Start()
			sc := bridge.SourceConfig{Name: tc.name, URL: cam.url("stream")}
			if tc.spec.udp {
				sc.Transport = bridge.TransportUDP
			}
			if err := g.Sources().Add(sc); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = g.Sources().Remove(tc.name) })
			waitLive(t, g, tc.name)

			v, rec := play(t, g, tc.name, client.PlayOptions{})
			if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 60); err != nil {
				t.Fatalf("video: %v", err)
			}
			if tc.wantAudio != "" {
				if err := v.WaitPackets(ctxTimeout(t, 5*time.Second), webrtc.RTPCodecTypeAudio, 20); err != nil {
					t.Fatalf("audio: %v", err)
				}
			}
			r := rec.snapshot()
			checkWebRTCVideo(t, r)
			if !strings.EqualFold(r.audioCodec, tc.wantAudio) {
				t.Errorf("viewer audio codec %q, want %q", r.audioCodec, tc.wantAudio)
			}
			if tc.wantAudio == "" && r.audio > 0 {
				t.Errorf("viewer got %d audio packets from a track WebRTC cannot play", r.audio)
			}

			st, _ := g.Sources().Get(tc.name)
			if st.State != bridge.StatePlaying {
				t.Errorf("source state %q, want playing", st.State)
			}
			notes := ""
			for _, n := range st.Tracks {
				notes += n.String() + "\n"
			}
			if tc.note != "" && !strings.Contains(strings.ToLower(notes), tc.note) {
				t.Errorf("status does not note %q:\n%s", tc.note, notes)
			}
			if tc.spec.mjpeg && !strings.Contains(notes, "refused") {
				t.Errorf("status does not record the MJPEG track as refused:\n%s", notes)
			}
			info, _ := g.Registry.Info(tc.name)
			wantTracks := 1
			if tc.spec.audio != "" {
				wantTracks = 2 // AAC stays in the registry for RTSP readers (its Opus track is not listed)
			}
			if len(info.Tracks) != wantTracks {
				t.Errorf("registry has %d tracks, want %d", len(info.Tracks), wantTracks)
			}
			if got := cam.openSessions(); got != 1 {
				t.Errorf("camera has %d sessions, want exactly one upstream connection", got)
			}
		})
	}
}

func TestCameraH265(t *testing.T) {
	g := startGateway(t, nil)
	cam := newCamera(t, camSpec{video: "h265"})
	cam.Start()
	if err := g.Sources().Add(bridge.SourceConfig{Name: "hevc", URL: cam.url("hevc")}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "hevc")

	// A viewer offering H.265 gets it, re-packetized to WebRTC sizes with
	// VPS/SPS/PPS in front of the IRAP picture.
	var mu sync.Mutex
	var maxSize int
	var types []byte
	v, err := client.Play(ctxTimeout(t, 10*time.Second), g.whepURL("hevc"), client.PlayOptions{
		Options: client.Options{NoAudio: true, VideoCodecs: client.Codecs(client.CodecH265, client.CodecH264)},
		OnPacket: func(_ webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
			mu.Lock()
			defer mu.Unlock()
			maxSize = max(maxSize, p.MarshalSize())
			if len(types) < 64 && len(p.Payload) > 2 {
				typ := (p.Payload[0] >> 1) & 0x3F
				if typ == 49 { // FU: the fragmented unit's type
					if p.Payload[2]&0x80 == 0 {
						return
					}
					typ = p.Payload[2] & 0x3F
				}
				types = append(types, typ)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if c, _ := v.Codec(webrtc.RTPCodecTypeVideo); !strings.EqualFold(c.MimeType, "video/H265") {
		t.Fatalf("negotiated %q, want H265", c.MimeType)
	}
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 60); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if maxSize > 1200 {
		t.Errorf("largest H.265 packet %d bytes, want <= 1200", maxSize)
	}
	// The first packets the viewer gets start at an IRAP with its
	// parameter sets before it: AP (48) or VPS/SPS/PPS, then IDR (19).
	idr := -1
	for i, typ := range types {
		if typ == 19 {
			idr = i
			break
		}
	}
	if idr < 1 || !(types[0] == 48 || types[0] == 32) {
		t.Errorf("NAL types received %v: want parameter sets (AP or VPS) before the first IDR", types)
	}
	mu.Unlock()

	// A viewer without H.265 gets 422 naming the codec.
	_, err = client.Play(ctxTimeout(t, 10*time.Second), g.whepURL("hevc"), client.PlayOptions{
		Options: client.Options{NoAudio: true, VideoCodecs: client.Codecs(client.CodecH264, client.CodecVP8)},
	})
	if client.HTTPStatus(err) != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "H265") {
		t.Fatalf("viewer without H.265: got %v (status %d), want 422 naming H265", err, client.HTTPStatus(err))
	}
}

// TestCameraMode0 pulls a packetization-mode-0 camera whose NAL units are
// several kilobytes, and checks the viewer's stream is WebRTC-sized, starts
// with SPS/PPS, and decodes with ffmpeg without errors.
func TestCameraMode0(t *testing.T) {
	g := startGateway(t, nil)
	cam := newMode0Camera(t)
	if cam.largestNAL() < 3000 {
		t.Fatalf("sample's largest NAL unit is %d bytes; the test needs large ones", cam.largestNAL())
	}
	if err := g.Sources().Add(bridge.SourceConfig{Name: "m0", URL: cam.url(), Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "m0")
	rec := &recorder{}
	w := testutil.NewH264File(t)
	rec.onVideo = w.Write
	v, err := client.Play(ctxTimeout(t, 10*time.Second), g.whepURL("m0"), client.PlayOptions{
		Options: client.Options{NoAudio: true}, OnPacket: rec.onPacket,
	})
	if err != nil {
		t.Fatal(err)
	}
	// 400 packets take the camera some 340 frames (13.5 s at 25 fps); the
	// bound is in the camera's frames, not in seconds, since a busy
	// machine slows the camera's clock as much as the gateway.
	start := cam.frames.Load()
	waitFor(t, 90*time.Second, "400 video packets", func() bool {
		if sent := cam.frames.Load() - start; sent > 500 {
			t.Fatalf("the camera sent %d frames, the viewer got %d video packets: want 400", sent, rec.snapshot().video.packets)
		}
		return rec.snapshot().video.packets >= 400
	})
	_ = v.Close()
	r := rec.snapshot()
	checkWebRTCVideo(t, r)
	if c := r.videoCodec; !strings.EqualFold(c, "video/H264") {
		t.Fatalf("codec %q", c)
	}
	frames := w.Decode(t)
	if frames < 20 {
		t.Fatalf("ffmpeg decoded %d frames from the bridged stream, want >= 20", frames)
	}
}

func TestCameraRestartViewerResumes(t *testing.T) {
	g := startGateway(t, nil)
	cam := newCamera(t, camSpec{video: "h264", audio: "opus"})
	cam.Start()
	if err := g.Sources().Add(bridge.SourceConfig{Name: "cam", URL: cam.url("cam"), Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "cam")
	v, rec := play(t, g, "cam", client.PlayOptions{})
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 60); err != nil {
		t.Fatal(err)
	}
	before := rec.snapshot()

	cam.Stop()
	waitFor(t, 5*time.Second, "source retrying", func() bool {
		st, _ := g.Sources().Get("cam")
		return st.State == bridge.StateRetrying
	})
	// An outage of several backoff rounds.
	tries := g.Sources().Reconnects()
	waitFor(t, 5*time.Second, "three reconnect attempts", func() bool { return g.Sources().Reconnects() >= tries+3 })
	cam.Start()
	waitFor(t, 10*time.Second, "viewer receiving again", func() bool {
		return rec.snapshot().video.packets > before.video.packets+100
	})
	if v.ConnectionState() != webrtc.PeerConnectionStateConnected {
		t.Fatalf("viewer session is %s after the outage", v.ConnectionState())
	}
	after := rec.snapshot()
	// The registry continues sequence numbers and timestamps across the
	// reconnect; the viewer sees at most the skip to the next keyframe,
	// which the subscription closes up too.
	if after.seqJumps > 2 {
		t.Errorf("%d sequence number jumps in the viewer's video", after.seqJumps)
	}
	if after.tsBack > 0 {
		t.Errorf("video timestamps went backwards %d times", after.tsBack)
	}
	checkWebRTCVideo(t, after)
	// One log line per state change, not per attempt.
	if n := g.log.Count("camera unavailable"); n != 1 {
		t.Errorf("logged %d 'camera unavailable' lines for one outage, want 1", n)
	}
}

func TestCameraDownAtStart(t *testing.T) {
	cam := newCamera(t, camSpec{video: "h264"})
	g := startGateway(t, func(c *config.Config) {
		c.Sources = []string{"late=" + cam.url("late")}
	})
	waitFor(t, 5*time.Second, "source retrying", func() bool {
		st, _ := g.Sources().Get("late")
		return st.State == bridge.StateRetrying && st.LastError != ""
	})
	if _, err := client.Play(ctxTimeout(t, 5*time.Second), g.whepURL("late"), client.PlayOptions{}); client.HTTPStatus(err) == 0 {
		t.Fatalf("WHEP play of a camera that is down: %v, want an HTTP error", err)
	}
	cam.Start()
	waitLive(t, g, "late")
	v, rec := play(t, g, "late", client.PlayOptions{})
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 60); err != nil {
		t.Fatal(err)
	}
	checkWebRTCVideo(t, rec.snapshot())
}

func TestOnDemand(t *testing.T) {
	cam := newCamera(t, camSpec{video: "h264", audio: "pcma"})
	cam.Start()
	// Controls: a camera pulled at once, and a second on-demand one. What
	// the on-demand camera must not do is checked once its control did
	// what the gateway would have done to it too.
	always := newCamera(t, camSpec{video: "h264"})
	always.Start()
	other := newCamera(t, camSpec{video: "h264"})
	other.Start()
	g := startGateway(t, func(c *config.Config) {
		c.Sources = []string{"ctl=" + always.url("ctl")}
		c.SourcesOnDemand = []string{"od=" + cam.url("od"), "od2=" + other.url("od2")}
	})
	waitFor(t, 10*time.Second, "the always-on control camera playing", func() bool { return always.plays.Load() > 0 })
	if n := cam.plays.Load(); n != 0 {
		t.Fatalf("on-demand camera played %d times before any reader", n)
	}
	if st, _ := g.Sources().Get("od"); st.State != bridge.StateIdle {
		t.Fatalf("state %q, want idle", st.State)
	}

	// The first WHEP viewer starts the camera; a second one shares it.
	v1, rec := play(t, g, "od", client.PlayOptions{})
	if err := v1.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatal(err)
	}
	checkWebRTCVideo(t, rec.snapshot())
	v2, _ := play(t, g, "od", client.PlayOptions{})
	if err := v2.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatal(err)
	}
	if n := cam.openSessions(); n != 1 {
		t.Fatalf("camera has %d sessions for two viewers, want 1", n)
	}

	// It stays up while one viewer remains, and is released after the
	// last: checked once od2, whose only viewer left just after v1, has
	// been released (its close delay, which would have released od too,
	// is over).
	v3, _ := play(t, g, "od2", client.PlayOptions{})
	if err := v3.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 10); err != nil {
		t.Fatal(err)
	}
	_ = v1.Close()
	_ = v3.Close()
	waitFor(t, 5*time.Second, "the control camera released", func() bool { return other.openSessions() == 0 })
	if n := cam.openSessions(); n != 1 {
		t.Fatalf("camera released with a viewer still watching (%d sessions)", n)
	}
	_ = v2.Close()
	waitFor(t, 5*time.Second, "camera released", func() bool { return cam.openSessions() == 0 })
	waitFor(t, 5*time.Second, "source idle", func() bool {
		st, _ := g.Sources().Get("od")
		return st.State == bridge.StateIdle
	})

	// An RTSP reader demands it too.
	plays := cam.plays.Load()
	n := readRTSPPackets(t, g.rtspURL("od"), 20)
	if n < 20 {
		t.Fatalf("RTSP reader got %d packets", n)
	}
	if cam.plays.Load() != plays+1 {
		t.Fatalf("RTSP reader did not start the on-demand camera once")
	}
	waitFor(t, 10*time.Second, "camera released after the RTSP reader", func() bool { return cam.openSessions() == 0 })
}

// TestCameraUDPLostFallsBackToTCP: in automatic mode the camera accepts UDP
// but nothing arrives (a firewall); the source switches to TCP by itself.
func TestCameraUDPLostFallsBackToTCP(t *testing.T) {
	g := startGateway(t, nil)
	cam := newCamera(t, camSpec{video: "h264", udp: true, udpLost: true})
	cam.Start()
	if err := g.Sources().Add(bridge.SourceConfig{Name: "fw", URL: cam.url("fw")}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "fw")
	if n := g.log.Count("camera transport switched from UDP to TCP"); n != 1 {
		t.Fatalf("transport switch logged %d times, want 1", n)
	}
	v, rec := play(t, g, "fw", client.PlayOptions{})
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatal(err)
	}
	checkWebRTCVideo(t, rec.snapshot())
}
