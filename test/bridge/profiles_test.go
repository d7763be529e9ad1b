package bridge_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// readmeRTSPPublish is the README's "publish a test pattern over RTSP"
// ffmpeg command, as arguments.
func readmeRTSPPublish(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if !strings.Contains(l, "-f rtsp rtsp://HOST:8554/NAME") || !strings.Contains(strings.Join(lines[max(0, i-3):i+1], " "), "testsrc") {
			continue
		}
		cmd := strings.TrimSpace(l)
		for j := i - 1; j >= 0 && strings.HasSuffix(strings.TrimSpace(lines[j]), `\`); j-- {
			cmd = strings.TrimSuffix(strings.TrimSpace(lines[j]), `\`) + " " + cmd
		}
		return strings.Fields(cmd)
	}
	t.Fatal("README has no testsrc publish over RTSP")
	return nil
}

// runFFmpeg runs the command args (args[0] is "ffmpeg") until the test ends,
// logging what ffmpeg said if the test failed.
func runFFmpeg(t *testing.T, args []string) {
	t.Helper()
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	ctx, cancel := context.WithCancel(context.Background())
	args = append([]string{"-hide_banner", "-v", "error"}, args[1:]...)
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("ffmpeg %s: %s", strings.Join(args, " "), stderr.String())
		}
	})
}

// videoTrack waits until name's video track has media and returns it.
func videoTrack(t *testing.T, g *gateway, name string) (track apiTrack) {
	t.Helper()
	waitFor(t, 20*time.Second, name+"'s video in the API", func() bool {
		_, s := getStream(t, g, name)
		for _, tr := range s.Tracks {
			if tr.Kind == "video" && tr.Packets > 0 {
				track = tr
				return true
			}
		}
		return false
	})
	return track
}

// TestREADMEPublishIsBrowserVideo: the README's ffmpeg test pattern is
// video browsers decode; the same command without -pix_fmt yuv420p makes
// H.264 High 4:4:4 Predictive, which the API and the log flag as not
// playable in browsers, saying what to change.
func TestREADMEPublishIsBrowserVideo(t *testing.T) {
	g := startGateway(t, nil)
	readme := readmeRTSPPublish(t)
	at := func(name string, args []string) []string { // at most 30 s, to this gateway
		out := append([]string{args[0], "-t", "30"}, args[1:]...)
		out[len(out)-1] = g.rtspURL(name)
		return out
	}
	runFFmpeg(t, at("readme", readme))
	if tr := videoTrack(t, g, "readme"); !tr.WebRTCPlayable || tr.Note != "" {
		t.Errorf("the README's command: %+v, want browser-playable video", tr)
	}
	if n := g.log.Count("browsers cannot play it"); n != 0 {
		t.Errorf("%d warnings about undecodable video for the README's command", n)
	}

	var rgb []string
	for i := 0; i < len(readme); i++ {
		if readme[i] == "-pix_fmt" {
			i++
			continue
		}
		rgb = append(rgb, readme[i])
	}
	if len(rgb) != len(readme)-2 {
		t.Fatalf("the README's command has no -pix_fmt: %v", readme)
	}
	runFFmpeg(t, at("rgb", rgb))
	tr := videoTrack(t, g, "rgb")
	if tr.WebRTCPlayable || !strings.Contains(tr.Note, "High 4:4:4 Predictive") || !strings.Contains(tr.Note, "yuv420p") {
		t.Errorf("4:4:4 video: %+v, want not playable, named, with the fix", tr)
	}
	waitFor(t, 5*time.Second, "the log's warning", func() bool { return g.log.Count("browsers cannot play it") == 1 })
}

// TestWHIPHigh10Flagged: a WHIP publisher announcing H.264 High 10 gets the
// same flag in the API and one warning in the log.
func TestWHIPHigh10Flagged(t *testing.T) {
	g := startGateway(t, nil)
	vc := client.CodecH264High.Params()
	vc.SDPFmtpLine = strings.Replace(vc.SDPFmtpLine, "profile-level-id=64001f", "profile-level-id=6e001f", 1)
	p, err := client.Publish(ctxTimeout(t, 10*time.Second), g.whipURL("ten"), client.PublishOptions{
		Options: client.Options{NoAudio: true, VideoCodecs: []webrtc.RTPCodecParameters{vc}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitFor(t, 10*time.Second, "the stream in the API", func() bool {
		st, s := getStream(t, g, "ten")
		return st == 200 && len(s.Tracks) == 1
	})
	_, s := getStream(t, g, "ten")
	if tr := s.Tracks[0]; tr.WebRTCPlayable || !strings.Contains(tr.Note, "High 10") {
		t.Errorf("High 10 over WHIP: %+v, want flagged", tr)
	}
	waitFor(t, 5*time.Second, "the log's warning", func() bool { return g.log.Count("browsers cannot play it") == 1 })
}
