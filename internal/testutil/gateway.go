package testutil

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/config"
)

// StartGateway runs an in-process gateway on LoopbackConfig, changed by
// mutate (may be nil), whose warnings and errors go to the test's log. It
// is closed when the test ends.
func StartGateway(t testing.TB, mutate func(*config.Config)) *app.App {
	t.Helper()
	return StartGatewayLog(t, mutate, slog.New(slog.NewTextHandler(LogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// StartGatewayLog is StartGateway with the caller's logger (to capture and
// scan what the gateway logs, say).
func StartGatewayLog(t testing.TB, mutate func(*config.Config), log *slog.Logger) *app.App {
	t.Helper()
	cfg := LoopbackConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// LogWriter writes each log record to the test's log.
type LogWriter struct{ T testing.TB }

func (w LogWriter) Write(p []byte) (int, error) {
	w.T.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
