package hostile

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// rtcpFBBomb is the offer: Chromium's WHEP offer with thousands of
// a=rtcp-fb lines (115 KB, under the 128 KiB body cap), in one of the
// shapes that made pion's codec map quadratic.
func rtcpFBBomb(t *testing.T, shape int) []byte {
	base := strings.ReplaceAll(string(golden(t, "chromium-156-whep.sdp")), "\r\n", "\n")
	video := strings.SplitN(base[strings.Index(base, "m=video"):], "\n", 2)[0]
	pts := strings.Fields(video)[3:]
	var b strings.Builder
	for i := 0; b.Len() < 108<<10; i++ {
		switch shape {
		case 0:
			fmt.Fprintf(&b, "a=rtcp-fb:96 x-%d\n", i)
		case 1:
			fmt.Fprintf(&b, "a=rtcp-fb:* x-%d\n", i)
		default:
			fmt.Fprintf(&b, "a=rtcp-fb:%s x-%d\n", pts[i%len(pts)], i)
		}
	}
	return []byte(strings.Replace(base, "a=mid:0\n", "a=mid:0\n"+b.String(), 1))
}

// TestRTCPFeedbackBomb: eight rtcp-fb bombs at once (each cost 1.4 s of
// CPU and was answered 500 when the negotiation deadline passed) are all
// answered at once with 400 naming the limit, never 500; an ordinary
// viewer right after them is served; the control viewer keeps its picture.
func TestRTCPFeedbackBomb(t *testing.T) {
	gw := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	a := newAttacker(t, gw)

	start := time.Now()
	var wg sync.WaitGroup
	results := make([]response, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = a.do("POST", "/whep/control", "application/sdp", rtcpFBBomb(t, i%3))
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for i, r := range results {
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "lines for payload type") && !strings.Contains(r.body, "attribute lines") {
			t.Errorf("bomb %d (%d bytes): %d %s", i, len(rtcpFBBomb(t, i%3)), r.status, r.body)
		}
	}
	t.Logf("eight rtcp-fb bombs answered in %v", took.Round(time.Millisecond))
	// A legitimate viewer right after is served as usual.
	r := a.do("POST", "/whep/control", "application/sdp", golden(t, "chromium-156-whep.sdp"))
	if r.status != http.StatusCreated {
		t.Fatalf("an ordinary viewer after the bombs: %d %s", r.status, r.body)
	}
	a.do("DELETE", r.header.Get("Location"), "", nil)
	ctl.check(t, 0.999)
}

// TestOfferSanity: offers that were once accepted with 201 and failed
// later — a mid used twice (WHEP accepted it, WHIP did not), a fingerprint
// of an unknown hash function, of garbage, or of the wrong length, an
// rtpmap with clock rate 0 — are refused at once, on WHIP and WHEP alike,
// with a problem saying what is wrong; the same offers unmodified are
// served.
func TestOfferSanity(t *testing.T) {
	gw := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	a := newAttacker(t, gw)
	fingerprint := regexp.MustCompile(`a=fingerprint:sha-256 \S+`)
	rtpmap := regexp.MustCompile(`(a=rtpmap:\d+ [A-Za-z0-9-]+)/90000`)
	for _, ep := range []struct{ path, offer string }{
		{"/whep/control", "chromium-156-whep.sdp"},
		{"/whip/sanity", "chromium-156-whip-h264-opus.sdp"},
	} {
		base := string(golden(t, ep.offer))
		for _, c := range []struct {
			what, offer string
			status      int
			detail      string
		}{
			{"a mid used twice", strings.Replace(base, "a=mid:1", "a=mid:0", 1), http.StatusUnprocessableEntity, "same mid"},
			{"an md5 fingerprint", fingerprint.ReplaceAllString(base, "a=fingerprint:md5 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"), http.StatusBadRequest, "md5"},
			{"a garbage fingerprint", fingerprint.ReplaceAllString(base, "a=fingerprint:sha-256 zz"), http.StatusBadRequest, "hex pairs"},
			{"a short fingerprint", fingerprint.ReplaceAllString(base, "a=fingerprint:sha-256 AB:CD"), http.StatusBadRequest, "hex pairs"},
			{"clock rate 0", rtpmap.ReplaceAllString(base, "$1/0"), http.StatusBadRequest, "clock rate"},
		} {
			if c.offer == base {
				t.Fatalf("%s %s: the offer was not changed", ep.path, c.what)
			}
			r := a.do("POST", ep.path, "application/sdp", []byte(c.offer))
			if r.status != c.status || r.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(r.body, c.detail) {
				t.Errorf("%s with %s: %d %q %s; want %d naming %q", ep.path, c.what, r.status, r.header.Get("Content-Type"), r.body, c.status, c.detail)
			}
		}
		r := a.do("POST", ep.path, "application/sdp", []byte(base))
		if r.status != http.StatusCreated {
			t.Fatalf("%s with the unmodified offer: %d %s", ep.path, r.status, r.body)
		}
		a.do("DELETE", r.header.Get("Location"), "", nil)
	}
	ctl.check(t, 0.999)
}
