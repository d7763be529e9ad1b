// Package soak churns thousands of WHEP sessions against a live stream,
// with real pion viewers among them and a publisher coming and going on a
// second stream, then checks that the gateway returns to its baseline:
// goroutines, heap, UDP/TCP sockets, sessions. Bounded: 45 s of churn by
// default (WISHGATE_SOAK sets another duration, e.g. 10m, for a manual run).
package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Tolerances of "back to baseline".
const (
	goroutineSlack = 8
	heapSlack      = 8 << 20 // measured: +3.9 MiB whether 1400 or 4000 sessions churned
)

type snapshot struct {
	goroutines int
	heap       uint64 // HeapAlloc after two GCs
	sockets    int    // /proc/self/fd entries that are sockets
}

func measure(t *testing.T) snapshot {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return snapshot{goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc, sockets: countSockets(t)}
}

func countSockets(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

func (s snapshot) String() string {
	return fmt.Sprintf("%d goroutines, heap %.1f MiB, %d sockets", s.goroutines, float64(s.heap)/(1<<20), s.sockets)
}

func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("WISHGATE_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("WISHGATE_SOAK=%q: %v", v, err)
		}
		return d
	}
	return 45 * time.Second
}

type counters struct {
	created, deleted, patched, notLive, realViewers, publishes atomic.Uint64
}

func TestSoak(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	if testing.Short() {
		t.Skip("soak: not in -short")
	}
	cfg := testutil.LoopbackConfig()
	cfg.RTSPAddr = ""
	cfg.GracePeriod = time.Second
	gw, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), soakDuration(t)+3*time.Minute)
	defer cancel()

	// The live stream every viewer plays; it stays up the whole test.
	live := startSource(t, ctx, gw.URL()+"/whip/live")
	defer live.close()

	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	hc := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	offer := golden(t, "chromium-156-whep.sdp")
	frag := "a=ice-ufrag:soak\r\na=ice-pwd:soaksoaksoaksoaksoaksoak\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"

	// Warm up once (pools, lazily built state), then take the baseline.
	var c counters
	if err := churnOnce(t, hc, gw.URL(), offer, frag, "live", 0, &c); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	tr.CloseIdleConnections()
	waitSessions(t, ctx, hc, gw.URL(), 1) // the live publisher
	base := measure(t)
	t.Logf("baseline: %v", base)

	// Churn.
	churn, stopChurn := context.WithTimeout(ctx, soakDuration(t))
	defer stopChurn()
	var wg sync.WaitGroup
	var failures atomic.Uint64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	for w := range 6 { // signaling-only WHEP sessions: POST, sometimes PATCH, DELETE
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; churn.Err() == nil && i < 1_000_000; i++ {
				stream := "live"
				if i%5 == 4 {
					stream = "churn" // live or not, depending on its publisher
				}
				if err := churnOnce(t, hc, gw.URL(), offer, frag, stream, w*1_000_000+i, &c); err != nil {
					fail("%v", err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // real pion viewers: play until media arrives, then leave
		defer wg.Done()
		for i := 0; churn.Err() == nil && i < 100_000; i++ {
			vctx, stop := context.WithTimeout(churn, 10*time.Second)
			v, err := client.Play(vctx, gw.URL()+"/whep/live", client.PlayOptions{})
			if err != nil {
				stop()
				if churn.Err() == nil {
					fail("real viewer %d: %v", i, err)
				}
				return
			}
			err = v.WaitPackets(vctx, webrtc.RTPCodecTypeVideo, 10)
			stop()
			if cerr := v.Close(); err == nil {
				err = cerr
			}
			if err != nil && churn.Err() == nil {
				fail("real viewer %d: %v", i, err)
				return
			}
			c.realViewers.Add(1)
		}
	}()
	wg.Add(1)
	go func() { // a publisher coming and going on "churn"
		defer wg.Done()
		for i := 0; churn.Err() == nil && i < 100_000; i++ {
			s := startSource(t, churn, gw.URL()+"/whip/churn")
			if s == nil {
				return
			}
			c.publishes.Add(1)
			hold := time.NewTimer(1500 * time.Millisecond)
			select {
			case <-hold.C:
			case <-churn.Done():
				hold.Stop()
			}
			s.close()
		}
	}()
	wg.Wait()
	tr.CloseIdleConnections()
	t.Logf("churn: %d WHEP sessions created and deleted (%d PATCHed), %d POSTs to a stream not live, %d real viewers, %d publishes",
		c.created.Load(), c.patched.Load(), c.notLive.Load(), c.realViewers.Load(), c.publishes.Load())
	if c.created.Load() < 1000 && soakDuration(t) >= 30*time.Second {
		t.Errorf("only %d sessions in %v", c.created.Load(), soakDuration(t))
	}

	// Back to baseline: sessions, streams, then goroutines, heap, sockets.
	waitSessions(t, ctx, hc, gw.URL(), 1)
	tr.CloseIdleConnections()
	settle, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	var after snapshot
	for {
		names := gw.Registry.Names()
		info, _ := gw.Registry.Info("live")
		after = measure(t)
		ok := len(names) == 1 && len(info.Subscribers) == 0 &&
			after.goroutines <= base.goroutines+goroutineSlack &&
			after.heap <= base.heap+heapSlack && after.sockets <= base.sockets
		if ok || settle.Err() != nil {
			if !ok {
				t.Errorf("not back to baseline: streams %v, %d subscribers of live; %v (baseline %v)",
					names, len(info.Subscribers), after, base)
			}
			break
		}
		select {
		case <-settle.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("after:    %v", after)
	t.Logf("delta:    %+d goroutines, %+.1f MiB heap, %+d sockets",
		after.goroutines-base.goroutines, (float64(after.heap)-float64(base.heap))/(1<<20), after.sockets-base.sockets)
}

// churnOnce creates one signaling-only WHEP session and deletes it; one in
// ten also gets a trickle PATCH. A stream without publisher answers 409.
func churnOnce(t *testing.T, hc *http.Client, base string, offer []byte, frag, stream string, i int, c *counters) error {
	resp, err := hc.Post(base+"/whep/"+stream, "application/sdp", bytes.NewReader(offer))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
	case http.StatusConflict, http.StatusUnprocessableEntity:
		if stream == "live" {
			return fmt.Errorf("POST /whep/live: %d", resp.StatusCode)
		}
		c.notLive.Add(1) // between two publishes, or a publisher starting
		return nil
	default:
		return fmt.Errorf("POST /whep/%s: %d", stream, resp.StatusCode)
	}
	loc := base + resp.Header.Get("Location")
	c.created.Add(1)
	if i%10 == 0 {
		req, _ := http.NewRequest(http.MethodPatch, loc, strings.NewReader(frag))
		req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
		req.Header.Set("If-Match", "*")
		r, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		// New credentials: an ICE restart, answered 200 with ours.
		if r.StatusCode != http.StatusOK {
			return fmt.Errorf("PATCH (ICE restart): %d", r.StatusCode)
		}
		c.patched.Add(1)
	}
	req, _ := http.NewRequest(http.MethodDelete, loc, nil)
	r, err := hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		return fmt.Errorf("DELETE: %d", r.StatusCode)
	}
	c.deleted.Add(1)
	return nil
}

// waitSessions waits until the control API lists exactly n live sessions.
func waitSessions(t *testing.T, ctx context.Context, hc *http.Client, base string, n int) {
	t.Helper()
	wait, stop := context.WithTimeout(ctx, 45*time.Second)
	defer stop()
	got := -1
	for {
		resp, err := hc.Get(base + "/api/v1/sessions")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("sessions: %v", err)
		}
		if got = len(list.Items); got == n {
			return
		}
		select {
		case <-wait.Done():
			t.Fatalf("%d live sessions left, want %d", got, n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// source is a real pion publisher pacing synthetic media.
type source struct {
	pub  *client.Publisher
	stop context.CancelFunc
	done chan struct{}
}

// startSource publishes at url; nil if ctx ended first.
func startSource(t *testing.T, ctx context.Context, url string) *source {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pub, err := client.Publish(pctx, url, client.PublishOptions{})
	if err == nil {
		err = pub.WaitConnected(pctx)
		if err != nil {
			_ = pub.Close()
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			t.Errorf("publish %s: %v", url, err)
		}
		return nil
	}
	sctx, stop := context.WithCancel(context.Background())
	s := &source{pub: pub, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		cfg := client.SynthConfig{Bitrate: 500_000}
		client.PaceSynth(sctx, pub, client.NewSynthVideo(cfg), client.NewSynthAudio(cfg), nil)
	}()
	return s
}

func (s *source) close() {
	s.stop()
	<-s.done
	_ = s.pub.Close()
}
