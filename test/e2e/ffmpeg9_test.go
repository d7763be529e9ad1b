package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

// FFmpeg 9's WHIP muxer (Debian sid, in a chroot: .ci/run builds it)
// publishes a test pattern in H.264 and a 440 Hz tone in Opus; a pion WHEP
// viewer records what it gets, and the host's ffmpeg decodes it: 640x360
// pictures without a decoder error, and the tone.
func TestFFmpeg9WHIPPublish(t *testing.T) {
	ffmpeg := testutil.RequireSidFFmpeg(t)
	a := testutil.StartGateway(t, nil)

	cases := []struct {
		name  string
		video []string // encoder arguments
		mime  string
	}{
		{"h264", []string{"-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-pix_fmt", "yuv420p", "-tune", "zerolatency"}, "video/H264"},
		// FFmpeg 9.0's muxer takes H.264 only; these run once a build takes them.
		{"vp8", []string{"-c:v", "libvpx", "-deadline", "realtime"}, "video/VP8"},
		{"vp9", []string{"-c:v", "libvpx-vp9", "-deadline", "realtime"}, "video/VP9"},
		{"av1", []string{"-c:v", "libaom-av1", "-usage", "realtime", "-cpu-used", "8"}, "video/AV1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "ff9-" + tc.name
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			args := append(append([]string(nil), ffmpeg[1:]...), "-hide_banner", "-loglevel", "warning", "-nostdin", "-re",
				"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
				"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "8")
			args = append(args, tc.video...)
			args = append(args, "-g", "25", "-b:v", "800k", "-c:a", "libopus", "-ar", "48000", "-ac", "2",
				"-f", "whip", a.URL()+"/whip/"+name)
			cmd := exec.CommandContext(ctx, ffmpeg[0], args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.WaitDelay = 5 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				cancel()
				<-exited
				if t.Failed() {
					t.Logf("ffmpeg:\n%s", out.String())
				}
			}()

			// Live: both tracks flowing.
			deadline := time.After(20 * time.Second)
			for live := false; !live; {
				select {
				case err := <-exited:
					exited <- err
					if strings.Contains(out.String(), "supports only codec") {
						t.Skipf("this FFmpeg's WHIP muxer does not take %s: %s", tc.name, firstLine(out.String(), "supports only codec"))
					}
					t.Fatalf("ffmpeg exited before the stream was live: %v", err)
				case <-deadline:
					t.Fatal("stream not live within 20 s")
				case <-time.After(50 * time.Millisecond):
				}
				info, ok := a.Registry.Info(name)
				live = ok && info.State == streams.StateLive && len(info.Tracks) == 2 &&
					info.Tracks[0].Packets > 0 && info.Tracks[1].Packets > 0
			}

			video := testutil.NewH264File(t)
			audio := testutil.NewOpusFile(t, 2)
			var mu sync.Mutex
			var codec string
			v, err := client.Play(ctx, a.URL()+"/whep/"+name, client.PlayOptions{
				OnPacket: func(kind webrtc.RTPCodecType, c webrtc.RTPCodecParameters, p *rtp.Packet) {
					if kind == webrtc.RTPCodecTypeVideo {
						mu.Lock()
						codec = c.MimeType
						mu.Unlock()
						video.Write(p)
					} else {
						audio.Write(p)
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 300); err != nil {
				t.Fatalf("video: %v", err)
			}
			if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeAudio, 150); err != nil {
				t.Fatalf("audio: %v", err)
			}
			_ = v.Close()
			mu.Lock()
			defer mu.Unlock()
			if !strings.EqualFold(codec, tc.mime) {
				t.Fatalf("viewer got %s, want %s", codec, tc.mime)
			}
			// At the end of its input FFmpeg sends DELETE: the publication ends.
			select {
			case err := <-exited:
				exited <- err
				if err != nil {
					t.Errorf("ffmpeg: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("ffmpeg did not finish its 8 s input")
			}
			if info, ok := a.Registry.Info(name); ok && info.State == streams.StateLive {
				t.Errorf("stream still live after FFmpeg's DELETE")
			}
			if tc.mime != "video/H264" {
				return // decoded by the H.264 path only, for now
			}
			if frames := video.Decode(t); frames < 50 {
				t.Errorf("ffmpeg decoded %d pictures of the viewer's H.264, want at least 50", frames)
			}
			if w, h := probeSize(t, video.Path()); w != 640 || h != 360 {
				t.Errorf("decoded picture %dx%d, want 640x360", w, h)
			}
			secs, rms := audio.Decode(t)
			if secs < 2 || rms < 0.03 {
				t.Errorf("decoded %.1f s of Opus at RMS %.3f; want the 440 Hz tone (≈ 0.09) for at least 2 s", secs, rms)
			}
			t.Logf("FFmpeg 9 → WHIP → WHEP: %.1f s of audio at RMS %.3f", secs, rms)
		})
	}
}

func firstLine(s, sub string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// probeSize returns the picture size ffprobe reads from an H.264 file.
func probeSize(t *testing.T, path string) (w, h int) {
	t.Helper()
	ffprobe := testutil.RequireTool(t, "ffprobe")
	out, err := exec.Command(ffprobe, "-v", "error", "-f", "h264", "-select_streams", "v:0",
		"-show_entries", "stream=width,height", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%d,%d", &w, &h); err != nil {
		t.Fatalf("ffprobe output %q: %v", out, err)
	}
	return w, h
}
