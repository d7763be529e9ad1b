package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// `make build`'s binary transcodes: built as the Makefile builds it (cgo,
// -tags transcode), it says so at start-up with the libraries it links,
// and a WHEP viewer of a camera sending AAC gets Opus audio with the
// video, the track listed as "AAC → Opus" and running.
func TestMakeBuildTranscodes(t *testing.T) {
	mk := testutil.RequireTool(t, "make")
	if err := exec.Command("pkg-config", "--exists", "libavcodec", "libavutil", "libswresample", "opus").Run(); err != nil {
		if os.Getenv(testutil.RequireToolsEnv) == "1" {
			t.Fatalf("the FFmpeg/Opus development packages are required (%s=1): pkg-config: %v", testutil.RequireToolsEnv, err)
		}
		t.Skipf("no FFmpeg/Opus development packages (pkg-config: %v): make build cannot build the full binary", err)
	}
	bin := filepath.Join(t.TempDir(), "wishgate")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, mk, "-C", testutil.RepoRoot(t), "build", "OUT="+bin,
		"GO="+filepath.Join(runtime.GOROOT(), "bin", "go"))
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err != nil ||
		!strings.Contains(string(out), "CGO_ENABLED=1") || !strings.Contains(string(out), "-tags=transcode") {
		t.Fatalf("make build's binary is not cgo with -tags transcode (%v):\n%s", err, out)
	}

	cam := testutil.StartAVCamera(t, testutil.AVCameraConfig{AAC: "tone-1k-48k-stereo.aac"})
	g := testutil.StartGatewayProcess(t, bin, "--http-addr", "127.0.0.1:0", "--udp-addr", "127.0.0.1:0",
		"--tcp-addr", "", "--rtsp-addr", "", "--source", "cam="+cam.URL+"#transport=tcp", "--log-level", "info")
	defer g.Kill()
	on := ""
	for _, l := range g.Log() {
		if strings.Contains(l, `msg="audio transcoding on`) {
			on = l
		}
	}
	if !strings.Contains(on, "libavcodec") || !strings.Contains(on, "libopus") {
		t.Fatalf("no start-up line naming the transcoder's libraries:\n%s", strings.Join(g.Log(), "\n"))
	}

	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	type track struct {
		Codec     string `json:"codec"`
		Transcode *struct {
			From    string `json:"from"`
			To      string `json:"to"`
			Running bool   `json:"running"`
		} `json:"transcode"`
	}
	aac := func() (track, bool) {
		resp, err := hc.Get(g.URL + "/api/v1/streams/cam")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s struct{ Tracks []track }
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&s) != nil {
			return track{}, false
		}
		for _, tr := range s.Tracks {
			if strings.EqualFold(tr.Codec, "MPEG4-GENERIC") {
				return tr, true
			}
		}
		return track{}, false
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: not within the deadline", what)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	waitFor("the camera's AAC track listed", func() bool { _, ok := aac(); return ok })

	pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
	defer pcancel()
	v, err := client.Play(pctx, g.URL+"/whep/cam", client.PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.WaitPackets(pctx, webrtc.RTPCodecTypeAudio, 50); err != nil {
		t.Fatalf("Opus audio: %v", err)
	}
	if err := v.WaitPackets(pctx, webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatalf("video: %v", err)
	}
	if c := v.Track(webrtc.RTPCodecTypeAudio).Codec().MimeType; !strings.EqualFold(c, webrtc.MimeTypeOpus) {
		t.Fatalf("the viewer's audio is %s, want Opus", c)
	}
	waitFor(`the AAC track listed as "AAC → Opus", running`, func() bool {
		tr, ok := aac()
		return ok && tr.Transcode != nil && tr.Transcode.From == "AAC" && tr.Transcode.To == "Opus" && tr.Transcode.Running
	})
}
