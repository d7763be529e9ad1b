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
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/testutil"
)

// isolatedEnv marks the test binary re-executed inside the namespace.
const isolatedEnv = "WISHGATE_BROWSER_NETNS"

func TestMain(m *testing.M) {
	if os.Getenv(isolatedEnv) == "" {
		if args, why := unshareArgs(); why == "" {
			os.Exit(reexecIsolated(args))
		}
	}
	goleak.VerifyTestMain(m)
}

// unshareArgs returns how to make the namespace here, or why it cannot be
// made. Root uses a plain network namespace; anyone else a user namespace
// too (root inside it only), where the kernel allows unprivileged ones.
func unshareArgs() (args []string, why string) {
	for _, tool := range []string{"unshare", "ip", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, tool + " is not installed"
		}
	}
	args = []string{"--net"}
	if os.Geteuid() != 0 {
		args = []string{"--user", "--map-root-user", "--net"}
	}
	probe := append(append([]string(nil), args...), "--", "ip", "link", "set", "lo", "up")
	if out, err := exec.Command("unshare", probe...).CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("unshare %s fails: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return args, ""
}

// reexecIsolated runs this test binary again, with the same arguments, in a
// new network namespace whose loopback is up, and returns its exit code.
func reexecIsolated(unshare []string) int {
	args := append(append(unshare, "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`), os.Args...)
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
		_, why := unshareArgs()
		if os.Getenv(testutil.RequireToolsEnv) == "1" {
			t.Fatalf("browser tests need a private network namespace but %s (%s=1)", why, testutil.RequireToolsEnv)
		}
		t.Skipf("browser tests run only inside a private network namespace (unshare); skipping: %s", why)
	}
	return testutil.RequireTool(t, "chromium")
}
