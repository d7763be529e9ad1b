package network

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

type reloadResult struct {
	restart []string
	err     error
}

// loopbackEnv keeps every listener on 127.0.0.1 (port 0, or a free pair
// for RTSP over UDP) whatever the file says.
func loopbackEnv(t *testing.T, extra map[string]string) func(string) string {
	var mu sync.Mutex
	udp := testutil.FreeUDPPair(t)
	m := map[string]string{
		"WISHGATE_HTTP_ADDR": "127.0.0.1:0", "WISHGATE_UDP_ADDR": "127.0.0.1:0",
		"WISHGATE_TCP_ADDR": "127.0.0.1:0", "WISHGATE_RTSP_ADDR": "127.0.0.1:0",
		"WISHGATE_RTSP_UDP_RTP_ADDR":  "127.0.0.1:" + strconv.Itoa(udp),
		"WISHGATE_RTSP_UDP_RTCP_ADDR": "127.0.0.1:" + strconv.Itoa(udp+1),
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { mu.Lock(); defer mu.Unlock(); return m[k] }
}

// writeAtomically replaces path the way editors do (write a temp, rename).
func writeAtomically(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, method, url, token string, hdr map[string]string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader("v=0\r\n"))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/sdp")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	return resp.StatusCode, resp.Header
}

func nextResult(t *testing.T, ch <-chan reloadResult) reloadResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no reload happened")
		return reloadResult{}
	}
}

// TestReloadFromFile: a changed file applies auth, ICE servers, CORS and
// grace period at once without disturbing a running publisher and viewer;
// a bad file is refused with the key named and the old settings stay.
func TestReloadFromFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wishgate.yaml")
	writeAtomically(t, path, `
publish_tokens: [pub-token-aaa]
read_tokens: [view-token-zzz]
ice_servers: ["stun:one.example.com:3478"]
replace: always
`)
	src := config.Source{Args: []string{"--config", path}, Getenv: loopbackEnv(t, nil)}
	cfg, err := src.Load()
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	gw, err := app.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	results := make(chan reloadResult, 8)
	w, err := app.NewWatcher(gw, src, nil, log, func(r []string, err error) { results <- reloadResult{r, err} })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	publishSynth(t, ctx, gw.URL()+"/whip/cam", client.PublishOptions{Options: client.Options{Token: "pub-token-aaa"}})
	viewer, err := client.Play(ctx, gw.URL()+"/whep/cam", client.PlayOptions{Options: client.Options{Token: "view-token-zzz"}})
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	received := func() uint64 { return viewer.Received(webrtc.RTPCodecTypeVideo).Packets }
	waitFor(t, ctx, "media before the reload", func() bool { return received() > 20 })
	if links, _ := iceLinks(t, gw.URL()+"/whip/cam", "pub-token-aaa"); len(links) != 1 || links[0].Target != "stun:one.example.com:3478" {
		t.Fatalf("links before: %+v", links)
	}

	writeAtomically(t, path, `
publish_tokens: [pub-token-bbb]
read_tokens: [view-token-zzz]
ice_servers: ["stun:two.example.com:3478"]
allow_origins: ["https://app.example.com"]
replace: never
grace_period: 3s
max_body_bytes: 65536
`)
	r := nextResult(t, results)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if strings.Join(r.restart, ",") != "max_body_bytes" {
		t.Fatalf("restart-only keys: %v", r.restart)
	}
	if links, _ := iceLinks(t, gw.URL()+"/whip/cam", "pub-token-bbb"); len(links) != 1 || links[0].Target != "stun:two.example.com:3478" {
		t.Fatalf("links after: %+v", links)
	}
	if code, _ := status(t, http.MethodPost, gw.URL()+"/whip/cam", "pub-token-aaa", nil); code != http.StatusUnauthorized {
		t.Fatalf("the old publish token: %d", code)
	}
	// The new token passes auth, and replace=never now refuses a second
	// publisher of the live stream.
	_, err = client.Publish(ctx, gw.URL()+"/whip/cam", client.PublishOptions{Options: client.Options{Token: "pub-token-bbb"}})
	var he *client.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusConflict {
		t.Fatalf("second publisher under replace=never: %v, want 409", err)
	}
	preflight := map[string]string{"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"}
	if code, _ := status(t, http.MethodOptions, gw.URL()+"/whip/cam", "", preflight); code != http.StatusForbidden {
		t.Fatalf("CORS origin not in the new list: %d", code)
	}
	preflight["Origin"] = "https://app.example.com"
	if code, h := status(t, http.MethodOptions, gw.URL()+"/whip/cam", "", preflight); code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("CORS origin in the new list: %d %v", code, h)
	}
	if got := gw.Config(); got.GracePeriod != 3*time.Second || got.MaxBodyBytes != 128<<10 {
		t.Fatalf("running config: grace %s, max body %d (a restart-only key must not change)", got.GracePeriod, got.MaxBodyBytes)
	}
	// The sessions started before the reload were not touched.
	n := received()
	waitFor(t, ctx, "media after the reload", func() bool { return received() > n+20 })

	for _, bad := range []struct{ body, want string }{
		{"publish_tokens: [pub-token-ccc]\nbogus_key: 1\n", `unknown key "bogus_key"`},
		{"publish_tokens: [pub-token-ccc]\nreplace: sometimes\n", "replace"},
		{"publish_tokens: [pub-token-ccc]\ngrace_period: soon\n", "grace_period"},
	} {
		writeAtomically(t, path, bad.body)
		r := nextResult(t, results)
		if r.err == nil || !strings.Contains(r.err.Error(), bad.want) || !strings.Contains(r.err.Error(), "running one stays") {
			t.Fatalf("bad file %q: %v", bad.body, r.err)
		}
		if links, _ := iceLinks(t, gw.URL()+"/whip/cam", "pub-token-bbb"); len(links) != 1 {
			t.Fatal("the old configuration did not stay")
		}
		if code, _ := status(t, http.MethodPost, gw.URL()+"/whip/cam", "pub-token-ccc", nil); code != http.StatusUnauthorized {
			t.Fatalf("a token from a refused file works: %d", code)
		}
	}
	if !strings.Contains(logs.String(), "config reload failed") || !strings.Contains(logs.String(), "bogus_key") {
		t.Fatalf("the refusal was not logged clearly:\n%s", logs.String())
	}
	n = received()
	waitFor(t, ctx, "media after the refused reloads", func() bool { return received() > n+20 })
	for _, secret := range []string{"pub-token-aaa", "pub-token-bbb", "pub-token-ccc", "view-token-zzz"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("%s leaked into the log", secret)
		}
	}
}

// TestReloadOnSIGHUP: a real SIGHUP, delivered to this process through
// signal.Notify as cmd/gateway wires it, reloads too (here the environment
// is what changed, standing in for a file without a watch event).
func TestReloadOnSIGHUP(t *testing.T) {
	var mu sync.Mutex
	token := "hup-token-one"
	base := loopbackEnv(t, nil)
	getenv := func(k string) string {
		if k == "WISHGATE_PUBLISH_TOKEN" {
			mu.Lock()
			defer mu.Unlock()
			return token
		}
		return base(k)
	}
	src := config.Source{Getenv: getenv}
	cfg, err := src.Load()
	if err != nil {
		t.Fatal(err)
	}
	gw, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	results := make(chan reloadResult, 2)
	w, err := app.NewWatcher(gw, src, hup, slog.New(slog.DiscardHandler), func(r []string, err error) { results <- reloadResult{r, err} })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if code, _ := status(t, http.MethodPost, gw.URL()+"/whip/x", "hup-token-two", nil); code != http.StatusUnauthorized {
		t.Fatalf("before: %d", code)
	}
	mu.Lock()
	token = "hup-token-two"
	mu.Unlock()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if r := nextResult(t, results); r.err != nil {
		t.Fatal(r.err)
	}
	if code, _ := status(t, http.MethodPost, gw.URL()+"/whip/x", "hup-token-two", nil); code != http.StatusBadRequest {
		t.Fatalf("after SIGHUP the new token must pass auth (then fail on the bad offer with 400): %d", code)
	}
}

// TestReloadSources: RTSP sources named in the file start and stop with it;
// one left unchanged keeps running: its camera connection and its
// publication (the same session id) survive the reload.
func TestReloadSources(t *testing.T) {
	cam := testutil.StartCamera(t, testutil.EncodeH264(t, "320x240", 25, 2, "keyint=25"), 25, testutil.CameraOptions{})
	dir := t.TempDir()
	path := filepath.Join(dir, "wishgate.yaml")
	// Port 1 on loopback refuses: those sources stay in their retry loop.
	writeAtomically(t, path, `
sources: ["cam-a=rtsp://127.0.0.1:1/a", "live=`+cam.URL+`"]
sources_on_demand: ["cam-b=rtsp://127.0.0.1:1/b"]
`)
	src := config.Source{Args: []string{"--config", path}, Getenv: loopbackEnv(t, nil)}
	cfg, err := src.Load()
	if err != nil {
		t.Fatal(err)
	}
	gw, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	results := make(chan reloadResult, 4)
	w, err := app.NewWatcher(gw, src, nil, slog.New(slog.DiscardHandler), func(r []string, err error) { results <- reloadResult{r, err} })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	names := func() []string {
		var out []string
		for _, s := range gw.Sources().List() {
			out = append(out, s.Name)
		}
		slices.Sort(out)
		return out
	}
	if got := names(); !slices.Equal(got, []string{"cam-a", "cam-b", "live"}) {
		t.Fatalf("sources at start: %v", got)
	}
	// live: playing, published under one session id since one moment.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var before bridgeLive
	waitFor(t, ctx, "the live camera playing", func() bool {
		before = liveSource(gw)
		return before.playing && before.sessionID != ""
	})

	writeAtomically(t, path, `
sources: ["cam-c=rtsp://127.0.0.1:1/c", "live=`+cam.URL+`"]
sources_on_demand: ["cam-b=rtsp://127.0.0.1:1/b"]
`)
	r := nextResult(t, results)
	if r.err != nil || len(r.restart) != 0 {
		t.Fatalf("reload: %v, restart %v", r.err, r.restart)
	}
	if got := names(); !slices.Equal(got, []string{"cam-b", "cam-c", "live"}) {
		t.Fatalf("sources after reload: %v", got)
	}
	if s, ok := gw.Sources().Get("cam-b"); !ok || !s.OnDemand {
		t.Fatalf("cam-b: %+v", s)
	}
	if after := liveSource(gw); after != before {
		t.Fatalf("the unchanged camera was restarted by the reload: before %+v, after %+v", before, after)
	}

	writeAtomically(t, path, "sources: [\"cam-d=http://not-rtsp/\"]\n")
	if r := nextResult(t, results); r.err == nil || !strings.Contains(r.err.Error(), "sources") {
		t.Fatalf("a bad source must be refused naming the key: %v", r.err)
	}
	if got := names(); !slices.Equal(got, []string{"cam-b", "cam-c", "live"}) {
		t.Fatalf("a refused file changed the sources: %v", got)
	}
	if after := liveSource(gw); after != before {
		t.Fatalf("a refused file restarted the camera: before %+v, after %+v", before, after)
	}
}

// bridgeLive is what a restart of the "live" source would change.
type bridgeLive struct {
	playing   bool
	since     time.Time
	sessionID string
}

func liveSource(gw *app.App) bridgeLive {
	var l bridgeLive
	if s, ok := gw.Sources().Get("live"); ok {
		l.playing, l.since = s.State == "playing", s.Since
	}
	if info, ok := gw.Registry.Info("live"); ok && info.Publisher != nil {
		l.sessionID = info.Publisher.SessionID
	}
	return l
}
