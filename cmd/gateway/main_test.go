package main

import (
	"context"
	"regexp"
	"slices"
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
// logs the ports it picked, serves a publisher, reloads its configuration
// on SIGHUP without disturbing the session, and on SIGTERM closes every
// session (the peer sees its connection close) and exits 0.
func TestSignalShutdown(t *testing.T) {
	bin := testutil.BuildGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gw := testutil.StartGatewayProcess(t, bin, loopbackArgs(t)...)
	// Port 0 was replaced by the real port in the start-up line.
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*$`).MatchString(gw.URL) {
		t.Fatalf("start-up line names %s", gw.URL)
	}

	pub, err := client.Publish(ctx, gw.URL+"/whip/sig", client.PublishOptions{})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	defer pub.Close()
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	gw.WaitLog(t, 10*time.Second, regexp.MustCompile(`publish started`))

	// SIGHUP is wired to a reload (nothing changed, so nothing else is
	// logged); unwired, the signal would end the process, and the
	// shutdown below would not be a clean one.
	if err := gw.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	gw.WaitLog(t, 10*time.Second, regexp.MustCompile(`SIGHUP: reloading the configuration`))
	if st := pub.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
		t.Fatalf("publisher %s after the reload", st)
	}

	if err := gw.Terminate(30 * time.Second); err != nil {
		t.Fatalf("gateway exited with %v", err)
	}
	// Closed by the gateway's DTLS close, not merely gone silent.
	if st, err := pub.WaitState(ctx, webrtc.PeerConnectionStateClosed); err != nil {
		t.Fatalf("publisher still %s after SIGTERM", st)
	}
	ended := gw.WaitLog(t, time.Second, regexp.MustCompile(`publish ended.*reason="([^"]*)"`))
	if ended[1] != "server shutting down" {
		t.Errorf("session ended with reason %q", ended[1])
	}
	if log := gw.Log(); slices.ContainsFunc(log, func(l string) bool { return strings.Contains(l, "config reload failed") }) {
		t.Errorf("the SIGHUP reload failed:\n%s", strings.Join(log, "\n"))
	}
}
