package reliability

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// TestBadRequestsDisturbNothing: a stream of malformed and hostile requests
// (garbage and oversized SDP, wrong types, bad names, broken and stale
// PATCHes, unknown sessions) each gets its precise 4xx while a live
// stream's viewers keep receiving >= 99.9 % of the packets.
func TestBadRequestsDisturbNothing(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	gw := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := publish(t, ctx, gw, "live", client.SynthConfig{}, client.PublishOptions{})
	ws := []*watcher{watch(t, ctx, gw.URL()+"/whep/live", client.PlayOptions{}), watch(t, ctx, gw.URL()+"/whep/live", client.PlayOptions{})}
	for _, w := range ws {
		waitFor(t, ctx, "first picture", func() bool { _, _, _, _, _, seen := w.state(); return seen })
	}
	// One of the viewers' own session URL, for the stale/broken PATCHes.
	own := ws[0].Location()

	offer := string(golden(t, "chromium-156-whep.sdp"))
	cases := []struct {
		method, path, ctype, body string
		hdr                       []string
		want                      int
	}{
		{"POST", "/whep/live", "application/sdp", "v=0\r\ngarbage", nil, 400},
		{"POST", "/whep/live", "application/sdp", "hello", nil, 400},
		{"POST", "/whep/live", "application/sdp", strings.Replace(offer, "a=ice-ufrag", "a=x-ufrag", -1), nil, 400},
		{"POST", "/whep/live", "application/sdp", "v=0\r\n" + strings.Repeat("a=x:y\r\n", 40000), nil, 413},
		{"POST", "/whep/live", "text/plain", offer, nil, 415},
		{"POST", "/whep/live", "", offer, nil, 415},
		{"POST", "/whep/..%2f..", "application/sdp", offer, nil, 400},
		{"POST", "/whep/nosuchstream", "application/sdp", offer, nil, 409},
		{"POST", "/whep/live", "application/sdp", strings.Replace(offer, "a=recvonly", "a=sendonly", -1), nil, 422},
		{"PATCH", own, "application/trickle-ice-sdpfrag", "not sdp at all", nil, 400},
		{"PATCH", own, "application/trickle-ice-sdpfrag", "a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n", []string{"If-Match", `"stale"`}, 412},
		{"PATCH", own, "application/sdp", "v=0\r\n", nil, 415},
		{"PATCH", "/whep/live/-/" + strings.Repeat("f", 32), "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", nil, 404},
		{"DELETE", "/whep/live/-/" + strings.Repeat("0", 32), "", "", nil, 404},
		{"PUT", "/whep/live", "application/sdp", offer, nil, 405},
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	start := src.lastFrame()
	rounds := 0
	for src.lastFrame() < start+120 && rounds < 1000 { // four seconds of it
		for _, c := range cases {
			url := c.path
			if !strings.HasPrefix(url, "http") {
				url = gw.URL() + url
			}
			req, err := http.NewRequest(c.method, url, bytes.NewReader([]byte(c.body)))
			if err != nil {
				t.Fatal(err)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			for i := 0; i+1 < len(c.hdr); i += 2 {
				req.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("%s %s (%.40q): %d, want %d", c.method, c.path, c.body, resp.StatusCode, c.want)
			}
			if c.want != 404 && c.want != 405 && resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s: %d without a problem body", c.method, c.path, c.want)
			}
		}
		rounds++
	}
	src.halt()
	t.Logf("%d rounds of %d bad requests", rounds, len(cases))
	checkReceived(t, ctx, src, ws, 0.999)
}
