package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/api"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

type sourceStatus struct {
	Name      string     `json:"name"`
	URL       string     `json:"url"`
	OnDemand  bool       `json:"on_demand"`
	Transport string     `json:"transport"`
	State     string     `json:"state"`
	Since     *time.Time `json:"since"`
	LastError string     `json:"last_error"`
}

// sourcesAPI serves the API with a real bridge.Sources on loopback.
func sourcesAPI(t *testing.T) string {
	t.Helper()
	reg := streams.NewRegistry(streams.DefaultConfig())
	srcs := bridge.NewSources(bridge.SourcesConfig{Registry: reg, BackoffBase: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
	e := echo.New()
	api.New(api.Config{Registry: reg, Sources: srcs}).Mount(e)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		srv.Close()
		srcs.Close()
		reg.Close()
	})
	return srv.URL
}

// TestSourcesCRUD: create, replace, list, delete a camera at run time, and
// every kind of bad request. The camera URL points at a closed port, so the
// source keeps retrying and its stream shows as reconnecting.
func TestSourcesCRUD(t *testing.T) {
	url := sourcesAPI(t)
	json := []string{"Content-Type", "application/json"}
	camera := "rtsp://admin:hunter2@127.0.0.1:1/stream1"

	r := call(t, "PUT", url+"/api/v1/sources/door", []byte(`{"url":"`+camera+`","transport":"tcp"}`), json...)
	if r.Status != 201 || r.Header.Get("Location") != "/api/v1/sources/door" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "hunter2") {
		t.Fatalf("camera password in the answer: %s", r.Body)
	}
	created := decode[sourceStatus](t, r)
	if created.Name != "door" || created.Transport != "tcp" || created.OnDemand || !strings.Contains(created.URL, "***") {
		t.Errorf("created: %+v", created)
	}
	eventually(t, 5*time.Second, "the stream reconnecting", func() bool {
		r := call(t, "GET", url+"/api/v1/streams/door", nil)
		return r.Status == 200 && decode[stream](t, r).State == "reconnecting"
	})
	all := decode[struct{ Items []stream }](t, call(t, "GET", url+"/api/v1/streams", nil))
	if len(all.Items) != 1 || all.Items[0].Source == nil || all.Items[0].Source.Kind != "rtsp-source" {
		t.Errorf("stream list with a reconnecting camera: %+v", all)
	}

	r = call(t, "PUT", url+"/api/v1/sources/door", []byte(`{"url":"`+camera+`","on_demand":true}`), json...)
	if r.Status != 200 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	if st := decode[sourceStatus](t, r); !st.OnDemand || st.Transport != "auto" {
		t.Errorf("replaced: %+v", st)
	}
	eventually(t, 5*time.Second, "the on-demand stream idle", func() bool {
		r := call(t, "GET", url+"/api/v1/streams/door", nil)
		return r.Status == 200 && decode[stream](t, r).State == "idle"
	})
	list := decode[struct{ Items []sourceStatus }](t, call(t, "GET", url+"/api/v1/sources", nil))
	if len(list.Items) != 1 || list.Items[0].Name != "door" || strings.Contains(list.Items[0].URL, "hunter2") {
		t.Fatalf("list: %+v", list)
	}
	if got := decode[sourceStatus](t, call(t, "GET", url+"/api/v1/sources/door", nil)); got.Name != "door" {
		t.Errorf("get: %+v", got)
	}

	for _, tc := range []struct {
		name, ctype, body string
		status            int
		detail            string
	}{
		{"not JSON", "text/plain", `{"url":"` + camera + `"}`, 415, "application/json"},
		{"syntax", "application/json", `{"url":`, 400, "malformed"},
		{"unknown key", "application/json", `{"url":"` + camera + `","ondemand":true}`, 400, `"ondemand"`},
		{"no url", "application/json", `{"on_demand":true}`, 400, `"url" is required`},
		{"scheme", "application/json", `{"url":"http://cam/x"}`, 422, "rtsp or rtsps"},
		{"transport", "application/json", `{"url":"` + camera + `","transport":"carrier-pigeon"}`, 422, "transport"},
		{"fingerprint on rtsp", "application/json", `{"url":"` + camera + `","fingerprint":"` + strings.Repeat("ab", 32) + `"}`, 422, "rtsps"},
		{"bad fingerprint", "application/json", `{"url":"rtsps://127.0.0.1:1/x","fingerprint":"abc"}`, 422, "SHA-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "PUT", url+"/api/v1/sources/door", []byte(tc.body), "Content-Type", tc.ctype)
			wantProblem(t, r, tc.status, tc.detail)
			if strings.Contains(string(r.Body), "hunter2") {
				t.Errorf("password in the problem: %s", r.Body)
			}
		})
	}
	wantProblem(t, call(t, "PUT", url+"/api/v1/sources/bad%20name", []byte(`{"url":"`+camera+`"}`), json...), 400, streams.NameRule)
	wantProblem(t, call(t, "GET", url+"/api/v1/sources/site/", nil), 400, streams.NameRule)
	wantProblem(t, call(t, "DELETE", url+"/api/v1/streams/-x", nil), 400, streams.NameRule)

	// Names with '/' (site/cam1), written plainly or with %2F.
	if r := call(t, "PUT", url+"/api/v1/sources/site/cam1", []byte(`{"url":"`+camera+`"}`), json...); r.Status != 201 ||
		r.Header.Get("Location") != "/api/v1/sources/site/cam1" {
		t.Fatalf("PUT site/cam1: %d %v %s", r.Status, r.Header, r.Body)
	}
	for _, p := range []string{"/api/v1/sources/site/cam1", "/api/v1/sources/site%2Fcam1", "/api/v1/streams/site/cam1"} {
		if r := call(t, "GET", url+p, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"name":"site/cam1"`) {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	if r := call(t, "DELETE", url+"/api/v1/sources/site/cam1", nil); r.Status != 204 {
		t.Fatalf("DELETE site/cam1: %d %s", r.Status, r.Body)
	}

	// An rtsps:// camera pinned by its certificate's fingerprint.
	pinned := `{"url":"rtsps://127.0.0.1:1/x","fingerprint":"` + strings.Repeat("AB:", 31) + `AB"}`
	if r := call(t, "PUT", url+"/api/v1/sources/tls", []byte(pinned), json...); r.Status != 201 {
		t.Fatalf("pinned rtsps source: %d %s", r.Status, r.Body)
	}
	if r := call(t, "DELETE", url+"/api/v1/sources/tls", nil); r.Status != 204 {
		t.Fatalf("delete tls: %d %s", r.Status, r.Body)
	}

	if r := call(t, "DELETE", url+"/api/v1/sources/door", nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	wantProblem(t, call(t, "DELETE", url+"/api/v1/sources/door", nil), 404, "not found")
	wantProblem(t, call(t, "GET", url+"/api/v1/sources/door", nil), 404, "no such source")
	wantProblem(t, call(t, "GET", url+"/api/v1/streams/door", nil), 404, "no such stream")
}

// TestSourceLive: a camera added over the API at run time goes live, shows
// as an rtsp-source with its password masked, and plays over WHEP. The
// "camera" is another gateway's RTSP server, guarded by a read token.
func TestSourceLive(t *testing.T) {
	camera := testutil.StartGateway(t, func(c *config.Config) { c.ReadTokens = []string{"cam-pass"} })
	publish(t, camera, "cam")
	a := testutil.StartGateway(t, nil)
	url := "rtsp://viewer:cam-pass@" + camera.RTSPAddr().String() + "/cam"

	r := call(t, "PUT", a.URL()+"/api/v1/sources/door", []byte(`{"url":"`+url+`","transport":"tcp"}`), "Content-Type", "application/json")
	if r.Status != 201 {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	var s stream
	eventually(t, 15*time.Second, "the camera stream live", func() bool {
		r := call(t, "GET", a.URL()+"/api/v1/streams/door", nil)
		if r.Status != 200 {
			return false
		}
		if strings.Contains(string(r.Body), "cam-pass") {
			t.Fatalf("camera password in the stream view: %s", r.Body)
		}
		s = decode[stream](t, r)
		return s.State == "live" && len(s.Tracks) > 0 && s.Tracks[0].Packets > 0
	})
	if s.Source == nil || s.Source.Kind != "rtsp-source" || s.Source.SessionID == "" {
		t.Errorf("source %+v", s.Source)
	}
	withURL := decode[struct {
		Source struct {
			URL string `json:"url"`
		} `json:"source"`
	}](t, call(t, "GET", a.URL()+"/api/v1/streams/door", nil))
	if !strings.HasPrefix(withURL.Source.URL, "rtsp://viewer:***@") {
		t.Errorf("source url %q, want the password masked", withURL.Source.URL)
	}
	if st := decode[sourceStatus](t, call(t, "GET", a.URL()+"/api/v1/sources/door", nil)); st.State != "playing" {
		t.Errorf("source state %q", st.State)
	}
	play(t, a, "door")
	if _, ok := listSessions(t, a.URL())["rtsp-source"]; !ok {
		t.Error("the camera pull is not in the session list")
	}

	if r := call(t, "DELETE", a.URL()+"/api/v1/sources/door", nil); r.Status != 204 {
		t.Fatalf("DELETE: %d", r.Status)
	}
	eventually(t, 15*time.Second, "the camera stream gone or waiting", func() bool {
		r := call(t, "GET", a.URL()+"/api/v1/streams/door", nil)
		return r.Status == 404 || decode[stream](t, r).State == "waiting"
	})
}
