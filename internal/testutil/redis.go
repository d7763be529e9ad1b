package testutil

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Redis is a redis-server the test started on a free loopback port, with
// no persistence: a restart comes back empty, as a crashed Redis would.
type Redis struct {
	t    testing.TB
	path string
	dir  string
	Port int
	// tls, when set, serves TLS only on Port (rediss://): the certificate
	// and key files.
	tls *[2]string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error // receives cmd.Wait's result
}

// StartRedis starts redis-server (Debian package redis-server) and stops
// it when the test ends. Without it the test is skipped, or fails under
// WISHGATE_REQUIRE_TOOLS=1 (RequireTool).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	return startRedis(t, nil)
}

// StartRedisTLS is StartRedis serving TLS only, with this certificate
// and key (PEM files); clients are not asked for certificates.
func StartRedisTLS(t testing.TB, certFile, keyFile string) *Redis {
	t.Helper()
	return startRedis(t, &[2]string{certFile, keyFile})
}

func startRedis(t testing.TB, tlsFiles *[2]string) *Redis {
	t.Helper()
	r := &Redis{t: t, path: RequireTool(t, "redis-server"), dir: t.TempDir(), tls: tlsFiles}
	var err error
	for range 5 { // the free port may be taken between probe and bind
		if r.Port, err = freePort(); err != nil {
			continue
		}
		if err = r.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	t.Cleanup(r.Stop)
	return r
}

// URL is the redis:// (rediss:// with TLS) URL of the server.
func (r *Redis) URL() string {
	if r.tls != nil {
		return fmt.Sprintf("rediss://127.0.0.1:%d/0", r.Port)
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (r *Redis) start() error {
	args := []string{"--port", strconv.Itoa(r.Port)}
	if r.tls != nil {
		args = []string{"--port", "0", "--tls-port", strconv.Itoa(r.Port), "--tls-cert-file", r.tls[0],
			"--tls-key-file", r.tls[1], "--tls-auth-clients", "no"}
	}
	cmd := exec.Command(r.path, append(args, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--daemonize", "no", "--loglevel", "warning")...)
	cmd.Stdout, cmd.Stderr = LogWriter{r.t}, LogWriter{r.t}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if r.ping() == nil {
			r.mu.Lock()
			r.cmd, r.exited = cmd, exited
			r.mu.Unlock()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited at start: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("no PONG on port %d within 5s", r.Port)
}

// ping sends PING and expects +PONG.
func (r *Redis) ping() error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port))
	var c net.Conn
	var err error
	if r.tls != nil {
		// The probe only asks whether the server answers; the gateway
		// under test verifies the certificate.
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.DialTimeout("tcp", addr, time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Stop ends the server (its data is gone). Idempotent.
func (r *Redis) Stop() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited // the process and its output are done
}

// Restart starts the server again on the same port, empty.
func (r *Redis) Restart() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("redis-server restart: %v", err)
	}
}
