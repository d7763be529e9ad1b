package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSignalShutdown runs the real binary on ephemeral loopback ports: it
// logs the ports it picked, serves a publisher, and on SIGTERM closes every
// session (the peer sees its connection close) and exits 0.
func TestSignalShutdown(t *testing.T) {
	bin := buildGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gw := runGateway(t, ctx, bin)
	base := gw.baseURL()

	pub, err := client.Publish(ctx, base+"/whip/sig", client.PublishOptions{})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	defer pub.Close()
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	gw.next(regexp.MustCompile(`publish started`))

	gw.signal()
	if st, err := pub.WaitState(ctx, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed,
		webrtc.PeerConnectionStateDisconnected); err != nil {
		t.Fatalf("publisher still %s after SIGTERM", st)
	}
	ended := gw.next(regexp.MustCompile(`publish ended.*reason="([^"]*)"`))
	if ended[1] != "server shutting down" {
		t.Errorf("session ended with reason %q", ended[1])
	}
	if err := gw.wait(); err != nil {
		t.Fatalf("gateway exited with %v", err)
	}
}
