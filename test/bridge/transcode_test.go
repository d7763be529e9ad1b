package bridge_test

import (
	"context"
	"math"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/internal/transcode"
)

// avViewer records what a WHEP viewer receives: every audio packet, the
// video timestamps, and each track's newest sender report.
type avViewer struct {
	*client.Viewer
	mu         sync.Mutex
	audioCodec string
	audio      []*rtp.Packet
	srs        map[webrtc.RTPCodecType]*rtcp.SenderReport
	srCount    map[webrtc.RTPCodecType]int
}

func playAV(t *testing.T, g *gateway, name string) *avViewer {
	t.Helper()
	v := &avViewer{srs: map[webrtc.RTPCodecType]*rtcp.SenderReport{}, srCount: map[webrtc.RTPCodecType]int{}}
	var err error
	v.Viewer, err = client.Play(ctxTimeout(t, 10*time.Second), g.whepURL(name), client.PlayOptions{
		OnPacket: func(kind webrtc.RTPCodecType, c webrtc.RTPCodecParameters, p *rtp.Packet) {
			if kind != webrtc.RTPCodecTypeAudio {
				return
			}
			v.mu.Lock()
			v.audioCodec = c.MimeType
			v.audio = append(v.audio, p)
			v.mu.Unlock()
		},
		OnSenderReport: func(kind webrtc.RTPCodecType, sr *rtcp.SenderReport) {
			v.mu.Lock()
			v.srs[kind] = sr
			v.srCount[kind]++
			v.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("WHEP play %s: %v", name, err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// decoded is the viewer's audio decoded as a browser would: channel 0 at
// 48 kHz, and the RTP timestamp of every sample (the packets in timestamp
// order, gaps filled with silence).
type decoded struct {
	pcm []int16
	ts  uint32 // timestamp of pcm[0]
}

func (v *avViewer) decode(t *testing.T, channels int) decoded {
	t.Helper()
	v.mu.Lock()
	pkts := append([]*rtp.Packet(nil), v.audio...)
	v.mu.Unlock()
	if len(pkts) == 0 {
		t.Fatal("no audio received")
	}
	sort.Slice(pkts, func(i, j int) bool { return int32(pkts[i].Timestamp-pkts[j].Timestamp) < 0 })
	dec, err := transcode.NewOpusDecoder(channels)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	out := decoded{ts: pkts[0].Timestamp}
	frame := make([]int16, 5760*channels)
	for _, p := range pkts {
		want := int(p.Timestamp - out.ts)
		if want < len(out.pcm) {
			continue // a duplicate
		}
		out.pcm = append(out.pcm, make([]int16, want-len(out.pcm))...)
		n, err := dec.Decode(p.Payload, frame)
		if err != nil {
			t.Fatalf("Opus packet at %d does not decode: %v", p.Timestamp, err)
		}
		for i := range n {
			out.pcm = append(out.pcm, frame[i*channels])
		}
	}
	return out
}

// toneFrequency is the frequency of the single tone in pcm (48 kHz),
// from its zero crossings.
func toneFrequency(pcm []int16) float64 {
	n := 0
	for i := 1; i < len(pcm); i++ {
		if (pcm[i-1] < 0) != (pcm[i] < 0) {
			n++
		}
	}
	return float64(n) / 2 / (float64(len(pcm)) / 48000)
}

// ffmpeg publishes over RTSP with its default AAC encoder (RTP
// mpeg4-generic); a WHEP viewer gets Opus that decodes to the same tone,
// while ffprobe reading the stream over RTSP still sees AAC.
func TestFFmpegAACPublisherPlaysAsOpus(t *testing.T) {
	testutil.RequireTranscoder(t)
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	testutil.RequireTool(t, "ffprobe")
	g := startGateway(t, nil)
	url := g.rtspURL("ffaac")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-v", "error", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "25", "-preset", "ultrafast", "-tune", "zerolatency",
		"-c:a", "aac", "-ac", "2", "-t", "60", "-f", "rtsp", "-rtsp_transport", "tcp", url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("ffmpeg: %s", stderr.String())
		}
	})
	waitLive(t, g, "ffaac")

	v := playAV(t, g, "ffaac")
	if err := v.WaitPackets(ctxTimeout(t, 15*time.Second), webrtc.RTPCodecTypeAudio, 150); err != nil {
		t.Fatal(err)
	}
	if err := v.WaitPackets(ctxTimeout(t, 5*time.Second), webrtc.RTPCodecTypeVideo, 50); err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	codec := v.audioCodec
	v.mu.Unlock()
	if !strings.EqualFold(codec, "audio/opus") {
		t.Fatalf("viewer audio %q, want Opus", codec)
	}
	d := v.decode(t, 2)
	if f := toneFrequency(d.pcm[9600 : len(d.pcm)-4800]); math.Abs(f-1000) > 10 {
		t.Fatalf("decoded Opus carries %.1f Hz, want the 1000 Hz tone", f)
	}
	info, _ := g.Registry.Info("ffaac")
	if len(info.Tracks) != 2 || info.Tracks[1].Conversion == nil || !info.Tracks[1].Conversion.Running {
		t.Fatalf("tracks %+v: want the AAC track transcoding", info.Tracks)
	}
	streams := ffprobeStreams(t, url)
	var names []string
	for _, s := range streams {
		names = append(names, s.CodecName)
	}
	if strings.Join(names, ",") != "h264,aac" {
		t.Fatalf("ffprobe over RTSP sees %v, want h264 and aac (RTSP readers get the original)", names)
	}
}

// Lip sync: the test camera's video and AAC are in sync by construction
// (each packet leaves at its media's capture instant). The viewer puts the
// decoded beeps (44.1 kHz mono AAC, resampled and transcoded to Opus) on
// the wall clock of the Opus track's sender reports, and the video's
// timestamps of the same instant on the video's: the two must agree within
// 40 ms (the original AAC's offset is 0).
func TestTranscodedAudioKeepsLipSync(t *testing.T) {
	testutil.RequireTranscoder(t)
	g := startGateway(t, nil)
	cam := testutil.StartAVCamera(t, testutil.AVCameraConfig{AAC: "beeps-44k-mono.aac"})
	if err := g.Sources().Add(bridge.SourceConfig{Name: "sync", URL: cam.URL, Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "sync")
	v := playAV(t, g, "sync")
	// Five seconds of beeps, and sender reports from the last seconds.
	waitFor(t, 20*time.Second, "5 s of audio and sender reports of both tracks", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(v.audio) >= 250 && v.srCount[webrtc.RTPCodecTypeAudio] >= 3 && v.srCount[webrtc.RTPCodecTypeVideo] >= 3
	})
	v.mu.Lock()
	asr, vsr := *v.srs[webrtc.RTPCodecTypeAudio], *v.srs[webrtc.RTPCodecTypeVideo]
	v.mu.Unlock()
	d := v.decode(t, 1)

	ntp := func(x uint64) float64 { return float64(x>>32) + float64(x&0xffffffff)/(1<<32) }
	// The instant (on the NTP clock) of an Opus timestamp, and the camera
	// content time (seconds after its epoch) the video says is shown then.
	audioAt := func(ts uint32) float64 { return ntp(asr.NTPTime) + float64(int32(ts-asr.RTPTime))/48000 }
	videoContent := func(at float64) float64 {
		vts := float64(vsr.RTPTime) + (at-ntp(vsr.NTPTime))*90000
		return (vts - testutil.CameraVideoBase) / 90000
	}
	// The beeps' content times: the file (one AU of encoder priming, then a
	// beep at each whole second) loops every len(AUs) access units.
	aus := testutil.ADTSUnits(t, "beeps-44k-mono.aac")
	loop := float64(aus*1024) / 44100
	var offsets []float64
	for from := 0; len(offsets) < 6; {
		on := beepOnset(d.pcm, from)
		if on < 0 {
			break
		}
		from = on + 48000/2 // past this beep (100 ms) and its echo
		// The decoded audio may start inside a beep (100 ms long), whose
		// first loud sample is no onset.
		if on < 48000/8 {
			continue
		}
		c := videoContent(audioAt(d.ts + uint32(on)))
		// The nearest true beep: loop k, second s.
		best := math.Inf(1)
		for k := math.Floor(c/loop) - 1; k <= math.Floor(c/loop)+1; k++ {
			for s := 0; s < 4; s++ {
				if o := c - (k*loop + (1024+float64(s)*44100)/44100); math.Abs(o) < math.Abs(best) {
					best = o
				}
			}
		}
		offsets = append(offsets, best)
	}
	if len(offsets) < 3 {
		t.Fatalf("found %d beeps in %.1f s of decoded audio", len(offsets), float64(len(d.pcm))/48000)
	}
	t.Logf("audio minus video, per beep: %.1f ms", msList(offsets))
	for _, o := range offsets {
		if math.Abs(o) > 0.040 {
			t.Fatalf("a beep is %.1f ms off the video of its instant (want within 40 ms): %.1f ms", o*1000, msList(offsets))
		}
	}
}

// beepOnset is the first sample from from on whose magnitude passes 5000
// after at least 10 ms of quiet: a beep's start, not a point inside one
// (the viewer may join during a beep; the 1 kHz tone itself passes 5000
// every millisecond).
func beepOnset(pcm []int16, from int) int {
	quiet := 0
	for i := from; i < len(pcm); i++ {
		if pcm[i] <= 5000 && pcm[i] >= -5000 {
			quiet++
			continue
		}
		if quiet >= 480 {
			return i
		}
		quiet = 0
	}
	return -1
}

func msList(s []float64) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = math.Round(v*10000) / 10
	}
	return out
}
