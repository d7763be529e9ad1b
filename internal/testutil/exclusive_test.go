package testutil

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// While one test holds the exclusive slot nobody else (another test
// binary opens the file anew, as this probe does) can take it; it is free
// again once that test ends. It locks a file of its own: the real one may
// be taken by another package's test at any moment.
func TestExclusiveExcludesUntilTheTestEnds(t *testing.T) {
	was := exclusiveLock
	exclusiveLock = filepath.Join(t.TempDir(), "exclusive.lock")
	t.Cleanup(func() { exclusiveLock = was })
	probe, err := os.OpenFile(exclusiveLock, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	t.Run("holder", func(t *testing.T) {
		Exclusive(t)
		if err := syscall.Flock(int(probe.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			t.Fatal("the slot was taken a second time while held")
		}
	})
	if err := syscall.Flock(int(probe.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("the slot was not released when its test ended: %v", err)
	}
	_ = syscall.Flock(int(probe.Fd()), syscall.LOCK_UN)
}
