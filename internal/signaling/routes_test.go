package signaling

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/wishgate/wishgate/streams"
)

// TestSlashNames: a name with '/' is one stream on every method, written
// plainly or with %2F, and its session resource cannot be taken for an
// endpoint or the other way round.
func TestSlashNames(t *testing.T) {
	_, e := limitsEdge(t, Limits{}, nil)
	offer := goldenOffer(t, "chromium-156-whep.sdp")
	for _, path := range []string{"/whep/site/cam1", "/whep/site%2Fcam1"} {
		rec := send(e, "POST", path, "", offer)
		if rec.Code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
		}
		loc := rec.Header().Get("Location")
		if !strings.HasPrefix(loc, "/whep/site/cam1/-/") || len(loc) < len("/whep/site/cam1/-/")+16 {
			t.Fatalf("POST %s: Location %q", path, loc)
		}
		for _, c := range []struct {
			method, path string
			want         int
		}{
			{"POST", loc, http.StatusMethodNotAllowed},                                         // a session is no endpoint
			{"PUT", loc, http.StatusMethodNotAllowed},                                          //
			{"DELETE", "/whep/site/cam1", http.StatusMethodNotAllowed},                         // an endpoint is no session
			{"DELETE", "/whep/site/-/" + loc[len("/whep/site/cam1/-/"):], http.StatusNotFound}, // another stream's
			{"DELETE", "/whip/site/cam1/-/" + loc[len("/whep/site/cam1/-/"):], http.StatusNotFound},
			{"OPTIONS", loc, http.StatusNoContent},
			{"DELETE", loc, http.StatusOK},
		} {
			r := send(e, c.method, c.path, "", nil)
			if r.Code != c.want {
				t.Errorf("%s %s: %d %s, want %d", c.method, c.path, r.Code, r.Body, c.want)
			}
			if c.method == "OPTIONS" && r.Header().Get("Accept-Patch") == "" {
				t.Errorf("OPTIONS %s answered as an endpoint: %v", c.path, r.Header())
			}
		}
	}
	if r := send(e, "OPTIONS", "/whep/site/cam1", "", nil); r.Header().Get("Accept-Post") != "application/sdp" {
		t.Errorf("OPTIONS on the endpoint: %v", r.Header())
	}
}

// TestBadNameSaysWhatIsValid: the 400 tells a client what a valid name is.
func TestBadNameSaysWhatIsValid(t *testing.T) {
	_, e := limitsEdge(t, Limits{}, nil)
	for _, path := range []string{"/whip/cam%201", "/whip/site//cam1", "/whip/site/", "/whep/-/x", "/whip/a/../b"} {
		rec := send(e, "POST", path, "", goldenOffer(t, "obs-31-whip.sdp"))
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != http.StatusBadRequest {
			t.Errorf("POST %s: %d %s (%v), want a 400 problem", path, rec.Code, rec.Body, err)
			continue
		}
		if !strings.Contains(p.Detail, streams.NameRule) {
			t.Errorf("POST %s: detail %q does not say what a valid name is", path, p.Detail)
		}
	}
}

// TestDeleteOnceConcurrent: of two DELETEs racing for one session, exactly
// one is answered 200 (RFC 9725 §4.3.1: the resource is then gone).
func TestDeleteOnceConcurrent(t *testing.T) {
	_, e := limitsEdge(t, Limits{}, nil)
	for range 20 {
		rec := send(e, "POST", "/whep/live", "", goldenOffer(t, "chromium-156-whep.sdp"))
		loc := rec.Header().Get("Location")
		got := make(chan int, 2)
		for range 2 {
			go func() { got <- send(e, "DELETE", loc, "", nil).Code }()
		}
		a, b := <-got, <-got
		if a+b != http.StatusOK+http.StatusNotFound {
			t.Fatalf("two DELETEs of %s: %d and %d, want one 200 and one 404", loc, a, b)
		}
	}
}
