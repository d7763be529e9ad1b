package testutil

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BuildGateway compiles cmd/gateway into the test's temporary directory
// and returns the binary's path.
func BuildGateway(t testing.TB) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "gateway")
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/wishgate/wishgate/cmd/gateway").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/gateway: %v\n%s", err, out)
	}
	return bin
}

// GatewayProcess is a gateway binary the test runs as a process of its
// own, so that it can die as a crashed one does (SIGKILL: no goodbye to
// any peer, nothing released).
type GatewayProcess struct {
	// URL is the base URL of its HTTP listener, read from its start-up line.
	URL string

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // how it exited, once exited is closed

	mu     sync.Mutex
	log    []string
	more   chan struct{} // closed (and replaced) at every new line
	cursor int           // WaitLog's next line to look at
}

var listening = regexp.MustCompile(`wishgate listening.* whip=(https?://[^ ]+?)/whip/`)

// StartGatewayProcess runs bin with args and waits (up to 30 s) for its
// start-up line; its log goes to the test's log. It is killed when the
// test ends if it still runs.
func StartGatewayProcess(t testing.TB, bin string, args ...string) *GatewayProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &GatewayProcess{cmd: cmd, exited: make(chan struct{}), more: make(chan struct{})}
	base := make(chan string, 1)
	go func() {
		defer close(g.exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			g.mu.Lock()
			g.log = append(g.log, line)
			close(g.more)
			g.more = make(chan struct{})
			g.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case base <- m[1]:
				default:
				}
			}
		}
		g.waitErr = cmd.Wait()
	}()
	t.Cleanup(func() {
		g.Kill()
		for _, l := range g.Log() {
			t.Log(l)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case g.URL = <-base:
		return g
	case <-g.exited:
		t.Fatalf("%s exited before listening:\n%s", bin, strings.Join(g.Log(), "\n"))
	case <-ctx.Done():
		t.Fatalf("%s did not log its start-up line within 30 s:\n%s", bin, strings.Join(g.Log(), "\n"))
	}
	return nil
}

// WaitLog waits up to timeout for the next line, after the one it last
// returned, that matches re, and returns its submatches; the test fails if
// the process exits or the time is up first.
func (g *GatewayProcess) WaitLog(t testing.TB, timeout time.Duration, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	exited := false
	for {
		g.mu.Lock()
		for ; g.cursor < len(g.log); g.cursor++ {
			if m := re.FindStringSubmatch(g.log[g.cursor]); m != nil {
				g.cursor++
				g.mu.Unlock()
				return m
			}
		}
		more := g.more
		g.mu.Unlock()
		if exited { // every line was read before exited closed
			t.Fatalf("the gateway exited before logging %s:\n%s", re, strings.Join(g.Log(), "\n"))
		}
		select {
		case <-more:
		case <-g.exited:
			exited = true
		case <-deadline.C:
			t.Fatalf("no %s in the gateway's log within %v:\n%s", re, timeout, strings.Join(g.Log(), "\n"))
		}
	}
}

// Terminate sends SIGTERM, waits up to timeout for the process to exit and
// returns how it exited (nil: status 0).
func (g *GatewayProcess) Terminate(timeout time.Duration) error {
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-g.exited:
		return g.waitErr
	case <-time.After(timeout):
		return fmt.Errorf("still running %v after SIGTERM", timeout)
	}
}

// Signal sends sig to the process.
func (g *GatewayProcess) Signal(sig os.Signal) error { return g.cmd.Process.Signal(sig) }

// Kill ends the process with SIGKILL and waits until it is gone.
// Idempotent.
func (g *GatewayProcess) Kill() {
	_ = g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.exited
}

// Log is what the process has logged so far, one line each.
func (g *GatewayProcess) Log() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.log...)
}

// CPU is the CPU time the process has used so far (utime + stime of
// /proc/PID/stat, in USER_HZ ticks of 10 ms).
func (g *GatewayProcess) CPU() (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields resume after ')'.
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", g.cmd.Process.Pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", g.cmd.Process.Pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
