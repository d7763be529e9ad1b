package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/testutil"
)

// On a fresh machine the gateway builds and runs with `go build` / `go
// run` alone; its start-up log says it has no audio transcoder, why, and
// how to get one (once), and so does the API note of a camera's AAC track. Two such machines: Go and a C compiler (cgo on by
// default) but neither pkg-config nor the FFmpeg/Opus packages; and Go
// alone (no C compiler on the PATH, so the go command turns cgo off).
func TestBuildsAndRunsOnAFreshMachine(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	base := []string{"GOFLAGS=", "PKG_CONFIG=/nonexistent/pkg-config", "PKG_CONFIG_PATH=/nonexistent", "PKG_CONFIG_LIBDIR=/nonexistent"}
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "PATH", "CGO_ENABLED", "CC", "GOFLAGS", "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR":
		default:
			base = append(base, kv)
		}
	}
	for _, m := range []struct {
		name, path, cgo, why string
	}{
		{"go-and-gcc", filepath.Dir(goBin) + ":" + os.Getenv("PATH"), "CGO_ENABLED=1", "built without the transcode build tag"},
		{"go-alone", filepath.Dir(goBin), "CGO_ENABLED=0", "built without cgo"},
	} {
		t.Run(m.name, func(t *testing.T) {
			if m.cgo == "CGO_ENABLED=1" {
				if _, err := exec.LookPath("gcc"); err != nil {
					t.Skip("no gcc: the machine with a C compiler cannot be simulated")
				}
			}
			bin := filepath.Join(t.TempDir(), "gateway")
			build := exec.Command(goBin, "build", "-o", bin, ".")
			build.Env = append([]string{"PATH=" + m.path}, base...)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			if out, err := exec.Command(goBin, "version", "-m", bin).Output(); err != nil || !strings.Contains(string(out), m.cgo) {
				t.Fatalf("the build does not have %s (%v):\n%s", m.cgo, err, out)
			}
			checkNoTranscoderLine(t, bin, m.why)
		})
	}
}

// checkNoTranscoderLine runs bin, pulling a test camera that sends AAC,
// and checks its start-up line about the missing transcoder and the API
// note of the camera's AAC track.
func checkNoTranscoderLine(t *testing.T, bin, why string) {
	t.Helper()
	cam := testutil.StartAVCamera(t, testutil.AVCameraConfig{AAC: "tone-1k-48k-stereo.aac"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	// RTSP over UDP off by the file (an empty address set in the
	// environment is no setting at all, and :8000 is every interface's).
	conf := filepath.Join(t.TempDir(), "wishgate.yaml")
	if err := os.WriteFile(conf, []byte("rtsp_udp_rtp_addr: \"\"\nrtsp_udp_rtcp_addr: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "WISHGATE_CONFIG="+conf, "WISHGATE_HTTP_ADDR=127.0.0.1:0", "WISHGATE_UDP_ADDR=127.0.0.1:0", "WISHGATE_TCP_ADDR=127.0.0.1:0",
		"WISHGATE_RTSP_ADDR=127.0.0.1:0", "WISHGATE_SOURCES=cam="+cam.URL+"#transport=tcp")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log []string
	listening := make(chan string, 1) // the WHIP base URL
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		re := regexp.MustCompile(`wishgate listening.* whip=(http://127\.0\.0\.1:[1-9][0-9]*)/whip/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			log = append(log, sc.Text())
			mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				listening <- m[1]
			}
		}
	}()
	logText := func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(log, "\n") }
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-drained
		if err := cmd.Wait(); err != nil {
			t.Errorf("gateway exited with %v", err)
		}
	}()
	var base string
	select {
	case base = <-listening:
	case <-ctx.Done():
		t.Fatalf("the gateway never listened:\n%s", logText())
	}
	var unavailable string
	for _, l := range strings.Split(logText(), "\n") {
		if strings.Contains(l, "audio transcoding unavailable") {
			unavailable = l
		}
	}
	if unavailable == "" {
		t.Fatalf("no start-up line about the missing transcoder:\n%s", logText())
	}
	for _, want := range []string{why, "libavcodec-dev", "make build", "-tags transcode"} {
		if !strings.Contains(unavailable, want) {
			t.Errorf("the start-up line does not say %q: %s", want, unavailable)
		}
	}
	// The camera's AAC track: kept for RTSP readers, and its note says why
	// WebRTC viewers do not get it.
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	var note string
	for note == "" {
		select {
		case <-ctx.Done():
			t.Fatalf("the camera's stream never listed its AAC track:\n%s", logText())
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := hc.Get(base + "/api/v1/streams/cam")
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Tracks []struct {
				Codec          string          `json:"codec"`
				WebRTCPlayable bool            `json:"webrtc_playable"`
				Note           string          `json:"note"`
				Transcode      json.RawMessage `json:"transcode"`
			} `json:"tracks"`
		}
		err = json.NewDecoder(resp.Body).Decode(&s)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			continue // not live yet
		}
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET /api/v1/streams/cam: %d, %v", resp.StatusCode, err)
		}
		for _, tr := range s.Tracks {
			if strings.EqualFold(tr.Codec, "MPEG4-GENERIC") {
				if tr.WebRTCPlayable || string(tr.Transcode) != "null" {
					t.Errorf("the AAC track is listed as playable or transcoded: %+v", tr)
				}
				note = tr.Note
			}
		}
	}
	for _, want := range []string{"not transcoded: this build has no audio transcoder", why, "make build"} {
		if !strings.Contains(note, want) {
			t.Errorf("the AAC track's API note does not say %q: %s", want, note)
		}
	}
	// Said once, at start-up: not again for the camera's track.
	if n := strings.Count(logText(), "audio transcoding unavailable"); n != 1 {
		t.Errorf("the missing transcoder is logged %d times, want once:\n%s", n, logText())
	}
	if strings.Contains(logText(), "audio transcoding failed") {
		t.Errorf("a transcoder start was tried in a build without one:\n%s", logText())
	}
}
