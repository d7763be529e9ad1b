package app_test

import (
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestFailedStartReleasesEverything: a start that fails at its late steps
// (RTSP, pprof: after the engine, the HTTP listener, the camera set
// and the API are up) returns the error and leaves no socket open and no
// goroutine running (TestMain's goleak).
func TestFailedStartReleasesEverything(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()
	cases := []struct {
		name   string
		mutate func(*config.Config)
		want   string
	}{
		{"rtsp port taken", func(c *config.Config) { c.RTSPAddr = busy }, busy},
		{"pprof port taken", func(c *config.Config) { c.PprofAddr = busy }, busy},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A first start and stop, so that what stays open for the process's
	// life (the resolver, epoll) is counted in the baseline.
	a, err := app.New(testutil.LoopbackConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := openFDs(t)
			cfg := testutil.LoopbackConfig()
			tc.mutate(&cfg)
			a, err := app.New(cfg, log)
			if err == nil {
				a.Close()
				t.Fatal("started on a port already taken")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			// Closed sockets leave the table at once; the deadline only
			// covers a descriptor closed by a goroutine that is ending.
			deadline := time.Now().Add(5 * time.Second)
			for openFDs(t) > before && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if after := openFDs(t); after > before {
				t.Errorf("%d descriptors open after the failed start, %d before", after, before)
			}
		})
	}
}
