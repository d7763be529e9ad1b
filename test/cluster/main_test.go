// Package cluster runs three gateways in-process on distinct loopback
// addresses, coordinated by a real redis-server the tests start, and
// drives them with real WHIP publishers and WHEP viewers.
package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/cluster"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

func TestMain(m *testing.M) {
	// go-redis's own dial-failure lines go nowhere (the gateway sends
	// them to debug level the same way).
	cluster.QuietRedisLog(slog.New(slog.NewTextHandler(io.Discard, nil)))
	goleak.VerifyTestMain(m)
}

const secret = "0123456789abcdef0123456789abcdef-cluster"

// Short lifetimes keep the suite quick: a dead node's leases go in 1.5 s.
const (
	leaseTTL = 1500 * time.Millisecond
	linger   = 300 * time.Millisecond
)

// startNode runs gateway i (1-based) on 127.0.0.i.
func startNode(t *testing.T, r *testutil.Redis, i int, mutate func(*config.Config)) *app.App {
	t.Helper()
	return testutil.StartGateway(t, nodeConfig(r, i, mutate))
}

// nodeConfig is gateway i's configuration, mutate applied last.
func nodeConfig(r *testutil.Redis, i int, mutate func(*config.Config)) func(*config.Config) {
	ip := fmt.Sprintf("127.0.0.%d", i)
	return func(c *config.Config) {
		c.HTTPAddr, c.UDPAddr, c.TCPAddr = ip+":0", ip+":0", ""
		c.RTSPAddr = ""
		c.ClusterRedisURL = r.URL()
		c.ClusterNodeID = fmt.Sprintf("n%d", i)
		c.ClusterSecret = secret
		c.ClusterLeaseTTL = leaseTTL
		c.ClusterRelayLinger = linger
		c.GracePeriod = 5 * time.Second
		if mutate != nil {
			mutate(c)
		}
	}
}

func startCluster(t *testing.T, n int, mutate func(int, *config.Config)) (*testutil.Redis, []*app.App) {
	t.Helper()
	r := testutil.StartRedis(t)
	var nodes []*app.App
	for i := 1; i <= n; i++ {
		nodes = append(nodes, startNode(t, r, i, func(c *config.Config) {
			if mutate != nil {
				mutate(i, c)
			}
		}))
	}
	waitFor(t, 5*time.Second, "every node in the directory", func() bool {
		snap, err := nodes[0].Cluster().Snapshot(context.Background())
		return err == nil && len(snap.Nodes) == n
	})
	return r, nodes
}

// waitFor polls cond every 20 ms until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getJSON GETs an API document from a node.
func getJSON(t *testing.T, a *app.App, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.URL()+path, nil)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode
}

// payload is frame n's payload: a NAL header byte, the number, and filler
// derived from it, so a receiver can check every byte.
func payload(nal byte, n uint32, size int) []byte {
	b := make([]byte, size)
	b[0] = nal
	binary.BigEndian.PutUint32(b[1:], n)
	for i := 5; i < size; i++ {
		b[i] = byte(n*7 + uint32(i))
	}
	return b
}

var spsPPS = []byte{24, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 0, 4, 0x68, 0xce, 0x3c, 0x80}

// checkPayload says whether a received video payload is one the feed sent,
// byte for byte, and its frame number (-1 for the SPS/PPS packet).
func checkPayload(p []byte) (int64, bool) {
	if bytes.Equal(p, spsPPS) {
		return -1, true
	}
	if len(p) < 5 {
		return 0, false
	}
	n := binary.BigEndian.Uint32(p[1:])
	return int64(n), bytes.Equal(p, payload(p[0], n, len(p)))
}

// feed publishes H.264 at 50 frames/s, a keyframe (STAP-A SPS+PPS, IDR)
// every gop frames, and Opus, until stop is called.
type feed struct {
	pub   *client.Publisher
	gop   uint32
	frame atomic.Uint32
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

func publish(t *testing.T, a *app.App, name string, gop uint32, start uint32) *feed {
	t.Helper()
	return publishAt(t, a.URL(), name, gop, start)
}

// publishAt publishes to the gateway whose base URL is base.
func publishAt(t *testing.T, base, name string, gop uint32, start uint32) *feed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, base+"/whip/"+name, client.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return feedOn(t, pub, gop, start)
}

// feedOn starts a feed on a connected publisher.
func feedOn(t *testing.T, pub *client.Publisher, gop uint32, start uint32) *feed {
	t.Helper()
	f := &feed{pub: pub, gop: gop, quit: make(chan struct{})}
	f.frame.Store(start)
	f.wg.Add(1)
	go f.run()
	t.Cleanup(f.stop)
	return f
}

func (f *feed) run() {
	defer f.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seq uint16
	for range 100_000 {
		n := f.frame.Load()
		var pkts [][]byte
		if n%f.gop == 0 {
			pkts = [][]byte{spsPPS, payload(0x65, n, 900)}
		} else {
			pkts = [][]byte{payload(0x41, n, 300)}
		}
		for i, p := range pkts {
			_ = f.pub.WriteRTP(webrtc.RTPCodecTypeVideo, &rtp.Packet{Header: rtp.Header{Version: 2,
				SequenceNumber: seq, Timestamp: n * 1800, Marker: i == len(pkts)-1}, Payload: p})
			seq++
		}
		_ = f.pub.WriteRTP(webrtc.RTPCodecTypeAudio, &rtp.Packet{Header: rtp.Header{Version: 2,
			SequenceNumber: uint16(n), Timestamp: n * 960}, Payload: bytes.Repeat([]byte{0xfc}, 60)})
		f.frame.Add(1)
		select {
		case <-tick.C:
		case <-f.quit:
			return
		}
	}
}

// stop ends the feed and the WHIP session.
func (f *feed) stop() {
	f.once.Do(func() {
		close(f.quit)
		f.wg.Wait()
		_ = f.pub.Close()
	})
}

// viewer is a WHEP viewer that checks every video payload and remembers
// the frame numbers it saw.
type viewer struct {
	*client.Viewer
	mu     sync.Mutex
	frames []int64
	bad    int
}

func play(t *testing.T, a *app.App, name string) *viewer {
	t.Helper()
	v, err := tryPlay(a.URL()+"/whep/"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func tryPlay(endpoint string, hc *http.Client) (*viewer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v := &viewer{}
	var err error
	v.Viewer, err = client.Play(ctx, endpoint, client.PlayOptions{
		Options: client.Options{HTTPClient: hc},
		OnPacket: func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, pkt *rtp.Packet) {
			if kind != webrtc.RTPCodecTypeVideo {
				return
			}
			n, ok := checkPayload(pkt.Payload)
			v.mu.Lock()
			defer v.mu.Unlock()
			if !ok {
				v.bad++
				return
			}
			if n >= 0 {
				v.frames = append(v.frames, n)
			}
		}})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// seen returns the frames received so far and the count of bad payloads.
func (v *viewer) seen() ([]int64, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]int64(nil), v.frames...), v.bad
}

func (v *viewer) waitFrames(t *testing.T, n int) {
	t.Helper()
	waitFor(t, 10*time.Second, fmt.Sprintf("%d video frames", n), func() bool {
		f, _ := v.seen()
		return len(f) >= n
	})
}

// relayReaders counts the relay readers of stream on node a.
func relayReaders(t *testing.T, a *app.App, stream string) int {
	t.Helper()
	info, ok := a.Registry.Info(stream)
	if !ok {
		return 0
	}
	n := 0
	for _, s := range info.Subscribers {
		if s.Kind == streams.SessionRelayRead {
			n++
		}
	}
	return n
}

func osReadFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", name))
}
