package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/config"
)

// rssBytes is this process's resident set size (the gateway runs in it).
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// peaks samples the goroutine count and RSS until stopped.
type peaks struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	g    int
	rss  int64
}

func samplePeaks(t *testing.T) *peaks {
	p := &peaks{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			g, r := runtime.NumGoroutine(), rssBytes(t)
			p.mu.Lock()
			p.g, p.rss = max(p.g, g), max(p.rss, r)
			p.mu.Unlock()
			select {
			case <-tick.C:
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

func (p *peaks) end() (int, int64) {
	close(p.stop)
	<-p.done
	return p.g, p.rss
}

// loopbackCandidates are n distinct host candidates on 127.x.y.z (allowed:
// the media socket is on loopback), starting at the n-th address of base.
func loopbackCandidates(base, n int) []string {
	out := make([]string, n)
	for i := range out {
		k := base + i
		out[i] = fmt.Sprintf("candidate:%d 1 udp 2122260223 127.1.%d.%d %d typ host generation 0",
			k, k>>8&0xff, k&0xff, 10000+k%50000)
	}
	return out
}

func fragment(cands []string) []byte {
	var b strings.Builder
	b.WriteString("m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n")
	for _, c := range cands {
		b.WriteString("a=" + c + "\r\n")
	}
	return []byte(b.String())
}

// TestTrickleFlood: one viewer session, then PATCH after PATCH of hundreds
// of candidates. The session holds at most max_remote_candidates; a PATCH
// past it is refused whole with 422 naming the limit; the gateway's
// goroutines and memory stay where they were; the session still ends at
// its ICE timeout (nobody answers its checks); the control viewer on
// another stream loses nothing.
func TestTrickleFlood(t *testing.T) {
	gw := startGateway(t, func(c *config.Config) {
		c.RTSPAddr = ""
		// Long enough for the flood on a loaded machine, short enough to
		// see the session end.
		c.ICEDisconnectedTimeout = 5 * time.Second
		c.ICEFailedTimeout = 15 * time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	target := publish(t, ctx, gw, "target")
	defer target.Close()

	a := newAttacker(t, gw)
	r := a.do("POST", "/whep/target", "application/sdp", golden(t, "chromium-156-whep.sdp"))
	if r.status != http.StatusCreated {
		t.Fatalf("attacker's viewer: %d %s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	posted := time.Now()
	patch := func(cands []string) response {
		return a.do("PATCH", loc, "application/trickle-ice-sdpfrag", fragment(cands))
	}

	runtime.GC()
	baseG, baseRSS := runtime.NumGoroutine(), rssBytes(t)
	p := samplePeaks(t)

	// Up to the limit (32 by default) in small PATCHes, each 204.
	for i := 0; i < 4; i++ {
		if r := patch(loopbackCandidates(8*i, 8)); r.status != http.StatusNoContent {
			t.Fatalf("PATCH %d within the limit: %d %s", i, r.status, r.body)
		}
	}
	// The same ones again: duplicates, nothing new, 204.
	if r := patch(loopbackCandidates(0, 32)); r.status != http.StatusNoContent {
		t.Fatalf("PATCH of known candidates: %d %s", r.status, r.body)
	}
	// One more: 422, a problem naming the limit.
	r = patch(loopbackCandidates(32, 1))
	var prob struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if r.status != http.StatusUnprocessableEntity || r.header.Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal([]byte(r.body), &prob) != nil || prob.Status != 422 || !strings.Contains(prob.Detail, "max_remote_candidates") {
		t.Fatalf("PATCH past the limit: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	// The flood: 100 PATCHes of 510 new candidates each.
	start := time.Now()
	for i := 0; i < 100; i++ {
		if r := patch(loopbackCandidates(1000+510*i, 510)); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("flood PATCH %d: %d %s", i, r.status, r.body)
		}
	}
	flood := time.Since(start)
	peakG, peakRSS := p.end()
	t.Logf("100 PATCHes of 510 candidates in %v; goroutines %d -> peak %d, RSS %d -> peak %d MiB",
		flood.Round(time.Millisecond), baseG, peakG, baseRSS>>20, peakRSS>>20)
	// Without the limit this was ~45 000 goroutines and +200 MB. The bound
	// leaves room for the 32 candidates' short-lived pion goroutines, the
	// HTTP connection's and the test's own.
	if peakG > baseG+64 {
		t.Errorf("goroutines peaked at %d, baseline %d", peakG, baseG)
	}
	if peakRSS > baseRSS+64<<20 {
		t.Errorf("RSS peaked at %d MiB, baseline %d MiB", peakRSS>>20, baseRSS>>20)
	}

	// Nobody answers the session's checks: it ends at its ICE timeout
	// (5 s + 15 s here) by itself, without a DELETE.
	ended, cancelEnded := context.WithDeadline(ctx, posted.Add(40*time.Second))
	defer cancelEnded()
	waitFor(t, ended, "the attacked session to end at its ICE timeout", func() bool {
		return patch(nil).status == http.StatusNotFound
	})
	t.Logf("the attacked session ended %v after its POST", time.Since(posted).Round(100*time.Millisecond))
	ctl.check(t, 0.999)
}
