package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Mount(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPages(t *testing.T) {
	srv := newServer(t)
	defer srv.Client().CloseIdleConnections()
	defer http.DefaultClient.CloseIdleConnections()
	cases := []struct {
		path, contains, ctype string
		embeddable            bool
	}{
		{"/", "dashboard.js", "text/html", false},
		{"/watch/cam1", "watch.js", "text/html", false},
		{"/watch/a.b_c~d-e", "watch.js", "text/html", false},
		{"/watch/site/cam1", "watch.js", "text/html", false},
		{"/watch/site%2Fcam1", "watch.js", "text/html", false},
		{"/publish/a/b/c", "publish.js", "text/html", false},
		{"/embed/site/cam1", "embed.js", "text/html", true},
		{"/publish/cam1", "publish.js", "text/html", false},
		{"/publish", "publish.js", "text/html", false},
		{"/embed/cam1", "embed.js", "text/html", true},
		{"/static/js/whep-player.js", "mungeStereoOpus", "text/javascript", false},
		{"/static/css/app.css", ".player", "text/css", false},
		{"/static/js/wishgate-player.js", "customElements.define", "text/javascript", false},
		{"/favicon.ico", "<svg", "image/svg+xml", false},
	}
	for _, c := range cases {
		resp, body := get(t, http.MethodGet, srv.URL+c.path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", c.path, resp.StatusCode)
			continue
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) {
			t.Errorf("%s: Content-Type %q, want %s", c.path, resp.Header.Get("Content-Type"), c.ctype)
		}
		if !strings.Contains(body, c.contains) {
			t.Errorf("%s: body lacks %q", c.path, c.contains)
		}
		if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: missing security headers: %v", c.path, resp.Header)
		}
		// Only scripts, styles and images may be used by other sites (the
		// web component); pages keep the same-origin default.
		if acao := resp.Header.Get("Access-Control-Allow-Origin"); (acao == "*") == (c.ctype == "text/html") {
			t.Errorf("%s: Access-Control-Allow-Origin %q", c.path, acao)
		}
		if c.ctype == "text/html" {
			csp := resp.Header.Get("Content-Security-Policy")
			wantAnc := "frame-ancestors 'none'"
			if c.embeddable {
				wantAnc = "frame-ancestors *"
			}
			if !strings.Contains(csp, wantAnc) || !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("%s: CSP %q lacks %q", c.path, csp, wantAnc)
			}
			if xfo := resp.Header.Get("X-Frame-Options"); (xfo == "") != c.embeddable {
				t.Errorf("%s: X-Frame-Options %q", c.path, xfo)
			}
		}
	}
}

func TestETagRevalidation(t *testing.T) {
	srv := newServer(t)
	defer http.DefaultClient.CloseIdleConnections()
	resp, _ := get(t, http.MethodGet, srv.URL+"/static/js/player-ui.js")
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q Cache-Control %q", etag, resp.Header.Get("Cache-Control"))
	}
	resp, body := get(t, http.MethodGet, srv.URL+"/static/js/player-ui.js", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("revalidation: status %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = get(t, http.MethodHead, srv.URL+"/watch/x")
	if resp.StatusCode != http.StatusOK || body != "" {
		t.Fatalf("HEAD: status %d, %d bytes", resp.StatusCode, len(body))
	}
}

func TestBadPaths(t *testing.T) {
	srv := newServer(t)
	defer http.DefaultClient.CloseIdleConnections()
	for _, p := range []string{
		"/watch/-leading-dash", "/watch/" + strings.Repeat("a", 129), "/embed/a%20b", "/publish/%2e%2e",
		"/watch/site/", "/watch/site/-/x", "/embed/site/_x",
		"/static/nope.js", "/static/../web.go", "/static/js/", "/nope",
	} {
		resp, _ := get(t, http.MethodGet, srv.URL+p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, resp.StatusCode)
		}
	}
	resp, _ := get(t, http.MethodPost, srv.URL+"/watch/x")
	if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /watch/x: status %d", resp.StatusCode)
	}
}

// TestPagesNameRule holds the pages' validName (page.js) to the gateway's
// rule: a name the form accepts is one every endpoint accepts.
func TestPagesNameRule(t *testing.T) {
	js, err := assets.ReadFile("assets/static/js/page.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`name\.length <= (\d+) && /(.+)/\.test\(name\)`).FindSubmatch(js)
	if m == nil {
		t.Fatal("page.js: validName not found")
	}
	maxLen, _ := strconv.Atoi(string(m[1]))
	re := regexp.MustCompile(strings.ReplaceAll(string(m[2]), `\/`, `/`))
	for _, name := range []string{"cam1", "site/cam1", "a/b/c", "a.b_c~d-e", "9/9", strings.Repeat("a", 128),
		strings.Repeat("a", 129), "", "/a", "a/", "a//b", "a/./b", "a/../b", "a/-/b", "-a", "_a", "a b", "a%2Fb", "é"} {
		js := len(name) <= maxLen && re.MatchString(name)
		if goOK := streams.ValidName(name) == nil; js != goOK {
			t.Errorf("%q: page.js says %v, the gateway %v", name, js, goOK)
		}
	}
}
