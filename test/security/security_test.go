// Package security checks, against the real gateway in-process, that
// secrets stay secret (tokens, JWT and TURN secrets, TURN and camera
// passwords never appear in logs, API output or error bodies), that
// resource URLs are scoped (a session secret acts only on its own session,
// a read token cannot publish, the admin API takes only the admin token),
// and that the admin API never answers CORS with "*".
package security

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every secret the gateway is given; each carries a marker no legitimate
// output contains by accident.
const (
	publishToken = "pubtok-SECRET-1111"
	readToken    = "readtok-SECRET-2222"
	adminToken   = "admintok-SECRET-3333"
	jwtSecret    = "jwtsecret-SECRET-4444-0123456789abcdef0123"
	turnSecret   = "turnsecret-SECRET-5555"
	icePassword  = "icepass-SECRET-6666"
	camPassword  = "campass-SECRET-7777"
)

var secrets = []string{publishToken, readToken, adminToken, jwtSecret, turnSecret, icePassword, camPassword}

// syncBuffer collects the gateway's log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type exchange struct {
	what   string
	status int
	header http.Header
	body   string
}

type harness struct {
	t    *testing.T
	gw   *app.App
	hc   *http.Client
	seen []exchange
}

func (h *harness) do(what, method, path, ctype string, body []byte, hdr ...string) exchange {
	h.t.Helper()
	req, err := http.NewRequest(method, h.gw.URL()+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	x := exchange{what: what, status: resp.StatusCode, header: resp.Header, body: string(b)}
	h.seen = append(h.seen, x)
	return x
}

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func TestSecretsAndScopes(t *testing.T) {
	var logs syncBuffer
	cfg := testutil.LoopbackConfig()
	cfg.LogLevel = "debug"
	cfg.PublishTokens = []string{publishToken}
	cfg.ReadTokens = []string{readToken}
	cfg.AdminToken = adminToken
	cfg.JWTSecret = jwtSecret
	cfg.TURNServers = []string{"turn:127.0.0.1:3478?transport=udp"}
	cfg.TURNSecret = turnSecret
	cfg.ICEServers = []string{"turn:iceuser:" + icePassword + "@127.0.0.1:3479"}
	// A camera nobody answers for: the bridge retries and logs about it.
	cfg.Sources = []string{"door=rtsp://camuser:" + camPassword + "@127.0.0.1:9/stream"}
	cfg.SourceBackoffBase, cfg.SourceBackoffMax = 50*time.Millisecond, 100*time.Millisecond
	gw, err := app.New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	h := &harness{t: t, gw: gw, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	pubOffer, viewOffer := golden(t, "obs-31-whip.sdp"), golden(t, "chromium-156-whep.sdp")
	const sdp = "application/sdp"

	// Who may publish: the publish token only.
	if x := h.do("publish without token", "POST", "/whip/cam1", sdp, pubOffer); x.status != 401 {
		t.Errorf("publish without token: %d", x.status)
	}
	if x := h.do("publish with the read token", "POST", "/whip/cam1", sdp, pubOffer, bearer(readToken)...); x.status != 403 && x.status != 401 {
		t.Errorf("a read token published: %d", x.status)
	}
	if x := h.do("publish with a wrong token", "POST", "/whip/cam1", sdp, pubOffer, bearer("nope")...); x.status != 401 {
		t.Errorf("publish with a wrong token: %d", x.status)
	}
	if x := h.do("publish with the admin token", "POST", "/whip/cam1", sdp, pubOffer, bearer(adminToken)...); x.status < 400 {
		t.Errorf("the admin token published: %d", x.status)
	}
	pub := h.do("publish", "POST", "/whip/cam1", sdp, pubOffer, bearer(publishToken)...)
	if pub.status != 201 {
		t.Fatalf("publish: %d %s", pub.status, pub.body)
	}
	pub2 := h.do("publish another", "POST", "/whip/cam2", sdp, pubOffer, bearer(publishToken)...)
	if pub2.status != 201 {
		t.Fatalf("publish cam2: %d %s", pub2.status, pub2.body)
	}
	// Who may read: the read token; the publish token is not a read token.
	if x := h.do("play without token", "POST", "/whep/cam1", sdp, viewOffer); x.status != 401 {
		t.Errorf("play without token: %d", x.status)
	}
	if x := h.do("play with the publish token", "POST", "/whep/cam1", sdp, viewOffer, bearer(publishToken)...); x.status != 403 && x.status != 401 {
		t.Errorf("a publish token played: %d", x.status)
	}
	view := h.do("play", "POST", "/whep/cam1", sdp, viewOffer, bearer(readToken)...)
	if view.status != 201 {
		t.Fatalf("play: %d %s", view.status, view.body)
	}
	view2 := h.do("play cam2", "POST", "/whep/cam2?token="+readToken, sdp, viewOffer)
	if view2.status != 201 {
		t.Fatalf("play cam2 with ?token=: %d %s", view2.status, view2.body)
	}

	// A session secret acts on its own session only: another stream's,
	// the other protocol's, or a guessed one is 404, and the victim lives.
	secretOf := func(loc string) string { return loc[strings.LastIndexByte(loc, '/')+1:] }
	viewSecret, pubSecret := secretOf(view.header.Get("Location")), secretOf(pub.header.Get("Location"))
	if len(viewSecret) < 32 || viewSecret == pubSecret {
		t.Fatalf("session secrets %q, %q: not unguessable", viewSecret, pubSecret)
	}
	frag := []byte("a=ice-ufrag:x\r\na=ice-pwd:yyyyyyyyyyyyyyyyyyyyyyyy\r\n")
	for _, c := range []struct{ method, path string }{
		{"DELETE", "/whep/cam2/-/" + viewSecret},              // another stream's session
		{"PATCH", "/whep/cam2/-/" + viewSecret},               // same, PATCH
		{"DELETE", "/whip/cam1/-/" + viewSecret},              // a viewer's secret on the publisher's endpoint
		{"DELETE", "/whep/cam1/-/" + pubSecret},               // a publisher's secret on the viewer's endpoint
		{"DELETE", "/whip/cam2/-/" + pubSecret},               // cam1's publisher via cam2
		{"DELETE", "/whep/cam1/-/" + strings.Repeat("0", 32)}, // guessed
	} {
		x := h.do("cross-session "+c.method+" "+c.path, c.method, c.path, "application/trickle-ice-sdpfrag", frag, "If-Match", "*")
		if x.status != 404 {
			t.Errorf("%s %s: %d, want 404", c.method, c.path, x.status)
		}
	}
	// The victims are alive: their own DELETE still works, once.
	for _, loc := range []string{view.header.Get("Location"), pub2.header.Get("Location")} {
		if x := h.do("own DELETE", "DELETE", loc, "", nil); x.status != 200 {
			t.Errorf("own DELETE %s: %d", loc, x.status)
		}
	}

	// ICE servers (TURN credentials) only for clients entitled to use the
	// endpoint.
	if x := h.do("OPTIONS without token", "OPTIONS", "/whep/cam1", "", nil); strings.Contains(strings.Join(x.header.Values("Link"), ","), "credential=") {
		t.Errorf("OPTIONS without a token got TURN credentials: %v", x.header.Values("Link"))
	}
	if x := h.do("OPTIONS with token", "OPTIONS", "/whep/cam1", "", nil, bearer(readToken)...); !strings.Contains(strings.Join(x.header.Values("Link"), ","), icePassword) {
		t.Errorf("OPTIONS with a read token got no TURN credentials: %v", x.header.Values("Link"))
	}

	// The admin API: only the admin token, and no CORS wildcard.
	for _, path := range []string{"/api/v1/streams", "/api/v1/sessions", "/api/v1/sources", "/api/v1/info", "/api/v1/diagnostics"} {
		for _, tok := range []string{"", publishToken, readToken, "nope"} {
			var hdr []string
			if tok != "" {
				hdr = bearer(tok)
			}
			if x := h.do("admin API without the admin token", "GET", path, "", nil, hdr...); x.status != 401 && x.status != 403 {
				t.Errorf("GET %s with token %q: %d", path, tok, x.status)
			}
		}
		x := h.do("admin API", "GET", path, "", nil, append(bearer(adminToken), "Origin", "https://evil.example")...)
		if x.status != 200 {
			t.Errorf("GET %s with the admin token: %d %s", path, x.status, x.body)
		}
		if acao := x.header.Get("Access-Control-Allow-Origin"); acao == "*" || acao == "https://evil.example" {
			t.Errorf("GET %s answers CORS origin %q", path, acao)
		}
	}
	h.do("admin API preflight", "OPTIONS", "/api/v1/streams", "", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "authorization")
	h.do("metrics", "GET", "/metrics", "", nil, bearer(adminToken)...)

	// The camera has been tried (and logged about) a few times by now.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !strings.Contains(logs.String(), "door") {
		select {
		case <-ctx.Done():
			t.Fatal("the camera source never logged")
		case <-time.After(20 * time.Millisecond):
		}
	}

	// The scan. Links of entitled clients may carry the ICE password (that
	// is what they are for); nothing else may carry any secret.
	for _, x := range h.seen {
		var out strings.Builder
		out.WriteString(x.body)
		for k, vs := range x.header {
			if k == "Link" && x.status < 300 {
				continue
			}
			out.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
		}
		for _, s := range secrets {
			if strings.Contains(out.String(), s) {
				t.Errorf("%s: the response (%d) carries secret %q:\n%s", x.what, x.status, s, out.String())
			}
		}
		if x.status >= 400 && x.status != 404 && json.Valid([]byte(x.body)) == false && x.body != "" {
			t.Errorf("%s: error %d without a JSON body: %q", x.what, x.status, x.body)
		}
	}
	gw.Close() // the shutdown's logs too
	all := logs.String()
	for _, s := range secrets {
		if strings.Contains(all, s) {
			for _, l := range strings.Split(all, "\n") {
				if strings.Contains(l, s) {
					t.Errorf("log line carries secret %q: %s", s, l)
					break
				}
			}
		}
	}
	t.Logf("scanned %d responses and %d lines of debug logs", len(h.seen), strings.Count(all, "\n"))
	if !strings.Contains(all, "camuser") {
		t.Error("the camera was never named in the logs; the scan proves nothing about its password")
	}
}

// TestForwardedForIsNotTrusted: the client address the gateway logs, lists
// in the API and hands to the auth callback and the rate limiter is the
// TCP peer. X-Forwarded-For is written by whoever sends the request, so
// trusting it would let anyone pose as an allow-listed address: here the
// forged address is the only one exempt from the rate limit.
func TestForwardedForIsNotTrusted(t *testing.T) {
	const forged = "203.0.113.9"
	var mu sync.Mutex
	var asked []string // remote_addr of every callback request
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			RemoteAddr string `json:"remote_addr"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		asked = append(asked, body.RemoteAddr)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent) // allow
	}))
	defer cb.Close()
	var logs syncBuffer
	cfg := testutil.LoopbackConfig()
	cfg.AuthCallbackURL, cfg.AuthCallbackCache = cb.URL, 0
	cfg.RateLimit, cfg.RateBurst = 0.01, 1 // one POST, then the next in 100 s
	cfg.RateLimitExempt = []string{forged + "/32"}
	gw, err := app.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	h := &harness{t: t, gw: gw, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	spoof := []string{"X-Forwarded-For", forged, "X-Real-Ip", forged, "Authorization", "Bearer tok"}
	pub := h.do("publish", "POST", "/whip/cam", "application/sdp", golden(t, "obs-31-whip.sdp"), spoof...)
	if pub.status != 201 {
		t.Fatalf("publish: %d %s", pub.status, pub.body)
	}
	// The rate limiter: 127.0.0.1 has spent its burst; the forged address
	// would have been exempt.
	if x := h.do("second publish", "POST", "/whip/cam2", "application/sdp", golden(t, "obs-31-whip.sdp"), spoof...); x.status != http.StatusTooManyRequests {
		t.Errorf("a second POST at once: %d, want 429 (the limiter took the forged, exempt address)", x.status)
	}

	// The API.
	x := h.do("sessions", "GET", "/api/v1/sessions", "", nil, spoof...)
	var list struct {
		Items []struct {
			RemoteAddr string `json:"remote_addr"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(x.body), &list); err != nil || x.status != 200 || len(list.Items) != 1 {
		t.Fatalf("sessions: %d %s (%v)", x.status, x.body, err)
	}
	if got := list.Items[0].RemoteAddr; !strings.HasPrefix(got, "127.0.0.1") {
		t.Errorf("session remote address %q: taken from a request header, want the TCP peer 127.0.0.1", got)
	}

	// The auth callback.
	mu.Lock()
	got := slices.Clone(asked)
	mu.Unlock()
	if len(got) == 0 {
		t.Fatal("the auth callback was never asked; it proves nothing")
	}
	for _, a := range got {
		if a != "127.0.0.1" {
			t.Errorf("auth callback asked with remote_addr %q, want 127.0.0.1", a)
		}
	}

	// The logs.
	gw.Close()
	all := logs.String()
	if !strings.Contains(all, "remote=127.0.0.1") {
		t.Fatalf("no log line names the client; the check proves nothing:\n%s", all)
	}
	if strings.Contains(all, forged) {
		t.Errorf("the forged address reached the log:\n%s", all)
	}
}

// TestAuthCallbackSecretsStayOut: the auth callback URL may carry
// credentials (user info, an API key in the query). When the callback is
// unreachable the client gets 503 and the gateway logs the failure, with
// neither the callback's secrets nor the client's token in the log or the
// response.
func TestAuthCallbackSecretsStayOut(t *testing.T) {
	const (
		cbPass = "cbpass-SECRET-8888"
		cbKey  = "cbkey-SECRET-9999"
		tok    = "clienttok-SECRET-0000"
	)
	var logs syncBuffer
	cfg := testutil.LoopbackConfig()
	cfg.LogLevel = "debug"
	cfg.AuthCallbackURL = "http://cbuser:" + cbPass + "@127.0.0.1:9/auth?key=" + cbKey
	cfg.AuthCallbackCache = 0
	gw, err := app.New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	h := &harness{t: t, gw: gw, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	x := h.do("publish with the callback down", "POST", "/whip/cam", "application/sdp", golden(t, "obs-31-whip.sdp"), bearer(tok)...)
	if x.status != http.StatusServiceUnavailable {
		t.Errorf("publish with the callback unreachable: %d %s", x.status, x.body)
	}
	gw.Close()
	all := logs.String()
	if !strings.Contains(all, "auth callback failed") {
		t.Fatalf("the callback failure was not logged; the scan proves nothing:\n%s", all)
	}
	for _, s := range []string{cbPass, cbKey, tok} {
		if strings.Contains(x.body, s) || strings.Contains(all, s) {
			t.Errorf("secret %q in the response or the log:\n%s\n%s", s, x.body, all)
		}
	}
}
