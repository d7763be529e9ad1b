// Package adaptive tests how the gateway fits a viewer to its network: a
// pion viewer on its own loopback address, whose path tc shapes, inside a
// private network namespace that holds only the loopback interface.
package adaptive

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/testutil"
)

// isolatedEnv marks the test binary re-executed in its own namespace: tc
// there shapes this namespace's lo only.
const isolatedEnv = "WISHGATE_ADAPTIVE_NETNS"

func TestMain(m *testing.M) {
	if code, ran := testutil.RunIsolated(isolatedEnv); ran {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}
