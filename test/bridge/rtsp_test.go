package bridge_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

// publishWHIP publishes the H.264 sample (looped, 25 fps) and silent Opus
// over WHIP until the test ends.
func publishWHIP(t *testing.T, g *gateway, name, token string) {
	t.Helper()
	aus := loadAUs(t, "testsrc-baseline.h264")
	p, err := client.Publish(ctxTimeout(t, 10*time.Second), g.whipURL(name), client.PublishOptions{
		Options: client.Options{Token: token},
	})
	if err != nil {
		t.Fatalf("WHIP publish: %v", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pay := &codecs.H264Payloader{}
		vseq, aseq := uint16(0), uint16(0)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			aseq++
			_ = p.WriteRTP(webrtc.RTPCodecTypeAudio, &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: uint32(n) * 960},
				Payload: []byte{0xF8, 0xFF, 0xFE},
			})
			if n%2 != 0 {
				continue
			}
			frame := n / 2
			var payloads [][]byte
			for _, nal := range aus[frame%len(aus)] {
				payloads = append(payloads, pay.Payload(1188, nal)...)
			}
			for i, pl := range payloads {
				vseq++
				_ = p.WriteRTP(webrtc.RTPCodecTypeVideo, &rtp.Packet{
					Header: rtp.Header{Version: 2, SequenceNumber: vseq, Timestamp: uint32(frame) * 3600,
						Marker: i == len(payloads)-1},
					Payload: pl,
				})
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		_ = p.Close()
	})
	waitLive(t, g, name)
}

// ffmpegFrames decodes the video of an RTSP URL with ffmpeg and returns the
// number of frames and ffmpeg's messages.
func ffmpegFrames(t *testing.T, url, transport string, frames int) (int, string) {
	t.Helper()
	out, stderr, err := runTool(t, "ffmpeg", 30*time.Second, "-hide_banner", "-v", "error",
		"-rtsp_transport", transport, "-i", url, "-map", "0:v", "-frames:v", strconv.Itoa(frames), "-f", "framecrc", "-")
	if err != nil {
		t.Fatalf("ffmpeg -i %s (%s): %v\n%s", url, transport, err, stderr)
	}
	return testutil.CountFrames(out), stderr
}

type probeStream struct {
	CodecType string `json:"codec_type"`
	CodecName string `json:"codec_name"`
	Width     int    `json:"width"`
}

func ffprobeStreams(t *testing.T, url string) []probeStream {
	t.Helper()
	out, stderr, err := runTool(t, "ffprobe", 20*time.Second, "-v", "error", "-rtsp_transport", "tcp",
		"-show_streams", "-of", "json", url)
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", url, err, stderr)
	}
	var res struct{ Streams []probeStream }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return res.Streams
}

// TestWHIPReadOverRTSP: a WHIP-published stream is described with its real
// codecs (SPS/PPS in sprop-parameter-sets) and decoded by ffmpeg over TCP
// and UDP; the read token applies as Basic password or ?token=.
func TestWHIPReadOverRTSP(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	rtpPort := testutil.FreeUDPPair(t)
	g := startGateway(t, func(c *config.Config) {
		c.PublishTokens = []string{"pubtok"}
		c.ReadTokens = []string{"readtok"}
		c.RTSPUDPRTPAddr = "127.0.0.1:" + strconv.Itoa(rtpPort)
		c.RTSPUDPRTCPAddr = "127.0.0.1:" + strconv.Itoa(rtpPort+1)
	})
	publishWHIP(t, g, "whip1", "pubtok")
	host := g.RTSPAddr().String()

	// No token: 401 with a Basic challenge; a wrong one: 401.
	for _, u := range []string{"rtsp://" + host + "/whip1", "rtsp://x:wrong@" + host + "/whip1"} {
		if _, err := readRTSP(t, u, nil); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("read %s: %v, want 401", u, err)
		}
	}

	// The SDP carries the H.264 parameter sets learned in-band, and Opus.
	r, err := readRTSP(t, "rtsp://reader:readtok@"+host+"/whip1", nil)
	if err != nil {
		t.Fatal(err)
	}
	var h264 *format.H264
	var opus *format.Opus
	for _, m := range r.desc.Medias {
		for _, f := range m.Formats {
			switch f := f.(type) {
			case *format.H264:
				h264 = f
			case *format.Opus:
				opus = f
			}
		}
	}
	if h264 == nil || len(h264.SPS) == 0 || len(h264.PPS) == 0 || h264.PacketizationMode != 1 {
		t.Fatalf("RTSP description lacks H.264 with sprop-parameter-sets: %+v", h264)
	}
	if opus == nil {
		t.Fatalf("RTSP description lacks Opus")
	}
	waitFor(t, 5*time.Second, "gortsplib reader receiving", func() bool { return r.count() > 50 })
	r.c.Close()

	n, msgs := ffmpegFrames(t, "rtsp://reader:readtok@"+host+"/whip1", "tcp", 50)
	if n != 50 {
		t.Fatalf("ffmpeg over TCP decoded %d frames, want 50 (%s)", n, msgs)
	}
	if strings.TrimSpace(msgs) != "" {
		t.Errorf("ffmpeg over TCP reported: %s", msgs)
	}
	n, msgs = ffmpegFrames(t, "rtsp://"+host+"/whip1?token=readtok", "udp", 50)
	if n != 50 {
		t.Fatalf("ffmpeg over UDP decoded %d frames, want 50 (%s)", n, msgs)
	}

	streams := ffprobeStreams(t, "rtsp://"+host+"/whip1?token=readtok")
	var names []string
	for _, s := range streams {
		names = append(names, s.CodecName)
	}
	if len(streams) != 2 || streams[0].CodecName != "h264" || streams[0].Width != 320 || streams[1].CodecName != "opus" {
		t.Fatalf("ffprobe sees %v (%+v), want h264 320 px wide and opus", names, streams)
	}
}

// startFFmpegPublish publishes a live test pattern to url until the test ends.
func startFFmpegPublish(t *testing.T, url string, extra ...string) {
	t.Helper()
	args := []string{"ffmpeg", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "25", "-preset", "ultrafast"}
	args = append(args, extra...)
	args = append(args, "-c:a", "libopus", "-t", "60", "-f", "rtsp", "-rtsp_transport", "tcp", url)
	runFFmpeg(t, args)
}

// TestFFmpegPublishRTSP: ffmpeg publishes over RTSP (ANNOUNCE/RECORD) with
// the publish token; a WHEP viewer plays it; a second publisher is refused
// while the first is healthy, as for WHIP.
func TestFFmpegPublishRTSP(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	g := startGateway(t, func(c *config.Config) { c.PublishTokens = []string{"pubtok"} })
	host := g.RTSPAddr().String()
	startFFmpegPublish(t, "rtsp://enc:pubtok@"+host+"/ff", "-profile:v", "baseline", "-tune", "zerolatency")
	waitLive(t, g, "ff")

	v, rec := play(t, g, "ff", client.PlayOptions{})
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 100); err != nil {
		t.Fatal(err)
	}
	if err := v.WaitPackets(ctxTimeout(t, 5*time.Second), webrtc.RTPCodecTypeAudio, 20); err != nil {
		t.Fatal(err)
	}
	s := rec.snapshot()
	checkWebRTCVideo(t, s)
	if !strings.EqualFold(s.audioCodec, "audio/opus") {
		t.Errorf("audio %q, want opus", s.audioCodec)
	}
	if info, _ := g.Registry.Info("ff"); info.Publisher == nil || info.Publisher.Kind != streams.SessionRTSPPublish {
		t.Errorf("publisher %+v, want protocol rtsp", info.Publisher)
	}

	// Without the token: 401. A second publisher: refused (stale policy).
	desc := &description.Session{Medias: []*description.Media{{
		Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}},
	}}}
	for _, tc := range []struct{ url, want string }{
		{"rtsp://" + host + "/ff2", "401"},
		{"rtsp://enc:pubtok@" + host + "/ff", "455"},
	} {
		c := &gortsplib.Client{}
		err := c.StartRecording(tc.url, desc)
		if err == nil {
			c.Close()
			t.Fatalf("publish to %s accepted, want %s", tc.url, tc.want)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("publish to %s: %v, want %s", tc.url, err, tc.want)
		}
	}
	// The first publisher is undisturbed.
	before := rec.snapshot().video.packets
	waitFor(t, 5*time.Second, "video still flowing", func() bool { return rec.snapshot().video.packets > before+50 })
}

// TestBFramesReported: an H.264 source with B-frames is bridged, and the
// log says so once, clearly.
func TestBFramesReported(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	g := startGateway(t, nil)
	startFFmpegPublish(t, "rtsp://"+g.RTSPAddr().String()+"/bf", "-profile:v", "high", "-bf", "2")
	waitLive(t, g, "bf")
	v, _ := play(t, g, "bf", client.PlayOptions{Options: client.Options{NoAudio: true}})
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 100); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "B-frame warning", func() bool { return g.log.Count("has B-frames") > 0 })
	if n := g.log.Count("has B-frames"); n != 1 {
		t.Errorf("B-frame warning logged %d times, want once", n)
	}
}

// TestCameraReadOverRTSP: ffmpeg reads a camera-sourced stream; the AAC
// track WebRTC cannot play is still there for RTSP readers.
func TestCameraReadOverRTSP(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	g := startGateway(t, nil)
	cam := newCamera(t, camSpec{video: "h264", audio: "aac"})
	cam.Start()
	if err := g.Sources().Add(bridge.SourceConfig{Name: "cam/aac", URL: cam.url("x")}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "cam/aac")
	url := g.rtspURL("cam/aac")
	// A first reader is well into the camera's 2-second GOP when ffmpeg
	// joins: ffmpeg must still start at a keyframe and decode cleanly.
	first, err := readRTSP(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "first RTSP reader mid-GOP", func() bool { return first.count() > 40 })
	n, msgs := ffmpegFrames(t, url, "tcp", 40)
	if n != 40 {
		t.Fatalf("ffmpeg decoded %d frames of the camera stream, want 40 (%s)", n, msgs)
	}
	if strings.TrimSpace(msgs) != "" {
		t.Errorf("ffmpeg reported: %s", msgs)
	}
	streams := ffprobeStreams(t, url)
	if len(streams) != 2 || streams[0].CodecName != "h264" || streams[1].CodecName != "aac" {
		t.Fatalf("ffprobe sees %+v, want h264 and aac", streams)
	}
	if got := cam.openSessions(); got != 1 {
		t.Errorf("camera has %d sessions with RTSP readers attached, want 1", got)
	}
	if c := first.count(); c < 100 {
		t.Errorf("first RTSP reader got only %d packets meanwhile", c)
	}
}
