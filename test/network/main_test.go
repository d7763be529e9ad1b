// Package network tests the operator-facing parts of wishgate end to end
// on loopback: ICE-TCP, advertised addresses, Link headers, the auth
// back-ends at the HTTP edge, hot reload and GET /api/v1/diagnostics.
package network

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a gateway on loopback (ICE-TCP on) logging at debug level
// into the returned buffer.
func start(t *testing.T, mutate func(*config.Config)) (*app.App, *testutil.LogBuffer) {
	t.Helper()
	logs := &testutil.LogBuffer{}
	a := testutil.StartGatewayLog(t, mutate, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	})
	return a, logs
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
