package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// On a machine with Go alone (no C compiler on the PATH, so the go command
// turns cgo off by itself) the gateway still builds and runs, and its log
// says at start-up that it has no audio transcoder, why, and how to get one.
func TestBuildsAndRunsWithGoAlone(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "gateway")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	env := []string{"PATH=" + filepath.Dir(goBin)} // no gcc, no pkg-config
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "PATH" && k != "CGO_ENABLED" && k != "CC" {
			env = append(env, kv)
		}
	}
	build.Env = env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build with Go alone: %v\n%s", err, out)
	}
	if out, err := exec.Command(goBin, "version", "-m", bin).Output(); err != nil || !strings.Contains(string(out), "CGO_ENABLED=0") {
		t.Fatalf("the Go-only build is not cgo-free (%v):\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "WISHGATE_HTTP_ADDR=127.0.0.1:0", "WISHGATE_UDP_ADDR=127.0.0.1:0", "WISHGATE_TCP_ADDR=127.0.0.1:0",
		"WISHGATE_RTSP_ADDR=127.0.0.1:0", "WISHGATE_RTSP_UDP_RTP_ADDR=", "WISHGATE_RTSP_UDP_RTCP_ADDR=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log []string
	var unavailable string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		l := sc.Text()
		log = append(log, l)
		if strings.Contains(l, "audio transcoding unavailable") {
			unavailable = l
		}
		if strings.Contains(l, "wishgate listening") {
			break
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for sc.Scan() {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("gateway exited with %v", err)
	}
	if unavailable == "" {
		t.Fatalf("no start-up line about the missing transcoder:\n%s", strings.Join(log, "\n"))
	}
	for _, want := range []string{"built without cgo", "libavcodec-dev", "make build"} {
		if !strings.Contains(unavailable, want) {
			t.Errorf("the start-up line does not say %q: %s", want, unavailable)
		}
	}
}
