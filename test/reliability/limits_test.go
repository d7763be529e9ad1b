package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// refused POSTs an offer and checks a limit's refusal: status, Retry-After
// and a problem body.
func refused(t *testing.T, hc *http.Client, url string, offer []byte, status int) {
	t.Helper()
	resp, err := hc.Post(url, "application/sdp", bytes.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if resp.StatusCode != status {
		t.Fatalf("POST %s: %d, want %d", url, resp.StatusCode, status)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("POST %s: %d without Retry-After", url, status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.Status != status || p.Detail == "" {
		t.Errorf("POST %s: problem body %+v (%v)", url, p, err)
	}
}

// TestLimitsSpareRunningSessions: with the stream full (viewers per
// stream), the gateway full (streams) and newcomers hammering, every
// newcomer gets 503 + Retry-After while the viewers already watching keep
// receiving >= 99.9 % of the packets.
func TestLimitsSpareRunningSessions(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	gw := startGateway(t, func(c *config.Config) {
		c.MaxViewersPerStream = 2
		c.MaxStreams = 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := publish(t, ctx, gw, "live", client.SynthConfig{}, client.PublishOptions{})
	url := gw.URL() + "/whep/live"
	ws := []*watcher{watch(t, ctx, url, client.PlayOptions{}), watch(t, ctx, url, client.PlayOptions{})}
	for _, w := range ws {
		waitFor(t, ctx, "first picture", func() bool { _, _, _, _, _, seen := w.state(); return seen })
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	viewerOffer, pubOffer := golden(t, "chromium-156-whep.sdp"), golden(t, "obs-31-whip.sdp")
	start := src.lastFrame()
	n := 0
	for src.lastFrame() < start+150 && n < 2000 { // five seconds of newcomers
		refused(t, hc, url, viewerOffer, http.StatusServiceUnavailable)
		refused(t, hc, gw.URL()+"/whip/other", pubOffer, http.StatusServiceUnavailable)
		n++
	}
	src.halt()
	t.Logf("%d newcomers refused while the viewers watched", 2*n)
	checkReceived(t, ctx, src, ws, 0.999)
	if _, ok := gw.Registry.Info("other"); ok {
		t.Error("a refused publisher created a stream")
	}
}

// TestRateLimitSparesOthers: one client over its request rate gets 429 +
// Retry-After; the viewers already connected are unaffected.
func TestRateLimitSparesOthers(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	gw := startGateway(t, func(c *config.Config) {
		c.RateLimit, c.RateBurst = 2, 4
		c.RateLimitExempt = nil // the test's clients are all on loopback
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := publish(t, ctx, gw, "live", client.SynthConfig{}, client.PublishOptions{})
	url := gw.URL() + "/whep/live"
	ws := []*watcher{watch(t, ctx, url, client.PlayOptions{})}
	waitFor(t, ctx, "first picture", func() bool { _, _, _, _, _, seen := ws[0].state(); return seen })

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	offer := golden(t, "chromium-156-whep.sdp")
	limited := 0
	start := src.lastFrame()
	for i := 0; src.lastFrame() < start+90 && i < 5000; i++ {
		resp, err := hc.Post(url, "application/sdp", bytes.NewReader(offer))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			limited++
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		case http.StatusCreated:
			// within the rate: a session without media, ended by Close
		default:
			t.Fatalf("POST: %d", resp.StatusCode)
		}
	}
	src.halt()
	t.Logf("%d requests rate limited", limited)
	if limited == 0 {
		t.Fatal("nothing was rate limited")
	}
	checkReceived(t, ctx, src, ws, 0.999)
}
