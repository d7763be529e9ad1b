// Package network tests the operator-facing parts of wishgate end to end
// on loopback: ICE-TCP, advertised addresses, Link headers, the auth
// back-ends at the HTTP edge, hot reload and GET /api/v1/diagnostics.
package network

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuf collects the gateway's log so tests can scan it for secrets.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// start runs a gateway on loopback (ICE-TCP on) logging at debug level
// into the returned buffer.
func start(t *testing.T, mutate func(*config.Config)) (*app.App, *logBuf) {
	t.Helper()
	cfg := testutil.LoopbackConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &logBuf{}
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.Close()
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
