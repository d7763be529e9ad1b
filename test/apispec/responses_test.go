package apispec

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

const (
	sdpType  = "application/sdp"
	fragType = "application/trickle-ice-sdpfrag"
	jsonType = "application/json"
)

var extLink = regexp.MustCompile(`<([^>]+)>;\s*rel="([^"]+)"`)

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// caller sends requests through the validator and checks their status.
type caller struct {
	t    *testing.T
	base string
	hc   *http.Client
}

type reply struct {
	status int
	header http.Header
	body   string
}

// do sends one request; hdr are header name/value pairs. want is the status
// the gateway must answer.
func (c caller) do(method, path string, body []byte, want int, hdr ...string) reply {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Errorf("%s %s = %d, want %d: %.300s", method, path, resp.StatusCode, want, b)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// inMemory serves one request through the gateway's handler with a peer
// address loopback cannot give, and validates the answer.
func inMemory(t *testing.T, v *validator, a *app.App, method, path, remote string, want int) {
	t.Helper()
	req := httptest.NewRequest(method, a.URL()+path, nil)
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	if rec.Code != want {
		t.Errorf("%s %s from %s = %d, want %d: %s", method, path, remote, rec.Code, want, rec.Body)
	}
	v.check(req, rec.Code, rec.Header(), rec.Body.Bytes())
}

var iceCreds = regexp.MustCompile(`(?m)^a=ice-ufrag:(\S+)\r?\n(?:.*\r?\n)*?a=ice-pwd:(\S+)`)

// TestResponsesMatchSpec drives every operation of openapi.yaml against
// in-process gateways with real pion peers, covering the documented error
// statuses, and validates each answer against the document.
func TestResponsesMatchSpec(t *testing.T) {
	doc := loadSpec(t)
	a := testutil.StartGateway(t, func(c *config.Config) {
		c.AllowOrigins = []string{"https://ok.example"}
		c.MaxViewersPerStream = 2
	})
	v := newValidator(t, doc, a.URL())
	defer v.report()
	c := caller{t: t, base: a.URL(), hc: v.client()}
	opts := &client.Options{HTTPClient: v.client()}

	// --- WHIP and WHEP with real peers: 201s, PATCH 204/200, DELETE 200.
	pub := publish(t, a, "cam", opts)
	viewer := play(t, a, "cam", opts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := viewer.RestartICE(ctx); err != nil { // PATCH -> 200 with an sdpfrag
		t.Errorf("viewer ICE restart: %v", err)
	}

	// --- POST errors.
	obs := golden(t, "obs-31-whip.sdp")
	c.do("POST", "/whip/cam", obs, 409, "Content-Type", sdpType) // a healthy publisher holds it
	c.do("POST", "/whip/-bad", obs, 400, "Content-Type", sdpType)
	c.do("POST", "/whip/x", []byte("v=0\r\nthis is not SDP"), 400, "Content-Type", sdpType)
	c.do("POST", "/whip/x", obs, 415, "Content-Type", "text/plain")
	c.do("POST", "/whip/x", bytes.Repeat([]byte("a"), 200<<10), 413, "Content-Type", sdpType)
	c.do("POST", "/whep/nobody", golden(t, "chromium-156-whep.sdp"), 409, "Content-Type", sdpType)
	c.do("POST", "/whep/cam", golden(t, "firefox-whep.sdp"), 422, "Content-Type", sdpType)    // no H.264 offered
	c.do("POST", "/whip/x", golden(t, "chromium-156-whep.sdp"), 422, "Content-Type", sdpType) // recvonly to WHIP
	c.do("POST", "/whep/cam", golden(t, "chromium-156-whep.sdp"), 201, "Content-Type", sdpType)
	c.do("POST", "/whep/cam", golden(t, "chromium-156-whep.sdp"), 503, "Content-Type", sdpType) // max_viewers_per_stream

	// --- a session of our own, from a recorded OBS offer.
	created := c.do("POST", "/whip/golden", obs, 201, "Content-Type", sdpType)
	loc, etag := created.header.Get("Location"), created.header.Get("ETag")
	m := iceCreds.FindSubmatch(obs)
	if m == nil {
		t.Fatal("no ICE credentials in the OBS offer")
	}
	trickle := "a=ice-ufrag:" + string(m[1]) + "\r\na=ice-pwd:" + string(m[2]) + "\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n"
	c.do("PATCH", loc, []byte(trickle), 204, "Content-Type", fragType, "If-Match", etag)
	c.do("PATCH", loc, []byte(trickle), 412, "Content-Type", fragType, "If-Match", `"stale"`)
	c.do("PATCH", loc, []byte(trickle), 415, "Content-Type", sdpType)
	c.do("PATCH", loc, []byte("a=ice-ufrag:only\r\n"), 400, "Content-Type", fragType)
	c.do("PATCH", loc, bytes.Repeat([]byte("a"), 200<<10), 413, "Content-Type", fragType)
	c.do("PATCH", "/whip/golden/-/not-a-secret", []byte(trickle), 404, "Content-Type", fragType)
	c.do("PATCH", "/whep/cam/-/not-a-secret", []byte(trickle), 404, "Content-Type", fragType)
	c.do("OPTIONS", loc, nil, 204)
	c.do("OPTIONS", loc, nil, 403, "Origin", "https://evil.example", "Access-Control-Request-Method", "PATCH")
	c.do("GET", loc, nil, 204)
	c.do("HEAD", loc, nil, 204)
	c.do("PUT", loc, nil, 405)
	c.do("POST", loc, nil, 405)
	c.do("DELETE", loc, nil, 200)
	c.do("DELETE", "/whip/golden/-/not-a-secret", nil, 404)
	c.do("DELETE", "/whep/cam/-/not-a-secret", nil, 404)
	// A name with slashes: its session resource is still /whip/NAME/-/SECRET.
	slash := c.do("POST", "/whip/site/cam9", obs, 201, "Content-Type", sdpType)
	if l := slash.header.Get("Location"); !strings.HasPrefix(l, "/whip/site/cam9/-/") {
		t.Errorf("Location %q for site/cam9", l)
	}
	c.do("GET", "/api/v1/streams/site/cam9", nil, 200)
	c.do("GET", "/api/v1/streams/site%2Fcam9", nil, 200)
	c.do("DELETE", slash.header.Get("Location"), nil, 200)
	c.do("POST", "/whip/site//cam9", obs, 400, "Content-Type", sdpType)
	// Simulcast: the layers and a viewer's layer in the listing; layer
	// choices the stream cannot serve.
	sim := c.do("POST", "/whip/simul", golden(t, "chromium-156-whip-simulcast.sdp"), 201, "Content-Type", sdpType)
	simViewer := c.do("POST", "/whep/simul?layer=low", golden(t, "chromium-156-whep.sdp"), 201, "Content-Type", sdpType)
	if body := c.do("GET", "/api/v1/streams/simul", nil, 200).body; !strings.Contains(body, `"rid":"h"`) || !strings.Contains(body, `"choice":"low"`) {
		t.Errorf("simulcast stream listed as %s", body)
	}
	c.do("POST", "/whep/simul?layer=x", golden(t, "chromium-156-whep.sdp"), 422, "Content-Type", sdpType)
	c.do("POST", "/whep/simul?layer=a.b", golden(t, "chromium-156-whep.sdp"), 400, "Content-Type", sdpType)
	// The WHEP core extensions on that session.
	ext := map[string]string{}
	for _, l := range simViewer.header.Values("Link") {
		if m := extLink.FindStringSubmatch(l); m != nil {
			ext[m[2]] = m[1]
		}
	}
	layer, sse := ext["urn:ietf:params:whep:ext:core:layer"], ext["urn:ietf:params:whep:ext:core:server-sent-events"]
	if layer == "" || sse == "" {
		t.Fatalf("no extension Links: %q", simViewer.header.Values("Link"))
	}
	c.do("OPTIONS", layer, nil, 204)
	c.do("POST", layer, []byte(`{"encodingId":"h"}`), 200, "Content-Type", jsonType)
	c.do("POST", layer, []byte(`{"encodingId":"x"}`), 422, "Content-Type", jsonType)
	c.do("POST", layer, []byte(`{"encodingId":`), 400, "Content-Type", jsonType)
	c.do("POST", layer, []byte(`{}`), 415, "Content-Type", "text/plain")
	c.do("POST", strings.Replace(layer, "/-/", "/-/x", 1), []byte(`{}`), 404, "Content-Type", jsonType)
	c.do("OPTIONS", sse, nil, 204)
	c.do("POST", sse, []byte(`["nope"]`), 400, "Content-Type", jsonType)
	events := c.do("POST", sse, []byte(`["layers","inactive"]`), 201, "Content-Type", jsonType).header.Get("Location")
	c.do("OPTIONS", events, nil, 204)
	// An event stream lasts until it is deleted (or its session ends).
	end := time.AfterFunc(1500*time.Millisecond, func() { c.do("DELETE", events, nil, 200) })
	if r := c.do("GET", events, nil, 200); !strings.Contains(r.body, "event: layers") {
		t.Errorf("event stream %q", r.body)
	}
	end.Stop()
	c.do("GET", events, nil, 404)
	c.do("DELETE", events, nil, 404)
	end = time.AfterFunc(1500*time.Millisecond, func() { c.do("DELETE", simViewer.header.Get("Location"), nil, 200) })
	c.do("GET", sse, nil, 200)
	end.Stop()
	c.do("DELETE", sim.header.Get("Location"), nil, 200)
	whepLoc := viewer.Location()[len(a.URL()):]
	for _, base := range []string{"/whip/cam", "/whep/cam"} {
		c.do("OPTIONS", base, nil, 204)
		c.do("OPTIONS", base, nil, 204, "Origin", "https://ok.example", "Access-Control-Request-Method", "POST")
		c.do("OPTIONS", base, nil, 403, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
		c.do("GET", base, nil, 204)
		c.do("HEAD", base, nil, 200)
		c.do("PUT", base, nil, 405)
		c.do("PATCH", base, nil, 405)
		c.do("DELETE", base, nil, 405)
	}
	for _, m := range []string{"OPTIONS", "GET", "HEAD"} {
		want := 204
		c.do(m, whepLoc, nil, want)
	}
	c.do("PUT", whepLoc, nil, 405)
	c.do("POST", whepLoc, nil, 405)

	// --- the control API.
	c.do("GET", "/api/v1/streams", nil, 200)
	c.do("GET", "/api/v1/streams/cam", nil, 200)
	// A camera whose AAC WHEP viewers get as Opus: the track's transcode
	// object (null in a build without the transcoder) and the source's
	// "transcoded" track status, as the spec says.
	aacCam := testutil.StartAVCamera(t, testutil.AVCameraConfig{AAC: "tone-1k-48k-stereo.aac"})
	if err := a.Sources().Add(bridge.SourceConfig{Name: "aac", URL: aacCam.URL, Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for info, _ := a.Registry.Info("aac"); len(info.Tracks) < 2 || info.Tracks[0].Packets == 0; info, _ = a.Registry.Info("aac") {
		if time.Now().After(deadline) {
			t.Fatal("the AAC camera did not go live within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	play(t, a, "aac", opts)
	c.do("GET", "/api/v1/streams/aac", nil, 200)
	c.do("GET", "/api/v1/sources/aac", nil, 200)
	c.do("GET", "/api/v1/streams/nope", nil, 404)
	c.do("GET", "/api/v1/streams/-bad", nil, 400)
	c.do("DELETE", "/api/v1/streams/a//b", nil, 400)
	c.do("GET", "/api/v1/sources/a/", nil, 400)
	c.do("DELETE", "/api/v1/sources/_a", nil, 400)
	sessions := c.do("GET", "/api/v1/sessions", nil, 200)
	c.do("GET", "/api/v1/info", nil, 200)
	c.do("GET", "/api/v1/diagnostics", nil, 200)
	c.do("GET", "/api/v1/sources", nil, 200)
	camera := []byte(`{"url":"rtsp://u:secret@127.0.0.1:1/x","on_demand":true}`)
	c.do("PUT", "/api/v1/sources/door", camera, 201, "Content-Type", jsonType)
	c.do("PUT", "/api/v1/sources/door", camera, 200, "Content-Type", jsonType)
	c.do("PUT", "/api/v1/sources/door", camera, 415, "Content-Type", "text/plain")
	c.do("PUT", "/api/v1/sources/door", []byte(`{"url":1}`), 400, "Content-Type", jsonType)
	c.do("PUT", "/api/v1/sources/door", []byte(`{"url":"http://x/"}`), 422, "Content-Type", jsonType)
	c.do("GET", "/api/v1/sources/door", nil, 200)
	c.do("GET", "/api/v1/streams/door", nil, 200) // an idle on-demand camera
	c.do("DELETE", "/api/v1/sources/door", nil, 204)
	c.do("DELETE", "/api/v1/sources/door", nil, 404)
	c.do("GET", "/api/v1/sources/door", nil, 404)
	// Kick the pion viewer by its public id (found in the session list).
	var viewerID string
	for _, m := range regexp.MustCompile(`"id":"([^"]+)","kind":"whep"`).FindAllStringSubmatch(sessions.body, -1) {
		viewerID = m[1]
	}
	c.do("DELETE", "/api/v1/sessions/"+viewerID, nil, 204)
	c.do("DELETE", "/api/v1/sessions/"+viewerID, nil, 404)
	c.do("DELETE", "/api/v1/streams/cam", nil, 204)
	c.do("DELETE", "/api/v1/streams/cam", nil, 404)
	_ = pub
	// No admin token configured: a client off loopback is refused.
	inMemory(t, v, a, "GET", "/api/v1/streams", "203.0.113.7:4000", 403)

	// --- ops and pages.
	c.do("GET", "/healthz", nil, 200)
	c.do("HEAD", "/healthz", nil, 200)
	c.do("GET", "/readyz", nil, 200)
	c.do("HEAD", "/readyz", nil, 200)
	c.do("GET", "/metrics", nil, 200)
	c.do("GET", "/api/openapi.yaml", nil, 200)
	for _, p := range []string{"/", "/watch/cam", "/watch/site/cam1", "/publish", "/publish/cam", "/embed/site/cam1",
		"/embed/cam", "/static/favicon.svg", "/static/js/page.js", "/favicon.ico"} {
		r := c.do("GET", p, nil, 200)
		c.do("HEAD", p, nil, 200)
		c.do("GET", p, nil, 304, "If-None-Match", r.header.Get("ETag"))
	}
	c.do("GET", "/watch/-bad", nil, 404)
	c.do("GET", "/static/nope.js", nil, 404)

	// --- a gateway with tokens, strict ETags and a rate limit.
	b := testutil.StartGateway(t, func(c *config.Config) {
		c.AdminToken = "admin-token"
		c.PublishTokens = []string{"pub-token"}
		c.ReadTokens = []string{"read-token"}
		c.StrictETag = true
		c.RateLimit = 0.01 // a burst of 5 POST/PATCH/DELETE, then 429
		c.RateBurst = 5
		c.RateLimitExempt = nil // loopback is exempt by default
	})
	vb := newValidator(t, loadSpec(t), b.URL())
	defer vb.report()
	cb := caller{t: t, base: b.URL(), hc: vb.client()}
	cb.do("GET", "/api/v1/streams", nil, 401)
	cb.do("GET", "/api/v1/streams", nil, 401, "Authorization", "Bearer wrong")
	cb.do("GET", "/api/v1/streams", nil, 200, "Authorization", "Bearer admin-token")
	cb.do("GET", "/api/v1/info?token=admin-token", nil, 200)
	cb.do("POST", "/whip/strict", obs, 401, "Content-Type", sdpType) // rate: 1 of 5
	cb.do("POST", "/whip/strict", obs, 401, "Content-Type", sdpType, "Authorization", "Bearer nope")
	cb.do("POST", "/whip/strict", obs, 403, "Content-Type", sdpType, "Authorization", "Bearer read-token")
	s := cb.do("POST", "/whip/strict", obs, 201, "Content-Type", sdpType, "Authorization", "Bearer pub-token")
	cb.do("PATCH", s.header.Get("Location"), []byte(trickle), 428, "Content-Type", fragType) // 5 of 5
	cb.do("POST", "/whip/strict2", obs, 429, "Content-Type", sdpType)
	cb.do("DELETE", s.header.Get("Location"), nil, 429)
	for key, statuses := range vb.covered {
		v.mu.Lock()
		if v.covered[key] == nil {
			v.covered[key] = map[int]bool{}
		}
		for st := range statuses {
			v.covered[key][st] = true
		}
		v.mu.Unlock()
	}

	// /readyz fails once shutdown starts.
	_ = b.Close()
	inMemory(t, vb, b, "GET", "/readyz", "127.0.0.1:4000", 503)

	// Every operation of the document was exercised.
	var missing []string
	for _, op := range operationsOf(doc) {
		if clusterOnly(op) {
			continue // TestClusterSpec
		}
		if len(v.covered[op]) == 0 {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations never exercised: %s", strings.Join(missing, ", "))
	}
}
