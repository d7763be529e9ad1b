package signaling

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/streams"
)

// Secrets of the fuzzed edge: none may ever appear in a response.
const (
	fuzzPublishToken = "publish-secret-4f1c9b"
	fuzzReadToken    = "read-secret-8d2e77"
	fuzzTURNPass     = "turn-pass-c0ffee"
)

// fakeEndpoint answers every offer that parsed, without media: the fuzzer
// exercises the HTTP edge (headers, bodies, auth, preconditions), not pion.
type fakeEndpoint struct {
	action auth.Action
	peer   *rtc.Peer
}

func (e *fakeEndpoint) Action() auth.Action { return e.action }

func (e *fakeEndpoint) Kind() streams.SessionKind {
	if e.action == auth.ActionPublish {
		return streams.SessionWHIP
	}
	return streams.SessionWHEP
}

func (e *fakeEndpoint) Offer(req OfferRequest) (string, Resource, error) {
	if strings.Contains(req.Offer.SDP, "a=inactive") {
		return "", nil, rtc.ErrUnsupported
	}
	return "v=0\r\n", &fakeResource{peer: e.peer, done: make(chan struct{})}, nil
}

type fakeResource struct {
	peer *rtc.Peer
	once sync.Once
	done chan struct{}
}

func (r *fakeResource) Peer() *rtc.Peer       { return r.peer }
func (r *fakeResource) Done() <-chan struct{} { return r.done }
func (r *fakeResource) Close()                { r.once.Do(func() { close(r.done) }) }

// FuzzEdge sends arbitrary requests (method, path, Content-Type,
// Authorization, If-Match, Origin, body) to the WHIP/WHEP edge with tokens
// and a TURN credential configured, and one live session it may address.
// Every answer must be a 2xx/3xx/4xx (no 500: the stranger's input is at
// fault or fine), every error a problem+json whose status matches, and no
// response may carry a token or the TURN password unless that request was
// entitled to it (the 201 and OPTIONS Link headers of an authorised client).
func FuzzEdge(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "sdp", "*.sdp"))
	for i, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(0), "live", "application/sdp", "Bearer "+fuzzPublishToken, "", "", b)
		f.Add(uint8(i), "live", "application/sdp; charset=utf-8", "Bearer "+fuzzReadToken, "", "https://example.org", b)
	}
	frag := []byte("a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host\r\n")
	f.Add(uint8(2), "live", "application/trickle-ice-sdpfrag", "", `"x"`, "", frag)
	f.Add(uint8(2), "live", "application/trickle-ice-sdpfrag", "", "*", "", frag)
	f.Add(uint8(3), "live", "", "", "", "", []byte(nil))
	f.Add(uint8(4), "../x", "text/plain", "Basic Zm9v", "", "null", []byte("v=0"))
	f.Add(uint8(5), "live", "", "", "", "https://evil.example", []byte(nil))

	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = pc.Close() })
	peer := rtc.NewPeer(pc)
	s := New(Config{
		Tombstone:    1, // ended sessions vanish at once: the fuzzer makes many
		ICEServers:   []ICEServer{{URL: "turn:turn.example.net:3478", Username: "u", Credential: fuzzTURNPass}},
		AllowOrigins: []string{"https://example.org"},
		Auth: auth.NewStatic([]auth.Rule{{Glob: "*", Token: fuzzPublishToken}},
			[]auth.Rule{{Glob: "*", Token: fuzzReadToken}}),
	})
	f.Cleanup(s.Close)
	e := echo.New()
	s.Mount(e, "whip", &fakeEndpoint{action: auth.ActionPublish, peer: peer})
	s.Mount(e, "whep", &fakeEndpoint{action: auth.ActionRead, peer: peer})

	// One session the fuzzer can address by choosing the "session" paths.
	live := &fakeResource{peer: peer, done: make(chan struct{})}
	tk, _ := s.lim.admit("whip", "live")
	s.add("livesecret", "whip", streams.SessionWHIP, "live", live, OfferRequest{SessionID: "pub1"}, tk)

	methods := []string{"POST", "PATCH", "DELETE", "OPTIONS", "GET", "HEAD", "PUT"}
	f.Fuzz(func(t *testing.T, sel uint8, name, ctype, authz, ifMatch, origin string, body []byte) {
		method := methods[int(sel)%len(methods)]
		prefix := "whip"
		if sel&0x08 != 0 {
			prefix = "whep"
		}
		path := "/" + prefix + "/" + name
		if sel&0x10 != 0 {
			path += "/-/livesecret" // the live session (or, under whep, a foreign one)
		}
		if method == "DELETE" && sel&0x10 != 0 {
			return // keep the live session for the other inputs
		}
		req, err := http.NewRequest(method, "http://gw"+path, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		for k, v := range map[string]string{"Content-Type": ctype, "Authorization": authz, "If-Match": ifMatch, "Origin": origin} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		if sel&0x20 != 0 && origin != "" {
			req.Header.Set("Access-Control-Request-Method", "POST")
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		// Sessions the fuzzer created end now, so they do not pile up.
		if loc := rec.Header().Get("Location"); loc != "" {
			sec := loc[strings.LastIndexByte(loc, '/')+1:]
			s.mu.Lock()
			if en := s.sessions[sec]; en != nil {
				en.res.Close()
			}
			s.mu.Unlock()
		}

		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
		}
		// The edge's own errors are problems. Echo's router answers paths
		// outside the mounted patterns (an empty name, say) by itself, and
		// a refused CORS preflight has no body.
		routerMiss := rec.Header().Get("Content-Type") == echo.MIMEApplicationJSON &&
			(rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed)
		if rec.Code >= 400 && !routerMiss && rec.Body.Len() > 0 {
			var p Problem
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%s %s: %d with Content-Type %q", method, path, rec.Code, ct)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code {
				t.Fatalf("%s %s: %d with problem %q", method, path, rec.Code, rec.Body.String())
			}
		}
		var all strings.Builder
		all.Write(rec.Body.Bytes())
		for k, vs := range rec.Header() {
			if k == "Link" {
				continue // checked below
			}
			all.WriteString(strings.Join(vs, "\n"))
		}
		for _, sec := range []string{fuzzPublishToken, fuzzReadToken, fuzzTURNPass} {
			if strings.Contains(all.String(), sec) {
				t.Fatalf("%s %s: response carries a secret: %d %v %q", method, path, rec.Code, rec.Header(), rec.Body.String())
			}
		}
		if links := strings.Join(rec.Header().Values("Link"), ","); strings.Contains(links, fuzzTURNPass) {
			tok := auth.BearerToken(authz)
			if tok != fuzzPublishToken && tok != fuzzReadToken {
				t.Fatalf("%s %s: TURN credential given to a client without a token (%q)", method, path, authz)
			}
		}
	})
}
