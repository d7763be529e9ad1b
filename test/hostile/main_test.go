// Package hostile attacks the real gateway, in-process on loopback, the way
// a stranger would, and asserts the bound each attack meets: a trickle flood
// leaves goroutines and memory where they were, no connectivity check goes
// to an address a client may not aim the gateway at, idle and stalled HTTP
// and RTSP connections are closed at their deadline, a per-address
// connection cap holds, an SDP bomb is answered at once and never with a
// 500 — and a control viewer on another stream keeps its picture throughout.
package hostile

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// isolatedEnv marks the test binary re-executed in a network namespace that
// holds only loopback: some attacks name off-host addresses (multicast, the
// metadata service), and if the gateway ever sent to them, nothing could
// leave this machine.
const isolatedEnv = "WISHGATE_HOSTILE_NETNS"

func TestMain(m *testing.M) {
	if code, ran := testutil.RunIsolated(isolatedEnv); ran {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}

func startGateway(t *testing.T, mutate func(*config.Config)) *app.App {
	t.Helper()
	return testutil.StartGatewayLog(t, mutate, slog.New(slog.NewTextHandler(testutil.LogWriter{T: t}, &slog.HandlerOptions{Level: slog.LevelError})))
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// response is one raw HTTP exchange of the attacker.
type response struct {
	status int
	header http.Header
	body   string
}

// attacker speaks HTTP to the gateway as any client could, without
// keep-alive (goleak: no idle connection outlives a test).
type attacker struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newAttacker(t *testing.T, gw *app.App) *attacker {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &attacker{t: t, base: gw.URL(), hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (a *attacker) do(method, path, ctype string, body []byte, hdr ...string) response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1] // net/http sends req.Host, not a Host header
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withCandidates replaces an offer's candidates by cands, in its first
// m-section.
func withCandidates(offer []byte, cands []string) []byte {
	var b strings.Builder
	placed := false
	for _, l := range strings.Split(strings.ReplaceAll(string(offer), "\r\n", "\n"), "\n") {
		if l == "" || strings.HasPrefix(l, "a=candidate:") {
			continue
		}
		b.WriteString(l + "\r\n")
		if strings.HasPrefix(l, "a=mid:") && !placed {
			placed = true
			for _, c := range cands {
				b.WriteString("a=" + c + "\r\n")
			}
		}
	}
	return []byte(b.String())
}

// control is a publisher and a viewer of one stream the attacks do not
// touch: it must keep its picture whatever the attacker does elsewhere.
type control struct {
	pub    *client.Publisher
	viewer *client.Viewer
	stop   context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	packets map[uint64]int // video picture -> RTP packets
	asm     client.SynthAssembler
	first   uint64 // first picture the viewer received whole
	seen    bool
	got     uint64 // video packets from that picture on
	curTS   uint32
	curN    uint64
}

func startControl(t *testing.T, ctx context.Context, gw *app.App, name string) *control {
	t.Helper()
	c := &control{packets: map[uint64]int{}, done: make(chan struct{})}
	c.pub = publish(t, ctx, gw, name)
	sendCtx, stop := context.WithCancel(context.Background())
	c.stop = stop
	go func() {
		defer close(c.done)
		client.PaceSynth(sendCtx, c.pub, client.NewSynthVideo(client.SynthConfig{}), client.NewSynthAudio(client.SynthConfig{}), func(x client.SynthSent) {
			if x.Kind == webrtc.RTPCodecTypeVideo {
				c.mu.Lock()
				c.packets[x.Frame] = x.Packets
				c.mu.Unlock()
			}
		})
	}()
	t.Cleanup(func() {
		c.halt()
		_ = c.pub.Close()
	})
	v, err := client.Play(ctx, gw.URL()+"/whep/"+name, client.PlayOptions{
		Options: client.Options{HTTPClient: bystanderHTTP(t)},
		OnPacket: func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
			if kind == webrtc.RTPCodecTypeVideo {
				c.push(p)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.viewer = v
	t.Cleanup(func() { _ = v.Close() })
	waitFor(t, ctx, "the control viewer's first picture", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.seen
	})
	return c
}

func (c *control) halt() {
	c.stop()
	<-c.done
}

func (c *control) push(p *rtp.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got++
	if p.Timestamp != c.curTS {
		c.curTS, c.curN = p.Timestamp, 0
	}
	c.curN++
	f, ok := c.asm.Push(&p.Header, p.Payload, time.Now())
	if ok && !c.seen {
		c.seen, c.first, c.got = true, f.Frame, c.curN
	}
}

// check stops the source and requires the viewer to have received at least
// min of the video packets sent since its first picture.
func (c *control) check(t *testing.T, min float64) {
	t.Helper()
	c.halt()
	ratio := func() (float64, uint64, uint64) {
		c.mu.Lock()
		defer c.mu.Unlock()
		var want uint64
		for f, n := range c.packets {
			if f >= c.first {
				want += uint64(n)
			}
		}
		return float64(c.got) / float64(want), c.got, want
	}
	deadline := time.Now().Add(5 * time.Second)
	r, got, want := ratio()
	for r < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // in-flight packets landing
		r, got, want = ratio()
	}
	t.Logf("control viewer: %d of %d video packets (%.4f)", got, want, r)
	if r < min {
		t.Errorf("control viewer got %.2f %% of its packets, want >= %.1f %%", 100*r, 100*min)
	}
}

// bystanderHTTP is the HTTP client of the peers the attacks must not hurt:
// from 127.0.0.3, so that they never share a per-address connection
// allowance with the attacker on 127.0.0.1, and without keep-alive.
func bystanderHTTP(t *testing.T) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// publish starts a WHIP publisher of synthetic media, connected.
func publish(t *testing.T, ctx context.Context, gw *app.App, name string) *client.Publisher {
	t.Helper()
	pub, err := client.Publish(ctx, gw.URL()+"/whip/"+name, client.PublishOptions{Options: client.Options{HTTPClient: bystanderHTTP(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.WaitConnected(ctx); err != nil {
		_ = pub.Close()
		t.Fatal(err)
	}
	return pub
}
