// Package bridge_test drives the RTSP bridge end to end: in-process
// gortsplib servers play cameras, pion WHEP viewers (internal/client) and
// WHIP publishers, gortsplib clients, ffmpeg and ffprobe read and publish
// through a real in-process gateway on 127.0.0.1.
package bridge_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type gateway struct {
	*app.App
	log *testutil.LogBuffer
}

// startGateway runs a gateway on loopback with ephemeral ports and fast
// camera reconnects.
func startGateway(t *testing.T, mutate func(*config.Config)) *gateway {
	t.Helper()
	lb := &testutil.LogBuffer{}
	a := testutil.StartGatewayLog(t, func(c *config.Config) {
		c.SourceBackoffBase = 50 * time.Millisecond
		c.SourceBackoffMax = 300 * time.Millisecond
		c.SourceCloseDelay = 300 * time.Millisecond
		if mutate != nil {
			mutate(c)
		}
	}, slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", lb.String())
		}
	})
	return &gateway{App: a, log: lb}
}

func (g *gateway) rtspURL(path string) string {
	return "rtsp://" + g.RTSPAddr().String() + "/" + path
}

func (g *gateway) whepURL(name string) string { return g.URL() + "/whep/" + name }
func (g *gateway) whipURL(name string) string { return g.URL() + "/whip/" + name }

// waitFor polls cond every 20ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var _ = io.Discard
