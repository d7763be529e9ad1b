package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wishgate/wishgate/internal/client"
)

// A full cluster node answers 307; the load tool's viewer follows it with
// its token and takes the session URL from the node that answered.
func TestPostSDPFollowsRedirect(t *testing.T) {
	// Another host (127.0.0.2): net/http drops Authorization on the way.
	b := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tk" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Location", "/whep/s/secret")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("v=0 answer"))
	}))
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	b.Listener.Close()
	b.Listener = ln
	b.Start()
	defer b.Close()
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", b.URL+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer a.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: client.RedirectPolicy("tk")}
	answer, loc, _, err := postSDP(context.Background(), hc, a.URL+"/whep/s", "tk", "v=0 offer")
	if err != nil {
		t.Fatal(err)
	}
	if answer != "v=0 answer" || loc != b.URL+"/whep/s/secret" {
		t.Fatalf("answer %q, location %q; want the session on %s", answer, loc, b.URL)
	}
}
