package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/wishgate/wishgate/internal/testutil"
)

// buildGateway builds this command into the test's temporary directory.
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gateway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// gatewayProc is the real binary running on ephemeral loopback ports, its
// log read line by line.
type gatewayProc struct {
	t     *testing.T
	ctx   context.Context
	cmd   *exec.Cmd
	lines chan string
	log   []string
}

// runGateway starts bin with args until ctx ends; stop ends it.
func runGateway(t *testing.T, ctx context.Context, bin string, args ...string) *gatewayProc {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	udp := testutil.FreeUDPPair(t)
	cmd.Env = append(os.Environ(), "WISHGATE_HTTP_ADDR=127.0.0.1:0", "WISHGATE_UDP_ADDR=127.0.0.1:0", "WISHGATE_TCP_ADDR=127.0.0.1:0",
		"WISHGATE_RTSP_ADDR=127.0.0.1:0", "WISHGATE_RTSP_UDP_RTP_ADDR=127.0.0.1:"+strconv.Itoa(udp),
		"WISHGATE_RTSP_UDP_RTCP_ADDR=127.0.0.1:"+strconv.Itoa(udp+1))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &gatewayProc{t: t, ctx: ctx, cmd: cmd, lines: make(chan string, 64)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	return p
}

// next reads the log up to the first line matching want and returns its
// submatches; the test fails if the gateway exits or ctx ends first.
func (p *gatewayProc) next(want *regexp.Regexp) []string {
	p.t.Helper()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("gateway exited before logging %s:\n%s", want, strings.Join(p.log, "\n"))
			}
			p.log = append(p.log, l)
			if m := want.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-p.ctx.Done():
			p.t.Fatalf("no %s in the log:\n%s", want, strings.Join(p.log, "\n"))
		}
	}
}

// baseURL waits for the start-up line and returns the HTTP base URL.
func (p *gatewayProc) baseURL() string {
	p.t.Helper()
	// Port 0 was replaced by real ports in the start-up line.
	return p.next(regexp.MustCompile(`wishgate listening.* whip=(http://127\.0\.0\.1:[1-9][0-9]*)/whip/`))[1]
}

// signal sends SIGTERM.
func (p *gatewayProc) signal() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
}

// wait reads the rest of the log and returns how the process exited.
func (p *gatewayProc) wait() error {
	for l := range p.lines {
		p.log = append(p.log, l)
	}
	return p.cmd.Wait()
}
