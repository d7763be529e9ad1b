package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RunIsolated re-executes the test binary, with the same arguments, in a
// new network namespace holding only a loopback interface that is up, so
// that nothing the tests start can reach another host. env marks the
// re-executed binary; setup are shell commands run in the namespace first
// (e.g. "ip link set lo multicast on"). It reports the child's exit code and
// true, or false when this binary already is the isolated one or no
// namespace can be made (then RequireIsolation skips or fails the tests
// that need one).
func RunIsolated(env string, setup ...string) (int, bool) {
	if os.Getenv(env) != "" {
		return 0, false
	}
	args, why := unshareArgs()
	if why != "" {
		return 0, false
	}
	script := strings.Join(append([]string{"ip link set lo up"}, setup...), " && ") + ` && exec "$0" "$@"`
	args = append(append(args, "--", "sh", "-c", script), os.Args...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), env+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), true
		}
		fmt.Fprintln(os.Stderr, "cannot re-exec the tests in a network namespace:", err)
		return 1, true
	}
	return 0, true
}

// RequireIsolation skips (or, with WISHGATE_REQUIRE_TOOLS=1, fails) a test
// that does not run inside the namespace RunIsolated makes.
func RequireIsolation(t testing.TB, env string) {
	t.Helper()
	if os.Getenv(env) != "" {
		return
	}
	_, why := unshareArgs()
	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("this test needs a private network namespace but %s (%s=1)", why, RequireToolsEnv)
	}
	t.Skipf("this test runs only inside a private network namespace (unshare); skipping: %s", why)
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
