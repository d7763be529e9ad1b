package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSignalShutdown runs the real binary on ephemeral loopback ports: it
// logs the ports it picked, serves a publisher, and on SIGTERM closes every
// session (the peer sees its connection close) and exits 0.
func TestSignalShutdown(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gateway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	udp := testutil.FreeUDPPair(t)
	cmd.Env = append(os.Environ(), "WISHGATE_HTTP_ADDR=127.0.0.1:0", "WISHGATE_UDP_ADDR=127.0.0.1:0", "WISHGATE_TCP_ADDR=127.0.0.1:0",
		"WISHGATE_RTSP_ADDR=127.0.0.1:0", "WISHGATE_RTSP_UDP_RTP_ADDR=127.0.0.1:"+strconv.Itoa(udp),
		"WISHGATE_RTSP_UDP_RTCP_ADDR=127.0.0.1:"+strconv.Itoa(udp+1))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var log []string
	next := func(want *regexp.Regexp) []string {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("gateway exited before logging %s:\n%s", want, strings.Join(log, "\n"))
				}
				log = append(log, l)
				if m := want.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-ctx.Done():
				t.Fatalf("no %s in the log:\n%s", want, strings.Join(log, "\n"))
			}
		}
	}
	// Port 0 was replaced by real ports in the start-up line.
	m := next(regexp.MustCompile(`wishgate listening.* whip=(http://127\.0\.0\.1:[1-9][0-9]*)/whip/`))
	base := m[1]

	pub, err := client.Publish(ctx, base+"/whip/sig", client.PublishOptions{})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	defer pub.Close()
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	next(regexp.MustCompile(`publish started`))

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st, err := pub.WaitState(ctx, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed,
		webrtc.PeerConnectionStateDisconnected); err != nil {
		t.Fatalf("publisher still %s after SIGTERM", st)
	}
	ended := next(regexp.MustCompile(`publish ended.*reason="([^"]*)"`))
	if ended[1] != "server shutting down" {
		t.Errorf("session ended with reason %q", ended[1])
	}
	for range lines {
	}
	var exit *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &exit) || err != nil {
		t.Fatalf("gateway exited with %v", err)
	}
}
