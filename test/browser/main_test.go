// Package browser drives the gateway's web pages in a real headless
// Chromium (Debian's chromium package, through chromedp): the publisher
// page sends the fake camera and microphone, the player page plays it, the
// dashboard counts the viewer. Every test runs inside a private network
// namespace that holds only the loopback interface, so the browser cannot
// reach anything but the in-process gateway.
package browser

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/testutil"
)

// isolatedEnv marks the test binary re-executed inside the namespace.
const isolatedEnv = "WISHGATE_BROWSER_NETNS"

func TestMain(m *testing.M) {
	if code, ran := testutil.RunIsolated(isolatedEnv); ran {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}

// requireIsolation skips (or, with WISHGATE_REQUIRE_TOOLS=1, fails) a test
// that is not inside the private namespace, then requires chromium.
func requireIsolation(t *testing.T) string {
	t.Helper()
	testutil.RequireIsolation(t, isolatedEnv)
	return testutil.RequireTool(t, "chromium")
}
