package reliability

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// TestNACKRecoversLossAndReordering: between the gateway and a viewer, an
// in-process UDP proxy drops 3 % of the media packets and reorders one in
// 40. A viewer that NACKs (pion's generator, as browsers do) gets back
// nearly every picture whole; the same network without NACK breaks about a
// quarter of them, which shows the recovery is what keeps it decoding.
func TestNACKRecoversLossAndReordering(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	gw := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := publish(t, ctx, gw, "lossy", client.SynthConfig{}, client.PublishOptions{})
	url := gw.URL() + "/whep/lossy"

	run := func(nack bool) *reorderingWatcher {
		proxy := newLossyProxy(t, gw.UDPAddr())
		opts := client.PlayOptions{Options: client.Options{HTTPClient: viaProxy(t, gw.UDPAddr().Port, proxy.Port()), NoAudio: true}}
		if !nack {
			opts.API = apiWithoutNACK(t)
		}
		w := &reorderingWatcher{}
		opts.OnPacket = func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
			if kind == webrtc.RTPCodecTypeVideo {
				w.push(p, time.Now())
			}
		}
		v, err := client.Play(ctx, url, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = v.Close() })
		if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 1); err != nil {
			t.Fatal(err)
		}
		proxy.lossPerMille.Store(30)
		proxy.reorderEvery.Store(40)
		w.proxy = proxy
		return w
	}
	withNACK, withoutNACK := run(true), run(false)

	start := src.lastFrame()
	waitFor(t, ctx, "6 s of pictures", func() bool { return src.lastFrame() >= start+180 })
	src.halt()
	// Late retransmissions land within a few hundred milliseconds.
	for _, w := range []*reorderingWatcher{withNACK, withoutNACK} {
		w.flushAfter(ctx, src.lastFrame())
	}

	ratio := func(name string, w *reorderingWatcher) float64 {
		w.mu.Lock()
		defer w.mu.Unlock()
		owed := src.lastFrame() - w.first + 1
		r := float64(w.frames) / float64(owed)
		t.Logf("%s: %d of %d pictures whole (%.1f %%), %d broken; proxy dropped %d, reordered %d",
			name, w.frames, owed, 100*r, w.asm.Broken, w.proxy.Dropped.Load(), w.proxy.Reordered.Load())
		return r
	}
	rn, rw := ratio("with NACK", withNACK), ratio("without NACK", withoutNACK)
	if withNACK.proxy.Dropped.Load() == 0 {
		t.Fatal("the proxy dropped nothing")
	}
	if rn < 0.98 {
		t.Errorf("with NACK only %.1f %% of the pictures were whole", 100*rn)
	}
	if rw > rn-0.05 {
		t.Errorf("without NACK %.1f %% were whole, with NACK %.1f %%: the loss did not bite or NACK did not help", 100*rw, 100*rn)
	}
}

// reorderingWatcher puts packets back in sequence order before the picture
// assembler, waiting up to 500 ms for a missing one (a receiver's jitter
// buffer does the same), so retransmitted and reordered packets count.
type reorderingWatcher struct {
	mu      sync.Mutex
	proxy   *lossyProxy
	asm     client.SynthAssembler
	pending map[uint16]*rtp.Packet
	since   map[uint16]time.Time
	next    uint16
	started bool
	first   uint64
	last    uint64
	frames  uint64
	seen    bool
}

const jitterWait = 500 * time.Millisecond

func (w *reorderingWatcher) push(p *rtp.Packet, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == nil {
		w.pending, w.since = map[uint16]*rtp.Packet{}, map[uint16]time.Time{}
	}
	if !w.started {
		w.started, w.next = true, p.SequenceNumber
	}
	if int16(p.SequenceNumber-w.next) < 0 {
		return // too late, or a duplicate
	}
	w.pending[p.SequenceNumber] = p
	w.since[p.SequenceNumber] = now
	w.releaseLocked(now)
}

// releaseLocked delivers in order; a gap older than jitterWait is skipped.
func (w *reorderingWatcher) releaseLocked(now time.Time) {
	for len(w.pending) > 0 {
		if p, ok := w.pending[w.next]; ok {
			delete(w.pending, w.next)
			delete(w.since, w.next)
			w.next++
			if f, ok := w.asm.Push(&p.Header, p.Payload, now); ok {
				if !w.seen {
					w.seen, w.first = true, f.Frame
				}
				w.last = f.Frame
				w.frames++
			}
			continue
		}
		oldest := now
		for _, at := range w.since {
			if at.Before(oldest) {
				oldest = at
			}
		}
		if now.Sub(oldest) < jitterWait {
			return
		}
		w.next++ // give the missing packet up
	}
}

// flushAfter waits, bounded, for the last picture to be assembled or given
// up on, then releases whatever is left.
func (w *reorderingWatcher) flushAfter(ctx context.Context, last uint64) {
	deadline := time.NewTimer(2 * jitterWait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		w.mu.Lock()
		done := w.last >= last
		w.mu.Unlock()
		if done {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			w.mu.Lock()
			w.releaseLocked(time.Now().Add(time.Hour))
			w.mu.Unlock()
			return
		case <-ctx.Done():
			return
		}
	}
}

// apiWithoutNACK is a viewer API that does not offer NACK: RTCP reports
// only, on the usual loopback settings.
func apiWithoutNACK(t *testing.T) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	for _, c := range client.Codecs(client.CodecH264) {
		c.RTCPFeedback = []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"}}
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	ir := &interceptor.Registry{}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	ir.Add(rr)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(*client.LoopbackSettingEngine(nil)))
}
