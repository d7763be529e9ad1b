// Package reliability proves, with the real gateway in-process on
// 127.0.0.1 and real pion peers, that one misbehaving peer or a bad network
// never costs the others: stalled and unreachable viewers, publishers that
// vanish without DELETE, packet loss and reordering, shutdown under load,
// limits reached, hostile RTCP.
package reliability

import (
	"context"
	"log/slog"
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

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startGateway runs a gateway on loopback ports; mutate adjusts the config.
func startGateway(t *testing.T, mutate func(*config.Config)) *app.App {
	t.Helper()
	return testutil.StartGatewayLog(t, func(c *config.Config) {
		c.RTSPAddr = "" // not needed here
		if mutate != nil {
			mutate(c)
		}
	}, slog.New(slog.DiscardHandler))
}

// waitFor polls cond every few milliseconds until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// source is a WHIP publisher sending synthetic H.264 + Opus at real time,
// recording how many RTP packets each picture took.
type source struct {
	pub  *client.Publisher
	stop context.CancelFunc
	done chan struct{}

	mu      sync.Mutex
	packets map[uint64]int // video frame -> RTP packets
	last    uint64         // last video frame sent
	nvideo  uint64         // video packets sent
}

func publish(t *testing.T, ctx context.Context, gw *app.App, name string, cfg client.SynthConfig, opts client.PublishOptions) *source {
	t.Helper()
	pub, err := client.Publish(ctx, gw.URL()+"/whip/"+name, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.WaitConnected(ctx); err != nil {
		_ = pub.Close()
		t.Fatal(err)
	}
	s := &source{pub: pub, done: make(chan struct{}), packets: map[uint64]int{}}
	sendCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go func() {
		defer close(s.done)
		client.PaceSynth(sendCtx, pub, client.NewSynthVideo(cfg), client.NewSynthAudio(cfg), func(x client.SynthSent) {
			if x.Kind != webrtc.RTPCodecTypeVideo {
				return
			}
			s.mu.Lock()
			s.packets[x.Frame] = x.Packets
			s.last = x.Frame
			s.nvideo += uint64(x.Packets)
			s.mu.Unlock()
		})
	}()
	t.Cleanup(s.close)
	return s
}

// halt stops sending (the peer connection stays up).
func (s *source) halt() {
	s.stop()
	<-s.done
}

func (s *source) close() {
	s.halt()
	_ = s.pub.Close()
}

func (s *source) lastFrame() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// packetsFrom is how many video packets the pictures from..last took.
func (s *source) packetsFrom(from uint64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for f := from; f <= s.last; f++ {
		n += uint64(s.packets[f])
	}
	return n
}

// watcher is a WHEP viewer that reassembles the synthetic pictures it gets.
type watcher struct {
	*client.Viewer
	mu     sync.Mutex
	asm    client.SynthAssembler
	first  uint64 // first picture received whole
	last   uint64
	frames uint64
	vpkts  uint64 // video packets since (and including) the first picture
	seen   bool
	curTS  uint32 // timestamp of the latest packets, and how many had it
	curN   uint64
}

func watch(t *testing.T, ctx context.Context, url string, opts client.PlayOptions) *watcher {
	t.Helper()
	w := &watcher{}
	opts.OnPacket = func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
		if kind != webrtc.RTPCodecTypeVideo {
			return
		}
		w.push(p)
	}
	v, err := client.Play(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.Viewer = v
	t.Cleanup(func() { _ = v.Close() })
	return w
}

func (w *watcher) push(p *rtp.Packet) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.vpkts++
	if p.Timestamp != w.curTS {
		w.curTS, w.curN = p.Timestamp, 0
	}
	w.curN++
	f, ok := w.asm.Push(&p.Header, p.Payload, time.Now())
	if !ok {
		return
	}
	if !w.seen {
		// Count from the first whole picture, its SPS and PPS included.
		w.seen, w.first, w.vpkts = true, f.Frame, w.curN
	}
	w.last = f.Frame
	w.frames++
}

func (w *watcher) state() (first, last, frames, pkts, broken uint64, seen bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first, w.last, w.frames, w.vpkts, w.asm.Broken, w.seen
}

func (s *source) nvideoLoad() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nvideo
}

// checkReceived waits (bounded) for in-flight packets to land after the
// source halted, then requires each watcher to have at least min of the
// video packets sent since its first whole picture.
func checkReceived(t *testing.T, ctx context.Context, src *source, ws []*watcher, min float64) {
	t.Helper()
	drain, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	for i, w := range ws {
		first, _, _, _, _, _ := w.state()
		want := src.packetsFrom(first)
		tick := time.NewTicker(10 * time.Millisecond)
		for {
			_, _, _, got, _, _ := w.state()
			if got >= want || drain.Err() != nil {
				break
			}
			select {
			case <-tick.C:
			case <-drain.Done():
			}
		}
		tick.Stop()
		_, last, frames, got, broken, _ := w.state()
		ratio := float64(got) / float64(want)
		t.Logf("viewer %d: pictures %d..%d (%d whole, %d broken), %d/%d video packets (%.4f)",
			i, first, last, frames, broken, got, want, ratio)
		if ratio < min {
			t.Errorf("viewer %d got %.3f %% of the packets, want >= %.1f %%", i, 100*ratio, 100*min)
		}
	}
}
