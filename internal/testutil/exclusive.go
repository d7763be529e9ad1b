package testutil

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// ExclusiveWait bounds how long Exclusive waits for the other such tests.
const ExclusiveWait = 5 * time.Minute

// exclusiveLock is the file every test binary locks (a test of Exclusive
// itself uses its own).
var exclusiveLock = filepath.Join(os.TempDir(), "wishgate-test-exclusive.lock")

// Exclusive makes the calling test the only exclusive one running on the
// machine until it ends. Tests whose assertions measure what a load they
// make themselves does to delivery or timing (≥ 99.9 % of the packets, no
// freeze, a latency bound) take it: `go test ./...` runs two packages side
// by side on a 2-core CI machine, and two such loads at once would measure
// each other rather than the gateway. What they prove stays as strict.
//
// It is an flock on one file in the temp directory, so it spans the test
// binaries of every package; a killed test process releases it.
func Exclusive(t testing.TB) {
	t.Helper()
	path := exclusiveLock
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("exclusive slot: %v", err)
	}
	start := time.Now()
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			t.Fatalf("exclusive slot %s: %v", path, err)
		}
		if time.Since(start) > ExclusiveWait {
			f.Close()
			t.Fatalf("exclusive slot %s still taken after %v", path, ExclusiveWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if w := time.Since(start); w > time.Second {
		t.Logf("waited %v for the other exclusive tests", w.Round(time.Millisecond))
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}
