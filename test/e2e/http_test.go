package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

const sdpType = "application/sdp"

var etagRe = regexp.MustCompile(`^"[^"]+"$`)

// TestGoldenOffers feeds every recorded client offer to the endpoint it was
// made for and checks the answer against docs/protocol.md.
func TestGoldenOffers(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	whip := []string{
		"obs-31-whip.sdp", "ffmpeg-8.0-whip.sdp", "chromium-156-whip-h264-opus.sdp",
		"chromium-156-whip-sendonly.sdp", "chromium-156-whip-sendrecv.sdp", "chromium-156-whip-simulcast.sdp",
		"firefox-whip.sdp", "firefox-whip-simulcast.sdp", "aiortc-whip.sdp",
		"gstreamer-webrtcbin-whip-h264-opus.sdp", "safari-26.5-sendrecv.sdp", "obs-32-whip-simulcast.sdp",
		"obs-32-whip.sdp",
	}
	for _, f := range whip {
		t.Run("whip/"+f, func(t *testing.T) {
			name := strings.NewReplacer(".", "-", "_", "-").Replace(strings.TrimSuffix(f, ".sdp"))
			r := do(t, "POST", a.URL()+"/whip/"+name, sdpType, golden(t, f))
			checkAnswer(t, r, "/whip/"+name+"/-/", "recvonly")
			wantSetup := "a=setup:passive"
			if strings.HasPrefix(f, "ffmpeg") {
				wantSetup = "a=setup:active" // FFmpeg offers passive
			}
			if !strings.Contains(r.Body, wantSetup+"\r\n") {
				t.Errorf("answer lacks %s", wantSetup)
			}
			if strings.HasPrefix(f, "obs") && !strings.Contains(r.Body, "stereo=1;sprop-stereo=1") {
				t.Error("OBS stereo Opus not kept")
			}
			// Every offered simulcast layer is received, in the offer's
			// order (OBS gives up otherwise).
			if want := map[string]string{
				"chromium-156-whip-simulcast.sdp": "q;h;f", "firefox-whip-simulcast.sdp": "q;h;f", "obs-32-whip-simulcast.sdp": "0;1;2",
			}[f]; want != "" && (!strings.Contains(r.Body, "\r\na=simulcast:recv "+want+"\r\n") || strings.Count(r.Body, " recv\r\n") != 3) {
				t.Errorf("answer does not receive simulcast %s:\n%s", want, r.Body)
			}
			if f == "obs-32-whip.sdp" {
				checkOBS32Answer(t, r.Body)
			}
			if d := do(t, "DELETE", a.URL()+r.Header.Get("Location"), "", nil); d.Status != 200 {
				t.Errorf("DELETE = %d", d.Status)
			}
		})
	}

	// A live stream for the players: OBS publishing H.264 + stereo Opus.
	pub := do(t, "POST", a.URL()+"/whip/live", sdpType, golden(t, "obs-31-whip.sdp"))
	if pub.Status != 201 {
		t.Fatalf("publish: %d %s", pub.Status, pub.Body)
	}
	for _, tc := range []struct {
		file   string
		status int
		detail string
	}{
		{"chromium-156-whep.sdp", 201, ""},
		{"chromium-156-whep-ip.sdp", 201, ""},
		{"mediamtx-reader-whep.sdp", 201, ""},
		{"aiortc-whep.sdp", 201, ""},
		{"gstreamer-whepsrc.sdp", 201, ""},
		{"safari-26.5-sendrecv.sdp", 201, ""},
		// Firefox offers no H.264: a clear 422 naming both sides.
		{"firefox-whep.sdp", 422, "H264"},
	} {
		t.Run("whep/"+tc.file, func(t *testing.T) {
			r := do(t, "POST", a.URL()+"/whep/live", sdpType, golden(t, tc.file))
			if tc.status != 201 {
				if r.Status != tc.status || !strings.Contains(r.Body, tc.detail) {
					t.Fatalf("got %d %s, want %d mentioning %q", r.Status, r.Body, tc.status, tc.detail)
				}
				return
			}
			checkAnswer(t, r, "/whep/live/-/", "sendonly")
			if !strings.Contains(r.Body, "H264/90000") {
				t.Error("answer does not carry the stream's H.264")
			}
			if strings.Contains(strings.ToLower(r.Body), "opus/48000") && !strings.Contains(r.Body, "stereo=1") {
				t.Error("stereo Opus source answered without stereo=1")
			}
			do(t, "DELETE", a.URL()+r.Header.Get("Location"), "", nil)
		})
	}
}

// checkOBS32Answer: OBS 32 sends no candidate at all and never PATCHes, so
// the answer's candidates are all it has; it offers audio first and
// declares rtp-stream-id without any rid, which is not simulcast.
func checkOBS32Answer(t *testing.T, b string) {
	t.Helper()
	sections := strings.Split(b, "\r\nm=")[1:]
	if len(sections) != 2 || !strings.HasPrefix(sections[0], "audio ") || !strings.HasPrefix(sections[1], "video ") {
		t.Fatalf("answer m-lines are not audio then video, as offered:\n%s", b)
	}
	if !strings.Contains(sections[0], "a=mid:0\r\n") || !strings.Contains(sections[1], "a=mid:1\r\n") {
		t.Errorf("answer mids are not the offer's 0 and 1")
	}
	if !strings.Contains(sections[0], "a=candidate:") || !strings.Contains(sections[0], "a=end-of-candidates") {
		t.Errorf("the first (bundle-tagged) section has no candidates: OBS would have none to connect to")
	}
	if !strings.Contains(sections[0], "a=rtpmap:111 opus/48000/2") || !strings.Contains(sections[1], "a=rtpmap:96 H264/90000") {
		t.Errorf("answer does not keep OBS's payload types (opus 111, H264 96)")
	}
	if strings.Contains(b, "a=simulcast") || strings.Contains(b, "a=rid:") {
		t.Errorf("answer turns an offer without rids into simulcast")
	}
	if !strings.Contains(b, "a=group:BUNDLE 0 1\r\n") {
		t.Errorf("answer does not bundle both sections")
	}
}

func checkAnswer(t *testing.T, r resp, locPrefix, direction string) {
	t.Helper()
	if r.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != sdpType {
		t.Errorf("Content-Type %q", ct)
	}
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, locPrefix) || len(loc) < len(locPrefix)+32 {
		t.Errorf("Location %q: want absolute path %s<secret>", loc, locPrefix)
	}
	if !etagRe.MatchString(r.Header.Get("ETag")) {
		t.Errorf("ETag %q is not a strong entity-tag", r.Header.Get("ETag"))
	}
	if r.Header.Get("Accept-Patch") != "application/trickle-ice-sdpfrag" {
		t.Error("no Accept-Patch")
	}
	b := r.Body
	if !strings.HasPrefix(b, "v=0\r\n") || strings.Contains(strings.ReplaceAll(b, "\r\n", ""), "\n") {
		t.Error("answer is not CRLF-terminated SDP starting with v=0")
	}
	if len(b) >= 8192 {
		t.Errorf("answer is %d bytes; FFmpeg needs < 8192", len(b))
	}
	active := 0
	for _, m := range strings.Split(b, "m=")[1:] {
		if strings.HasPrefix(strings.Fields(m)[1], "0") {
			continue
		}
		active++
		if strings.HasPrefix(m, "application") {
			continue
		}
		for _, want := range []string{"a=rtcp-mux-only\r\n", "a=end-of-candidates\r\n", "a=" + direction + "\r\n"} {
			if !strings.Contains(m, want) {
				t.Errorf("m=%s… lacks %q", strings.Fields(m)[0], want)
			}
		}
	}
	if active == 0 {
		t.Error("no active m-line")
	}
	first := strings.Index(b, "a=candidate:")
	if first < 0 || !strings.Contains(b[first:first+80], " udp ") || !strings.Contains(b[first:strings.Index(b[first:], "\r\n")+first], "typ host") {
		t.Error("first candidate is not a UDP host candidate")
	}
}

func TestHTTPErrors(t *testing.T) {
	a := testutil.StartGateway(t, func(c *config.Config) {
		c.PublishTokens = []string{"pub-secret"}
		c.ReadTokens = []string{"cam*=read-secret"}
		c.MaxBodyBytes = 64 << 10
	})
	obs := golden(t, "obs-31-whip.sdp")
	auth := []string{"Authorization", "Bearer pub-secret"}
	u := a.URL()

	problem := func(t *testing.T, r resp, status int) {
		t.Helper()
		if r.Status != status {
			t.Fatalf("status %d (%s), want %d", r.Status, r.Body, status)
		}
		if r.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		var p struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal([]byte(r.Body), &p); err != nil || p.Status != status || p.Detail == "" {
			t.Fatalf("problem body %q", r.Body)
		}
	}

	t.Run("401 without token", func(t *testing.T) {
		r := do(t, "POST", u+"/whip/a", sdpType, obs)
		problem(t, r, 401)
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Error("no WWW-Authenticate: Bearer")
		}
	})
	t.Run("401 wrong token", func(t *testing.T) {
		problem(t, do(t, "POST", u+"/whip/a", sdpType, obs, "Authorization", "Bearer nope"), 401)
	})
	t.Run("403 read token cannot publish", func(t *testing.T) {
		problem(t, do(t, "POST", u+"/whip/cam1", sdpType, obs, "Authorization", "Bearer read-secret"), 403)
	})
	t.Run("token in query", func(t *testing.T) {
		r := do(t, "POST", u+"/whip/q?token=pub-secret", sdpType, obs)
		if r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		do(t, "DELETE", u+r.Header.Get("Location"), "", nil)
	})
	t.Run("415 wrong content type", func(t *testing.T) {
		r := do(t, "POST", u+"/whip/a", "text/plain", obs, auth...)
		problem(t, r, 415)
		if r.Header.Get("Accept-Post") != sdpType {
			t.Error("no Accept-Post")
		}
	})
	t.Run("charset parameter accepted", func(t *testing.T) {
		r := do(t, "POST", u+"/whip/cs", "application/sdp; charset=utf-8", obs, auth...)
		if r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		do(t, "DELETE", u+r.Header.Get("Location"), "", nil)
	})
	t.Run("400 malformed SDP", func(t *testing.T) {
		problem(t, do(t, "POST", u+"/whip/a", sdpType, []byte("v=0\r\ngarbage"), auth...), 400)
		problem(t, do(t, "POST", u+"/whip/a", sdpType, []byte("hello"), auth...), 400)
	})
	t.Run("413 oversized body", func(t *testing.T) {
		big := append([]byte("v=0\r\n"), make([]byte, 65<<10)...)
		problem(t, do(t, "POST", u+"/whip/a", sdpType, big, auth...), 413)
	})
	t.Run("422 two video tracks", func(t *testing.T) {
		two := strings.Replace(string(obs), "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2", 1)
		i := strings.Index(two, "m=video")
		video := strings.Replace(two[i:], "a=mid:1", "a=mid:2", 1)
		problem(t, do(t, "POST", u+"/whip/a", sdpType, []byte(two+video), auth...), 422)
	})
	t.Run("422 recvonly offer on WHIP", func(t *testing.T) {
		problem(t, do(t, "POST", u+"/whip/a", sdpType, golden(t, "chromium-156-whep.sdp"), auth...), 422)
	})
	t.Run("422 no common codec names both sides", func(t *testing.T) {
		l16 := strings.ReplaceAll(string(obs), "opus/48000/2", "L16/48000/2")
		r := do(t, "POST", u+"/whip/a", sdpType, []byte(l16), auth...)
		problem(t, r, 422)
		if !strings.Contains(r.Body, "L16") || !strings.Contains(r.Body, "opus") {
			t.Errorf("422 detail does not name the codecs: %s", r.Body)
		}
	})
	t.Run("409 not live with Retry-After", func(t *testing.T) {
		r := do(t, "POST", u+"/whep/cam-idle", sdpType, golden(t, "chromium-156-whep.sdp"), "Authorization", "Bearer read-secret")
		problem(t, r, 409)
		if r.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
	})
	t.Run("400 bad stream name", func(t *testing.T) {
		problem(t, do(t, "POST", u+"/whip/-bad", sdpType, obs, auth...), 400)
	})
	t.Run("404 unknown session", func(t *testing.T) {
		problem(t, do(t, "DELETE", u+"/whip/a/-/0123456789abcdef0123456789abcdef", "", nil), 404)
		problem(t, do(t, "PATCH", u+"/whep/a/-/0123456789abcdef0123456789abcdef", "application/trickle-ice-sdpfrag", []byte("a=end-of-candidates\r\n")), 404)
	})
	t.Run("405 PUT", func(t *testing.T) {
		r := do(t, "PUT", u+"/whip/a", sdpType, obs)
		problem(t, r, 405)
		if r.Header.Get("Allow") == "" {
			t.Error("no Allow")
		}
	})
	t.Run("GET and HEAD", func(t *testing.T) {
		if r := do(t, "GET", u+"/whip/a", "", nil); r.Status != 204 || r.Body != "" {
			t.Errorf("GET = %d %q", r.Status, r.Body)
		}
		if r := do(t, "HEAD", u+"/whep/a", "", nil); r.Status != 200 || r.Header.Get("Content-Type") != sdpType {
			t.Errorf("HEAD = %d %q", r.Status, r.Header.Get("Content-Type"))
		}
	})
	t.Run("CORS preflight without token", func(t *testing.T) {
		r := do(t, "OPTIONS", u+"/whip/a", "", nil, "Origin", "https://example.org",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
		if r.Status != 204 {
			t.Fatalf("preflight = %d", r.Status)
		}
		h := r.Header.Get("Access-Control-Allow-Headers")
		for _, want := range []string{"Authorization", "Content-Type", "If-Match"} {
			if !strings.Contains(h, want) {
				t.Errorf("Allow-Headers %q lacks %s", h, want)
			}
		}
		if r.Header.Get("Access-Control-Allow-Origin") == "" {
			t.Error("no Allow-Origin")
		}
	})
	t.Run("CORS exposes Location and ETag", func(t *testing.T) {
		r := do(t, "POST", u+"/whip/cors", sdpType, obs, "Authorization", "Bearer pub-secret", "Origin", "https://example.org")
		if r.Status != 201 {
			t.Fatalf("%d", r.Status)
		}
		exp := r.Header.Get("Access-Control-Expose-Headers")
		for _, want := range []string{"Location", "ETag", "Link", "Accept-Patch"} {
			if !strings.Contains(exp, want) {
				t.Errorf("Expose-Headers %q lacks %s", exp, want)
			}
		}
		loc := r.Header.Get("Location")
		// PATCH/DELETE are authorised by the URL secret alone.
		p := do(t, "PATCH", u+loc, "application/trickle-ice-sdpfrag", []byte("a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n"), "If-Match", `"stale"`)
		problem(t, p, 412)
		if p := do(t, "PATCH", u+loc, "text/plain", []byte("x")); p.Status != 415 || p.Header.Get("Accept-Patch") == "" {
			t.Errorf("PATCH wrong type = %d", p.Status)
		}
		if p := do(t, "PATCH", u+loc, "application/trickle-ice-sdpfrag", []byte("not sdp")); p.Status != 400 {
			t.Errorf("PATCH garbage = %d", p.Status)
		}
		p = do(t, "PATCH", u+loc, "application/trickle-ice-sdpfrag",
			[]byte("a=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\na=candidate:2 1 udp 2122260223 abc.local 50001 typ host\r\na=end-of-candidates\r\n"),
			"If-Match", r.Header.Get("ETag"))
		if p.Status != 204 || p.Body != "" || p.Header.Get("ETag") != "" {
			t.Errorf("trickle PATCH = %d %q etag %q", p.Status, p.Body, p.Header.Get("ETag"))
		}
		if d := do(t, "DELETE", u+loc, "", nil, "If-Match", `"junk"`); d.Status != 200 {
			t.Errorf("DELETE = %d", d.Status)
		}
		// Deleted: the resource is gone (RFC 9725 §4.3.1).
		if d := do(t, "DELETE", u+loc, "", nil); d.Status != 404 {
			t.Errorf("second DELETE = %d, want 404", d.Status)
		}
	})
}

func TestStrictETag(t *testing.T) {
	a := testutil.StartGateway(t, func(c *config.Config) { c.StrictETag = true })
	r := do(t, "POST", a.URL()+"/whip/s", sdpType, golden(t, "obs-31-whip.sdp"))
	if r.Status != 201 {
		t.Fatal(r.Status)
	}
	p := do(t, "PATCH", a.URL()+r.Header.Get("Location"), "application/trickle-ice-sdpfrag", []byte("a=end-of-candidates\r\n"))
	if p.Status != 428 {
		t.Fatalf("PATCH without If-Match in strict mode = %d, want 428", p.Status)
	}
}

func TestConflictKeepsLivePublisherWhenPolicyNever(t *testing.T) {
	a := testutil.StartGateway(t, func(c *config.Config) { c.Replace = "never" })
	first := do(t, "POST", a.URL()+"/whip/s", sdpType, golden(t, "obs-31-whip.sdp"))
	if first.Status != 201 {
		t.Fatal(first.Status)
	}
	second := do(t, "POST", a.URL()+"/whip/s", sdpType, golden(t, "ffmpeg-8.0-whip.sdp"))
	if second.Status != 409 {
		t.Fatalf("second publisher = %d, want 409", second.Status)
	}
	if info, ok := a.Registry.Info("s"); !ok || info.Publisher == nil {
		t.Fatal("first publisher disturbed")
	}
}

// TestUnknownRoutes: what no route serves is refused in the gateway's
// problem+json shape too.
func TestUnknownRoutes(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/no/such/page", 404},
		{"POST", "/whip", 404},
	} {
		r := do(t, tc.method, a.URL()+tc.path, "", nil)
		if r.Status != tc.status || r.Header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(r.Body, `"status":`+strconv.Itoa(tc.status)) {
			t.Errorf("%s %s = %d %q %s", tc.method, tc.path, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	}
}
