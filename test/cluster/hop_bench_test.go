package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// BenchmarkRelayHop measures what a relay hop costs, every figure in one
// run: the origin and the edge are gateway processes of their own (so the
// origin's CPU is its own), the publisher and the viewers pion clients of
// this process (so one clock times every packet). It reports the origin's
// CPU for one direct viewer, for ten direct viewers and for one edge with
// ten viewers, the one-way latency of a direct and a relayed viewer of
// the same packets, and how long a viewer waits for its first keyframe on
// the origin and on an edge that has to set the relay up first.
//
//	go test -run '^$' -bench BenchmarkRelayHop -benchtime 1x ./test/cluster/
func BenchmarkRelayHop(b *testing.B) {
	for range b.N {
		relayHop(b)
	}
}

// The stream: H.264 at 30 frames/s in ten 1050-byte slices a frame (about
// 2.5 Mbit/s), an IDR every two seconds, and Opus.
const (
	hopFPS    = 30
	hopSlices = 10
	hopSlice  = 1050
	hopGOP    = 60
	hopWindow = 8 * time.Second // each CPU and latency window
	hopJoins  = 5               // joins timed on each node
)

func relayHop(b *testing.B) {
	r := testutil.StartRedis(b)
	bin := testutil.BuildGateway(b)
	node := func(i int) *testutil.GatewayProcess {
		ip := fmt.Sprintf("127.0.0.%d", i)
		return testutil.StartGatewayProcess(b, bin, "--http-addr", ip+":0", "--udp-addr", ip+":0",
			"--tcp-addr", "", "--rtsp-addr", "", "--cluster-redis-url", r.URL(), "--cluster-node-id", fmt.Sprintf("n%d", i),
			"--cluster-secret", secret, "--cluster-relay-linger", "200ms", "--log-level", "info")
	}
	origin, edge := node(1), node(2)
	f := startHopFeed(b, origin.URL+"/whip/hop")
	defer f.stop()
	time.Sleep(2 * time.Second) // warm-up: the GOP cache holds a keyframe

	cpu := func() float64 {
		c0, err := origin.CPU()
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		time.Sleep(hopWindow)
		c1, err := origin.CPU()
		if err != nil {
			b.Fatal(err)
		}
		return float64(c1-c0) / float64(time.Since(t0))
	}
	watch := func(base string, n int) []*hopViewer {
		var vs []*hopViewer
		for range n {
			vs = append(vs, playHop(b, f, base+"/whep/hop"))
		}
		for _, v := range vs {
			v.waitKey(b)
		}
		time.Sleep(time.Second) // past the joins' GOP bursts
		return vs
	}
	leave := func(vs []*hopViewer) {
		for _, v := range vs {
			_ = v.Close()
		}
	}

	// Joins: on the origin, and on the edge with no relay up (it stops
	// 200 ms after the previous viewer left).
	var joinOrigin, joinEdge []time.Duration
	for range hopJoins {
		v := playHop(b, f, origin.URL+"/whep/hop")
		joinOrigin = append(joinOrigin, v.waitKey(b))
		_ = v.Close()
	}
	for range hopJoins {
		waitRelayGone(b, edge.URL)
		v := playHop(b, f, edge.URL+"/whep/hop")
		joinEdge = append(joinEdge, v.waitKey(b))
		_ = v.Close()
	}

	// CPU: each phase between two windows of the publisher alone, whose
	// mean is taken off (the machine's load drifts).
	waitRelayGone(b, edge.URL)
	bases := []float64{cpu()}
	phase := func(base string, n int) float64 {
		vs := watch(base, n)
		c := cpu()
		leave(vs)
		waitRelayGone(b, edge.URL)
		time.Sleep(time.Second)
		bases = append(bases, cpu())
		return c - (bases[len(bases)-2]+bases[len(bases)-1])/2
	}
	one := phase(origin.URL, 1)
	relay := phase(edge.URL, 10)
	ten := phase(origin.URL, 10)
	base := 0.0
	for _, c := range bases {
		base += c / float64(len(bases))
	}

	// Latency: one direct and one relayed viewer of the same packets.
	direct, relayed := playHop(b, f, origin.URL+"/whep/hop"), playHop(b, f, edge.URL+"/whep/hop")
	direct.waitKey(b)
	relayed.waitKey(b)
	time.Sleep(time.Second)
	direct.record.Store(true)
	relayed.record.Store(true)
	time.Sleep(hopWindow)
	dl, rl := direct.latencies(), relayed.latencies()
	leave([]*hopViewer{direct, relayed})
	if len(dl) < 100 || len(rl) < 100 {
		b.Fatalf("too few latency samples: %d direct, %d relayed", len(dl), len(rl))
	}

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(base, "origin-cores-publisher")
	b.ReportMetric(one, "origin-cores/direct-viewer")
	b.ReportMetric(ten, "origin-cores/10-direct-viewers")
	b.ReportMetric(relay, "origin-cores/edge-with-10-viewers")
	b.ReportMetric(relay/one, "edge/direct-viewer-cpu-ratio")
	b.ReportMetric(relay/ten, "edge/10-direct-viewers-cpu-ratio")
	b.ReportMetric(ms(pct(dl, 50)), "direct-p50-ms")
	b.ReportMetric(ms(pct(dl, 99)), "direct-p99-ms")
	b.ReportMetric(ms(pct(rl, 50)), "relayed-p50-ms")
	b.ReportMetric(ms(pct(rl, 99)), "relayed-p99-ms")
	b.ReportMetric(ms(pct(joinOrigin, 50)), "join-origin-p50-ms")
	b.ReportMetric(ms(pct(joinOrigin, 100)), "join-origin-max-ms")
	b.ReportMetric(ms(pct(joinEdge, 50)), "join-edge-p50-ms")
	b.ReportMetric(ms(pct(joinEdge, 100)), "join-edge-max-ms")
	b.Logf("origin CPU (cores above the publisher's %.4f, windows %.4f): 1 direct %.4f, 10 direct %.4f, edge with 10 %.4f (edge / 1 direct %.2f, edge / 10 direct %.2f)",
		base, bases, one, ten, relay, relay/one, relay/ten)
	b.Logf("latency p50/p99 ms: direct %.2f/%.2f, relayed %.2f/%.2f; joins to the first keyframe (ms): origin %v, edge incl. relay set-up %v",
		ms(pct(dl, 50)), ms(pct(dl, 99)), ms(pct(rl, 50)), ms(pct(rl, 99)), roundAll(joinOrigin), roundAll(joinEdge))
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func roundAll(d []time.Duration) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, x := range d {
		out[i] = x.Round(time.Millisecond)
	}
	return out
}

// waitRelayGone waits until the edge lists no stream (its relay stopped).
func waitRelayGone(b *testing.B, edge string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st struct {
			Items []struct{} `json:"items"`
		}
		req, _ := http.NewRequest(http.MethodGet, edge+"/api/v1/streams", nil)
		req.Close = true
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if err == nil && len(st.Items) == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the edge's relay did not stop: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hopFeed publishes the stream and remembers when each frame was sent.
type hopFeed struct {
	pub  *client.Publisher
	sent [1024]atomic.Int64 // unix nanoseconds, by frame number % 1024
	quit chan struct{}
	wg   sync.WaitGroup
}

func startHopFeed(b *testing.B, endpoint string) *hopFeed {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, endpoint, client.PublishOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := pub.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	f := &hopFeed{pub: pub, quit: make(chan struct{})}
	f.wg.Add(1)
	go f.run()
	return f
}

func (f *hopFeed) run() {
	defer f.wg.Done()
	tick := time.NewTicker(time.Second / hopFPS)
	defer tick.Stop()
	var seq uint16
	write := func(p []byte, ts uint32, marker bool) {
		_ = f.pub.WriteRTP(webrtc.RTPCodecTypeVideo, &rtp.Packet{Header: rtp.Header{Version: 2,
			SequenceNumber: seq, Timestamp: ts, Marker: marker}, Payload: p})
		seq++
	}
	for n := uint32(0); n < 1_000_000; n++ {
		f.sent[n%1024].Store(time.Now().UnixNano())
		ts := n * (90000 / hopFPS)
		nal := byte(0x41)
		if n%hopGOP == 0 {
			nal = 0x65
			write(spsPPS, ts, false)
		}
		for i := range hopSlices {
			write(payload(nal, n, hopSlice), ts, i == hopSlices-1)
		}
		_ = f.pub.WriteRTP(webrtc.RTPCodecTypeAudio, &rtp.Packet{Header: rtp.Header{Version: 2,
			SequenceNumber: uint16(n), Timestamp: n * 1600}, Payload: make([]byte, 80)})
		select {
		case <-tick.C:
		case <-f.quit:
			return
		}
	}
}

func (f *hopFeed) stop() {
	close(f.quit)
	f.wg.Wait()
	_ = f.pub.Close()
}

// hopViewer times its first keyframe and, while recording, every video
// packet's one-way latency.
type hopViewer struct {
	*client.Viewer
	start  time.Time
	key    chan time.Time // the first keyframe's arrival, once
	record atomic.Bool
	mu     sync.Mutex
	lat    []time.Duration
}

func playHop(b *testing.B, f *hopFeed, endpoint string) *hopViewer {
	v := &hopViewer{start: time.Now(), key: make(chan time.Time, 1)}
	var keyed atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	v.Viewer, err = client.Play(ctx, endpoint, client.PlayOptions{
		OnPacket: func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, pkt *rtp.Packet) {
			now := time.Now()
			if kind != webrtc.RTPCodecTypeVideo || len(pkt.Payload) == 0 {
				return
			}
			if !keyed.Load() && (pkt.Payload[0]&0x1f == 5 || pkt.Payload[0]&0x1f == 24) && keyed.CompareAndSwap(false, true) {
				v.key <- now
			}
			n, ok := checkPayload(pkt.Payload)
			if !ok || n < 0 || !v.record.Load() {
				return
			}
			d := time.Duration(now.UnixNano() - f.sent[n%1024].Load())
			v.mu.Lock()
			if len(v.lat) < 200_000 {
				v.lat = append(v.lat, d)
			}
			v.mu.Unlock()
		}})
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// waitKey is the time from the POST to the first keyframe.
func (v *hopViewer) waitKey(b *testing.B) time.Duration {
	select {
	case at := <-v.key:
		v.key <- at // for a later call
		return at.Sub(v.start)
	case <-time.After(10 * time.Second):
		b.Fatal("no keyframe within 10 s")
		return 0
	}
}

func (v *hopViewer) latencies() []time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.lat)
}
