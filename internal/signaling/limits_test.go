package signaling

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/rtc"
)

// limitsEdge is an edge with fake endpoints (no media): the limits are the
// HTTP edge's business, tested here; test/reliability checks them against
// real peers.
func limitsEdge(t *testing.T, lim Limits, block chan struct{}) (*Server, *echo.Echo) {
	t.Helper()
	s := New(Config{Tombstone: time.Millisecond, Limits: lim})
	t.Cleanup(s.Close)
	e := echo.New()
	s.Mount(e, "whip", &blockingEndpoint{fakeEndpoint{action: auth.ActionPublish, peer: rtc.NewPeer(nil)}, block})
	s.Mount(e, "whep", &blockingEndpoint{fakeEndpoint{action: auth.ActionRead, peer: rtc.NewPeer(nil)}, block})
	return s, e
}

// blockingEndpoint holds each Offer until block is closed (nil: never holds).
type blockingEndpoint struct {
	fakeEndpoint
	block chan struct{}
}

func (b *blockingEndpoint) Offer(req OfferRequest) (string, Resource, error) {
	if b.block != nil {
		select {
		case <-b.block:
		case <-req.Context.Done():
			return "", nil, req.Context.Err()
		}
	}
	return b.fakeEndpoint.Offer(req)
}

func goldenOffer(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func send(e *echo.Echo, method, path, remote string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/sdp")
	}
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// wantLimited checks a refusal: status, Retry-After and a problem body
// naming the limit.
func wantLimited(t *testing.T, rec *httptest.ResponseRecorder, status int, detail string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body.String(), status)
	}
	if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != status || !strings.Contains(p.Detail, detail) {
		t.Errorf("problem %q, want status %d mentioning %q", rec.Body.String(), status, detail)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
}

// waitFor polls cond until it holds or the deadline passes (the limiter's
// slot is released by the session's own goroutine, asynchronously).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func TestMaxSessions(t *testing.T) {
	s, e := limitsEdge(t, Limits{MaxSessions: 2}, nil)
	offer := goldenOffer(t, "chromium-156-whep.sdp")
	var locs []string
	for i := range 2 {
		rec := send(e, "POST", "/whep/live", "", offer)
		if rec.Code != http.StatusCreated {
			t.Fatalf("POST %d: %d %s", i, rec.Code, rec.Body.String())
		}
		locs = append(locs, rec.Header().Get("Location"))
	}
	wantLimited(t, send(e, "POST", "/whep/other", "", offer), http.StatusServiceUnavailable, "sessions")
	wantLimited(t, send(e, "POST", "/whip/cam", "", goldenOffer(t, "obs-31-whip.sdp")), http.StatusServiceUnavailable, "sessions")
	// The existing sessions are untouched: DELETE works, and frees a slot.
	if rec := send(e, "DELETE", locs[0], "", nil); rec.Code != http.StatusOK {
		t.Fatalf("DELETE: %d", rec.Code)
	}
	waitFor(t, "the slot to be released", func() bool {
		s.lim.mu.Lock()
		defer s.lim.mu.Unlock()
		return s.lim.sessions == 1
	})
	if rec := send(e, "POST", "/whep/other", "", offer); rec.Code != http.StatusCreated {
		t.Fatalf("POST after DELETE: %d %s", rec.Code, rec.Body.String())
	}
}

func TestMaxViewersPerStream(t *testing.T) {
	_, e := limitsEdge(t, Limits{MaxViewersPerStream: 1}, nil)
	offer := goldenOffer(t, "chromium-156-whep.sdp")
	if rec := send(e, "POST", "/whep/a", "", offer); rec.Code != http.StatusCreated {
		t.Fatalf("first viewer: %d", rec.Code)
	}
	wantLimited(t, send(e, "POST", "/whep/a", "", offer), http.StatusServiceUnavailable, "viewers")
	if rec := send(e, "POST", "/whep/b", "", offer); rec.Code != http.StatusCreated {
		t.Fatalf("viewer of another stream: %d", rec.Code)
	}
	// Publishers are not viewers.
	if rec := send(e, "POST", "/whip/a", "", goldenOffer(t, "obs-31-whip.sdp")); rec.Code != http.StatusCreated {
		t.Fatalf("publisher: %d", rec.Code)
	}
}

func TestMaxStreams(t *testing.T) {
	existing := map[string]bool{"cam1": true}
	_, e := limitsEdge(t, Limits{
		MaxStreams:  1,
		StreamCount: func() int { return len(existing) },
		HasStream:   func(n string) bool { return existing[n] },
	}, nil)
	offer := goldenOffer(t, "obs-31-whip.sdp")
	wantLimited(t, send(e, "POST", "/whip/cam2", "", offer), http.StatusServiceUnavailable, "streams")
	// Republishing an existing stream (a reconnecting encoder) is allowed.
	if rec := send(e, "POST", "/whip/cam1", "", offer); rec.Code != http.StatusCreated {
		t.Fatalf("republish: %d %s", rec.Code, rec.Body.String())
	}
}

func TestMaxPendingOffers(t *testing.T) {
	block := make(chan struct{})
	s, e := limitsEdge(t, Limits{MaxPendingOffers: 1, OfferQueueWait: 50 * time.Millisecond}, block)
	offer := goldenOffer(t, "chromium-156-whep.sdp")
	first := make(chan *httptest.ResponseRecorder, 1)
	go func() { first <- send(e, "POST", "/whep/live", "", offer) }()
	// The first POST holds the only slot while blocked in Offer.
	waitFor(t, "the first offer to hold the slot", func() bool { return len(s.lim.pending) == 1 })
	start := time.Now()
	rec := send(e, "POST", "/whep/live", "", offer)
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("refused after %v, before OfferQueueWait", waited)
	}
	wantLimited(t, rec, http.StatusServiceUnavailable, "negotiated")
	close(block)
	if r := <-first; r.Code != http.StatusCreated {
		t.Fatalf("first POST: %d %s", r.Code, r.Body.String())
	}
	if r := send(e, "POST", "/whep/live", "", offer); r.Code != http.StatusCreated {
		t.Fatalf("POST once the slot is free: %d", r.Code)
	}
}

func TestRateLimitPerClient(t *testing.T) {
	s, e := limitsEdge(t, Limits{Rate: 0.5, Burst: 2, MaxTrackedClients: 8,
		RateExempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, nil)
	offer := goldenOffer(t, "chromium-156-whep.sdp")
	for i := range 2 {
		if rec := send(e, "POST", "/whep/live", "192.0.2.7:1000", offer); rec.Code != http.StatusCreated {
			t.Fatalf("POST %d within the burst: %d", i, rec.Code)
		}
	}
	rec := send(e, "POST", "/whep/live", "192.0.2.7:1001", offer)
	wantLimited(t, rec, http.StatusTooManyRequests, "too many requests")
	if ra := rec.Header().Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q, want 2 (one token at 0.5/s)", ra)
	}
	// PATCH and DELETE count too; GET and OPTIONS do not.
	wantLimited(t, send(e, "DELETE", "/whep/live/-/nosuch", "192.0.2.7:1002", nil), http.StatusTooManyRequests, "too many")
	if rec := send(e, "OPTIONS", "/whep/live", "192.0.2.7:1003", nil); rec.Code != http.StatusNoContent {
		t.Errorf("OPTIONS: %d", rec.Code)
	}
	// Other clients and exempt addresses are unaffected; an IPv6 /64 is
	// one client.
	if rec := send(e, "POST", "/whep/live", "192.0.2.8:1000", offer); rec.Code != http.StatusCreated {
		t.Errorf("other client: %d", rec.Code)
	}
	for i := range 5 {
		if rec := send(e, "POST", "/whep/live", "127.0.0.1:1000", offer); rec.Code != http.StatusCreated {
			t.Fatalf("exempt POST %d: %d", i, rec.Code)
		}
	}
	for i, a := range []string{"[2001:db8::1]:1", "[2001:db8::2]:1", "[2001:db8::3]:1"} {
		rec := send(e, "POST", "/whep/live", a, offer)
		if want := map[bool]int{true: http.StatusCreated, false: http.StatusTooManyRequests}[i < 2]; rec.Code != want {
			t.Errorf("%s: %d, want %d", a, rec.Code, want)
		}
	}
	// An address sweep cannot grow the limiter beyond its bound.
	for i := range 100 {
		send(e, "DELETE", "/whep/live/-/nosuch", netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String()+":1", nil)
	}
	s.lim.mu.Lock()
	n := len(s.lim.clients)
	s.lim.mu.Unlock()
	if n > 8 {
		t.Errorf("limiter tracks %d clients, bound 8", n)
	}
}

// TestPOSTRacingClose: a POST whose negotiation ends after Close started
// gets 503, and its session is closed rather than left behind.
func TestPOSTRacingClose(t *testing.T) {
	block := make(chan struct{})
	s, e := limitsEdge(t, Limits{}, block)
	got := make(chan *httptest.ResponseRecorder, 1)
	go func() { got <- send(e, "POST", "/whep/live", "", goldenOffer(t, "chromium-156-whep.sdp")) }()
	waitFor(t, "the POST to be negotiating", func() bool {
		s.lim.mu.Lock()
		defer s.lim.mu.Unlock()
		return s.lim.sessions == 1
	})
	s.Close()
	close(block)
	rec := <-got
	wantLimited(t, rec, http.StatusServiceUnavailable, "shutting down")
	if n := s.Count(); n != 0 {
		t.Fatalf("%d sessions left after Close", n)
	}
}

// TestICERestartTakesAnOfferSlot: a PATCH with new ICE credentials gathers
// like a POST, so it waits for a pending-offer slot and gets 503 when none
// frees; a plain trickle PATCH does not need one.
func TestICERestartTakesAnOfferSlot(t *testing.T) {
	s, e := limitsEdge(t, Limits{MaxPendingOffers: 1, OfferQueueWait: 50 * time.Millisecond}, nil)
	offer := goldenOffer(t, "chromium-156-whep.sdp")
	rec := send(e, "POST", "/whep/live", "", offer)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST: %d", rec.Code)
	}
	loc := rec.Header().Get("Location")
	// Occupy the only slot.
	release, err := s.lim.negotiating(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	patch := func(frag string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("PATCH", loc, strings.NewReader(frag))
		req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
		req.Header.Set("If-Match", "*")
		r := httptest.NewRecorder()
		e.ServeHTTP(r, req)
		return r
	}
	wantLimited(t, patch("a=ice-ufrag:new1\r\na=ice-pwd:newnewnewnewnewnewnewnew\r\n"), http.StatusServiceUnavailable, "negotiated")
	if r := patch("a=end-of-candidates\r\n"); r.Code != http.StatusNoContent {
		t.Fatalf("trickle PATCH with no slot free: %d %s", r.Code, r.Body.String())
	}
}
