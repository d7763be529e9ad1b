// Package browser drives the gateway's web pages in a real headless
// Chromium (Debian's chromium package, through chromedp): the publisher
// page sends the fake camera and microphone, the player page plays it, the
// dashboard counts the viewer. Every test runs inside a private network
// namespace that holds only the loopback interface, so the browser cannot
// reach anything but the in-process gateway.
package browser

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/testutil"
)

// isolatedEnv marks the test binary re-executed inside the namespace.
const isolatedEnv = "WISHGATE_BROWSER_NETNS"

func TestMain(m *testing.M) {
	if os.Getenv(isolatedEnv) == "" && isolationUnavailable() == "" {
		os.Exit(reexecIsolated())
	}
	goleak.VerifyTestMain(m)
}

// isolationUnavailable says why the namespace cannot be made here, or "".
func isolationUnavailable() string {
	if os.Geteuid() != 0 {
		return "not running as root (unshare --net needs CAP_SYS_ADMIN)"
	}
	for _, tool := range []string{"unshare", "ip", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed"
		}
	}
	if out, err := exec.Command("unshare", "--net", "--", "true").CombinedOutput(); err != nil {
		return fmt.Sprintf("unshare --net fails: %v: %s", err, out)
	}
	return ""
}

// reexecIsolated runs this test binary again, with the same arguments, in a
// new network namespace whose loopback is up, and returns its exit code.
func reexecIsolated() int {
	args := append([]string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`}, os.Args...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), isolatedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "browser tests: cannot re-exec in a network namespace:", err)
		return 1
	}
	return 0
}

// requireIsolation skips (or, with WISHGATE_REQUIRE_TOOLS=1, fails) a test
// that is not inside the private namespace, then requires chromium.
func requireIsolation(t *testing.T) string {
	t.Helper()
	if os.Getenv(isolatedEnv) == "" {
		why := isolationUnavailable()
		if os.Getenv(testutil.RequireToolsEnv) == "1" {
			t.Fatalf("browser tests need a private network namespace but %s (%s=1)", why, testutil.RequireToolsEnv)
		}
		t.Skipf("browser tests run only inside a private network namespace (root + unshare); skipping: %s", why)
	}
	return testutil.RequireTool(t, "chromium")
}
