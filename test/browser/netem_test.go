package browser

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/testutil"
)

// dropUDP makes lo drop every UDP packet (TCP, so HTTP, still passes) and
// returns the func that lifts it. tc acts on this test's private namespace
// only. The leaf queue of the UDP class holds zero packets, so they are
// dropped on arrival (no drop action module is needed in the kernel).
func dropUDP(t *testing.T) (restore func()) {
	t.Helper()
	testutil.RequireTool(t, "tc")
	tc := func(args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "tc", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("tc %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	for _, cmd := range [][]string{
		{"qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit"},
		{"qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "pfifo", "limit", "0"},
		{"filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", "protocol", "17", "0xff", "flowid", "1:20"},
	} {
		if err := tc(cmd...); err != nil {
			_ = tc("qdisc", "del", "dev", "lo", "root")
			t.Fatal(err)
		}
	}
	var once sync.Once
	restore = func() {
		once.Do(func() {
			if err := tc("qdisc", "del", "dev", "lo", "root"); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(restore)
	return restore
}
