// Package docker checks the Dockerfile without a Docker engine: the binary
// its build stage makes, started the way its final stage starts it, must
// serve /healthz and pass its own HEALTHCHECK.
package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// instruction is one Dockerfile line, continuations joined.
type instruction struct {
	cmd  string // upper case: FROM, ENV, RUN, ...
	args string
}

// stage is the instructions from one FROM to the next.
type stage struct {
	from string
	ins  []instruction
}

func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, stage{from: in.args})
			return
		}
		if len(stages) == 0 {
			t.Fatalf("%s before the first FROM", in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	return stages
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// envOf reads ENV key=value pairs (the legacy "ENV key value" form is not
// used here and fails the test).
func envOf(t *testing.T, s stage) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, args := range s.all("ENV") {
		for _, kv := range shellWords(t, args) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("ENV %q: use key=value", args)
			}
			env[k] = v
		}
	}
	return env
}

// execForm parses a JSON-array (exec form) CMD/ENTRYPOINT; the shell form
// would need /bin/sh, which the runtime image does not have.
func execForm(t *testing.T, what, args string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil {
		t.Fatalf("%s %s: not the exec (JSON array) form: %v", what, args, err)
	}
	return out
}

// shellWords splits like a POSIX shell for the simple quoting a Dockerfile
// uses: double quotes group, backslash escapes.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			inWord = true
		case c == '"':
			quoted = !quoted
			inWord = true
		case (c == ' ' || c == '\t') && !quoted:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// listeningPort finds the HTTP port in the gateway's start-up line.
var listeningPort = regexp.MustCompile(`wishgate listening.* whip=http://127\.0\.0\.1:(\d+)/whip/`)

// freePort names a loopback port with nothing listening on it (for the
// HEALTHCHECK that must fail).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return port
}

// lockedBuffer collects a child's output for the test to read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestDockerfile(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	// --- the build stage: Go 1.26, cgo (the audio transcoder), reproducible paths.
	if !strings.HasPrefix(build.from, "golang:1.26") {
		t.Errorf("build stage FROM %q, want golang:1.26", build.from)
	}
	buildEnv := envOf(t, build)
	if buildEnv["CGO_ENABLED"] != "1" {
		t.Errorf("build stage CGO_ENABLED=%q, want 1 (the audio transcoder is cgo)", buildEnv["CGO_ENABLED"])
	}
	var goBuild []string
	var goRuns [][]string // the stage's go commands, in order
	for _, run := range build.all("RUN") {
		w := shellWords(t, run)
		if len(w) > 1 && w[0] == "go" {
			goRuns = append(goRuns, w)
		}
		if len(w) > 2 && w[0] == "go" && w[1] == "build" {
			goBuild = w
		}
	}
	if goBuild == nil {
		t.Fatal("no RUN go build in the build stage")
	}
	if i := slices.Index(goBuild, "-tags"); i < 0 || i+1 == len(goBuild) || !slices.Contains(strings.Split(goBuild[i+1], ","), "transcode") {
		t.Errorf("go build without -tags transcode (the audio transcoder): %q", goBuild)
	}
	if !slices.Contains(goBuild, "-trimpath") {
		t.Errorf("go build without -trimpath: %q", goBuild)
	}
	outIdx := slices.Index(goBuild, "-o")
	if outIdx < 0 || outIdx+1 >= len(goBuild) {
		t.Fatalf("go build without -o: %q", goBuild)
	}
	imageBinary := goBuild[outIdx+1]

	// --- the final stage: a slim Debian of the build stage's release (the
	// binary links its shared libraries), non-root, the right ports.
	checkRelease(t, build.from, final.from)
	if users := final.all("USER"); len(users) == 0 || strings.HasPrefix(users[len(users)-1], "root") || strings.HasPrefix(users[len(users)-1], "0") {
		t.Errorf("runtime USER %q, want a non-root user", users)
	}
	var exposed []string
	for _, e := range final.all("EXPOSE") {
		exposed = append(exposed, strings.Fields(e)...)
	}
	for _, want := range []string{"8080/tcp", "8189/udp", "8189/tcp", "8554/tcp"} {
		if !slices.Contains(exposed, want) {
			t.Errorf("EXPOSE lacks %s (have %v)", want, exposed)
		}
	}
	var copied string // where the built binary lands in the image
	for _, c := range final.all("COPY") {
		if w := strings.Fields(c); len(w) == 3 && strings.HasPrefix(w[0], "--from=") && w[1] == imageBinary {
			copied = w[2]
		}
	}
	if copied == "" {
		t.Fatalf("the final stage does not COPY %s from the build stage", imageBinary)
	}
	entry := execForm(t, "ENTRYPOINT", last(t, final, "ENTRYPOINT"))
	cmd := execForm(t, "CMD", last(t, final, "CMD"))
	argv := append(append([]string(nil), entry...), cmd...)
	if len(argv) == 0 || argv[0] != copied {
		t.Fatalf("ENTRYPOINT+CMD %q does not run the copied binary %s", argv, copied)
	}
	hc := last(t, final, "HEALTHCHECK")
	_, hcCmd, ok := strings.Cut(hc, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %q has no CMD", hc)
	}
	hcArgv := execForm(t, "HEALTHCHECK CMD", strings.TrimSpace(hcCmd))
	if hcArgv[0] != copied {
		t.Fatalf("HEALTHCHECK runs %q, not the gateway binary (the image has no curl or shell)", hcArgv[0])
	}
	env := envOf(t, final)
	// The image's listen addresses are the ports it EXPOSEs.
	for key, want := range map[string]string{
		"WISHGATE_HTTP_ADDR": "8080/tcp", "WISHGATE_UDP_ADDR": "8189/udp",
		"WISHGATE_TCP_ADDR": "8189/tcp", "WISHGATE_RTSP_ADDR": "8554/tcp",
	} {
		if got := portOf(t, env[key]) + "/" + strings.Split(want, "/")[1]; got != want {
			t.Errorf("ENV %s=%q does not listen on the EXPOSEd %s", key, env[key], want)
		}
	}

	// --- build the binary as the build stage does: its -dev packages
	// provide what cgo asks for, and its go commands, run in order in the
	// context docker build would send (.dockerignore applied), succeed.
	checkBuildPackages(t, root, build)
	srcDir := buildContext(t, root)
	bin := filepath.Join(t.TempDir(), "wishgate")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, run := range goRuns {
		args := append([]string(nil), run[1:]...)
		if run[1] == "build" {
			args[outIdx] = bin
		}
		gb := exec.CommandContext(ctx, "go", args...)
		gb.Dir = srcDir
		gb.Env = append(os.Environ(), "CGO_ENABLED="+buildEnv["CGO_ENABLED"], "GOFLAGS=")
		if out, err := gb.CombinedOutput(); err != nil {
			t.Fatalf("RUN go %s (in the build context): %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := exec.CommandContext(ctx, "go", "version", "-m", bin).Output(); err != nil || !strings.Contains(string(out), "CGO_ENABLED=1") || !strings.Contains(string(out), "-trimpath=true") ||
		!strings.Contains(string(out), "-tags=transcode") {
		t.Errorf("built binary is not cgo/trimmed/tagged transcode (err %v):\n%s", err, out)
	}
	// Every shared library it needs comes from a package the image installs.
	checkRuntimeLibraries(t, bin, final)

	// Every ENV the image sets is a setting the gateway knows.
	help, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	for key := range env {
		if strings.HasPrefix(key, "WISHGATE_") && !strings.Contains(string(help), "["+key+"]") {
			t.Errorf("ENV %s is not a gateway setting (--help does not list it)", key)
		}
	}

	// --- run it as the container would: the image's ENV only, listen
	// addresses moved to loopback (the test must not take the real ports).
	runEnv := map[string]string{}
	for k, v := range env {
		runEnv[k] = v
	}
	runEnv["WISHGATE_HTTP_ADDR"] = "127.0.0.1:0"
	runEnv["WISHGATE_UDP_ADDR"] = "127.0.0.1:0"
	runEnv["WISHGATE_TCP_ADDR"] = "127.0.0.1:0"
	runEnv["WISHGATE_RTSP_ADDR"] = "127.0.0.1:0"
	udp := testutil.FreeUDPPair(t) // RTSP over UDP: an even pair, not :8000 of every interface
	runEnv["WISHGATE_RTSP_UDP_RTP_ADDR"] = "127.0.0.1:" + strconv.Itoa(udp)
	runEnv["WISHGATE_RTSP_UDP_RTCP_ADDR"] = "127.0.0.1:" + strconv.Itoa(udp+1)
	environ := []string{"HOME=" + t.TempDir()}
	for k, v := range runEnv {
		environ = append(environ, k+"="+v)
	}
	var logs lockedBuffer
	gw := exec.Command(bin, argv[1:]...)
	gw.Env = environ
	gw.Stdout, gw.Stderr = &logs, &logs
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- gw.Wait() }()
	stopped := false // set once exited was received
	defer func() {
		if !stopped {
			_ = gw.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("gateway output:\n%s", logs.String())
		}
	}()

	// Port 0: the gateway binds its own and names it in the start-up line.
	var httpPort string
	for deadline := time.Now().Add(30 * time.Second); httpPort == ""; {
		if m := listeningPort.FindStringSubmatch(logs.String()); m != nil {
			httpPort = m[1]
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("gateway exited before listening: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no start-up line naming the HTTP port within 30s")
		}
	}
	environ = append(environ, "WISHGATE_HTTP_ADDR=127.0.0.1:"+httpPort) // the HEALTHCHECK's
	base := "http://127.0.0.1:" + httpPort
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	get := func(path string) (int, string) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get("/healthz"); code == 200 {
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("gateway exited before serving: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no /healthz 200 within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	if !regexp.MustCompile(`level=INFO msg="wishgate listening"`).MatchString(logs.String()) {
		t.Errorf("no start-up line at the image's log level")
	}
	// The image's binary transcodes camera audio, and says so.
	if !strings.Contains(logs.String(), `msg="audio transcoding on`) {
		t.Errorf("the image's binary does not report the audio transcoder at start-up")
	}

	// --- the HEALTHCHECK command, as Docker runs it: same env, exit 0.
	hcRun := exec.CommandContext(ctx, bin, hcArgv[1:]...)
	hcRun.Env = environ
	out, err := hcRun.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Errorf("HEALTHCHECK %q: %v\n%s", hcArgv, err, out)
	}
	// And it fails when nothing answers.
	bad := exec.CommandContext(ctx, bin, hcArgv[1:]...)
	bad.Env = append(slices.Clone(environ), "WISHGATE_HTTP_ADDR=127.0.0.1:"+freePort(t))
	if out, err := bad.CombinedOutput(); err == nil {
		t.Errorf("HEALTHCHECK passed with no gateway listening:\n%s", out)
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("HEALTHCHECK against nothing: %v, want exit status 1", err)
	}

	// docker stop sends SIGTERM: a clean exit.
	if err := gw.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("still running 15s after SIGTERM")
	}
}

func last(t *testing.T, s stage, cmd string) string {
	t.Helper()
	all := s.all(cmd)
	if len(all) == 0 {
		t.Fatalf("the final stage has no %s", cmd)
	}
	return all[len(all)-1]
}
