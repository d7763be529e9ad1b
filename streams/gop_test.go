package streams

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
)

var sps = []byte{0x67, 0x42, 0xe0, 0x1f}

// A viewer joining mid-GOP gets the cached GOP at once, keyframe (with its
// SPS) first, then live packets with no gap and no duplicate, and the
// publisher is not asked for a keyframe at all.
func TestJoinMidGOPStartsFromCache(t *testing.T) {
	r, pub, fp := setup(t, DefaultConfig())
	writePkt(pub, 10, 1000, sps)
	writePkt(pub, 11, 1000, idr)
	writePkt(pub, 12, 4000, pframe)
	writePkt(pub, 13, 7000, pframe)

	_, sink, stop := subscribe(t, r, 0)
	defer stop()
	sink.wait(t, 4)
	writePkt(pub, 14, 10000, pframe)
	sink.wait(t, 5)

	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.pls[0][0] != sps[0] || sink.pls[1][0] != idr[0] {
		t.Fatalf("first payloads %x %x, want SPS then IDR", sink.pls[0], sink.pls[1])
	}
	for i, want := range []uint16{10, 11, 12, 13, 14} {
		if sink.seqs[i] != want {
			t.Fatalf("sequence numbers %v, want 10..14", sink.seqs)
		}
	}
	// The cached pictures are stamped below the newest cached one, in
	// order; SPS and IDR keep sharing one timestamp; live is untouched.
	if sink.ts[0] != sink.ts[1] || sink.ts[1] >= sink.ts[2] || sink.ts[2] >= sink.ts[3] ||
		sink.ts[3] != 7000 || sink.ts[4] != 10000 {
		t.Fatalf("timestamps %v", sink.ts)
	}
	if len(sink.seqs) != 5 {
		t.Fatalf("%d packets, want 5 (a duplicate slipped through)", len(sink.seqs))
	}
	if n := fp.keyframes.Load(); n != 0 {
		t.Fatalf("%d keyframe requests, want 0: the cache had a GOP", n)
	}
}

// Viewers join while the publisher writes; each one must see a keyframe
// first and then every packet exactly once, in order: the snapshot and the
// live queue overlap and must be stitched by sequence number.
func TestJoinDuringWritesNeitherLosesNorRepeats(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	s, tracks, _ := r.Lookup("s")
	const total, gop, viewers = 1500, 60, 12

	type viewer struct {
		sub  *Subscription
		sink *recSink
		done chan struct{}
	}
	var vs []viewer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	payload := make([]byte, 8)
	joinAt := map[int]bool{}
	for len(joinAt) < viewers {
		joinAt[gop/2+rand.IntN(total-2*gop)] = true
	}
	for i := 0; i < total; i++ {
		payload[0] = pframe[0]
		if i%gop == 0 {
			payload[0] = idr[0]
		}
		binary.BigEndian.PutUint32(payload[4:], uint32(i))
		writePkt(pub, uint16(60000+i), uint32(i/2*3000), payload) // two packets per picture
		if joinAt[i] {
			sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks, QueueSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			v := viewer{sub: sub, sink: newRecSink(), done: make(chan struct{})}
			vs = append(vs, v)
			wg.Add(1)
			go func() { defer wg.Done(); defer close(v.done); _ = v.sub.Run(ctx, v.sink) }()
		}
		if i%4 == 0 {
			runtime.Gosched() // let joiners run while packets keep coming
		}
	}
	for _, v := range vs {
		waitFor(t, func() bool {
			v.sink.mu.Lock()
			defer v.sink.mu.Unlock()
			n := len(v.sink.pls)
			return n > 0 && binary.BigEndian.Uint32(v.sink.pls[n-1][4:]) == total-1
		})
	}
	cancel()
	wg.Wait()
	for k, v := range vs {
		v.sub.Close()
		v.sink.mu.Lock()
		pls, seqs := v.sink.pls, v.sink.seqs
		v.sink.mu.Unlock()
		if pls[0][0] != idr[0] {
			t.Fatalf("viewer %d started with %x, not a keyframe", k, pls[0])
		}
		if v.sub.Dropped.Load() != 0 {
			t.Fatalf("viewer %d dropped packets; the test needs a queue that never overflows", k)
		}
		for i := 1; i < len(pls); i++ {
			prev, cur := binary.BigEndian.Uint32(pls[i-1][4:]), binary.BigEndian.Uint32(pls[i][4:])
			if cur != prev+1 || seqs[i] != seqs[i-1]+1 {
				t.Fatalf("viewer %d: packet %d follows %d (seq %d after %d)", k, cur, prev, seqs[i], seqs[i-1])
			}
		}
	}
}

// The cache never holds more than its bound; a GOP that outgrows it is
// dropped whole, and a viewer then waits for (and asks for) a live keyframe
// instead of starting on P-frames.
func TestGOPCacheBound(t *testing.T) {
	cfg := DefaultConfig()
	cfg.GOPCacheBytes = 10 * packetFootprint
	r, pub, fp := setup(t, cfg)
	_, tracks, _ := r.Lookup("s")
	gc := &tracks[0].gop
	for i := 0; i < 25; i++ {
		p := pframe
		if i == 0 {
			p = idr
		}
		writePkt(pub, uint16(i), uint32(i*3000), p)
		if n, b := gc.size(); b > cfg.GOPCacheBytes || n*packetFootprint != b {
			t.Fatalf("after %d packets the cache holds %d packets, %d bytes (bound %d)", i+1, n, b, cfg.GOPCacheBytes)
		}
	}
	if n, _ := gc.size(); n != 0 {
		t.Fatalf("an overgrown GOP left %d packets cached", n)
	}
	_, sink, stop := subscribe(t, r, 0)
	defer stop()
	waitFor(t, func() bool { return fp.keyframes.Load() > 0 })
	writePkt(pub, 25, 75000, pframe)
	writePkt(pub, 26, 78000, idr)
	sink.wait(t, 1)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.pls[0][0] != idr[0] || sink.seqs[0] != 26 {
		t.Fatalf("first packet %x seq %d, want the live IDR at 26", sink.pls[0], sink.seqs[0])
	}
	// A GOP within the bound is cached again.
	if n, _ := gc.size(); n != 1 {
		t.Fatalf("cache holds %d packets after a fresh keyframe, want 1", n)
	}
}

// A stream that starts without a keyframe caches nothing and forwards
// nothing; the viewer asks for a keyframe (through the throttle) and starts
// at the first one, even if the publisher ignored the request.
func TestKeyframelessStartDoesNotWedge(t *testing.T) {
	r, pub, fp := setup(t, DefaultConfig())
	_, tracks, _ := r.Lookup("s")
	for i := 0; i < 5; i++ {
		writePkt(pub, uint16(i), uint32(i*3000), pframe)
	}
	if n, _ := tracks[0].gop.size(); n != 0 {
		t.Fatalf("cached %d P-frames without a keyframe", n)
	}
	sub, sink, stop := subscribe(t, r, 0)
	defer stop()
	waitFor(t, func() bool { return fp.keyframes.Load() > 0 })
	for i := 5; i < 10; i++ {
		writePkt(pub, uint16(i), uint32(i*3000), pframe)
	}
	waitFor(t, func() bool { return sub.Skipped.Load() == 5 })
	writePkt(pub, 10, 30000, idr)
	writePkt(pub, 11, 33000, pframe)
	sink.wait(t, 2)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.seqs) != 2 || sink.seqs[0] != 10 || sink.pls[0][0] != idr[0] {
		t.Fatalf("got seqs %v, want the IDR at 10 first and nothing before it", sink.seqs)
	}
}

// A republish starts a new generation: the old publisher's GOP is not served
// to viewers of the new one.
func TestGOPCacheResetsOnRepublish(t *testing.T) {
	r, pub, _ := setup(t, Config{Replace: ReplaceAlways, HealthWindow: time.Second, GracePeriod: time.Minute})
	writePkt(pub, 1, 1000, idr)
	writePkt(pub, 2, 4000, pframe)
	pub2, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}}, newFakePub(), PublisherInfo{})
	if err != nil {
		t.Fatal(err)
	}
	writePkt(pub2, 500, 1, pframe)
	_, tracks, _ := r.Lookup("s")
	if n, _ := tracks[0].gop.size(); n != 0 {
		t.Fatalf("cache kept %d packets of the replaced publisher", n)
	}
	if !codec.Parse(h264.MimeType).Keyframe(sps) {
		t.Fatal("test SPS payload is not detected as a keyframe")
	}
}

// timedSink records when each packet arrived.
type timedSink struct {
	recSink
	at []time.Time
}

func (s *timedSink) WriteRTP(i int, h *rtp.Header, payload []byte) error {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return s.recSink.WriteRTP(i, h, payload)
}

// The cached GOP after the keyframe is paced over an eighth of its span, so
// a late joiner does not get hundreds of packets in one go (they would
// overflow its socket buffer, and burst packets cannot be retransmitted).
// The keyframe itself is not held back.
func TestGOPBurstIsPaced(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	const frames = 49 // 48 intervals of 1/30 s: a 1.6 s span, paced over 200 ms
	for i := 0; i < frames; i++ {
		p := pframe
		if i == 0 {
			p = idr
		}
		writePkt(pub, uint16(i), uint32(i*3000), p)
	}
	s, tracks, _ := r.Lookup("s")
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
	if err != nil {
		t.Fatal(err)
	}
	sink := &timedSink{recSink: *newRecSink()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	defer func() { cancel(); <-done; sub.Close() }()
	sink.wait(t, frames)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if d := sink.at[frames-1].Sub(sink.at[0]); d < 150*time.Millisecond {
		t.Fatalf("cached GOP delivered in %v, want it paced over ≈ 200 ms", d)
	}
	if d := sink.at[1].Sub(sink.at[0]); d > 100*time.Millisecond {
		t.Fatalf("the first P-frame waited %v", d)
	}
	// The stamps advance at the pace the pictures are sent, up to the
	// newest's own timestamp: the keyframe a whole pace (200 ms, 18 000
	// ticks) below it. A picture is never sent before its stamp says (it
	// goes at most one picture's share of the pace plus the pacer's slack
	// early), so a receiver sees no picture arrive late by its stamps.
	const pace = 18000
	if last := sink.ts[frames-1]; last != (frames-1)*3000 || last-sink.ts[0] != pace {
		t.Fatalf("burst stamped %d..%d, want %d..%d", sink.ts[0], last, (frames-1)*3000-pace, (frames-1)*3000)
	}
	share := time.Duration(pace/(frames-1)) * time.Second / 90000
	for k := 1; k < frames; k++ {
		if sink.ts[k] <= sink.ts[k-1] {
			t.Fatalf("stamps not increasing at picture %d: %v", k, sink.ts)
		}
		stamped := time.Duration(sink.ts[k]-sink.ts[0]) * time.Second / 90000
		if sent := sink.at[k].Sub(sink.at[0]); sent < stamped-share-burstSlack-time.Millisecond {
			t.Fatalf("picture %d sent %v after the keyframe, stamped %v after it", k, sent, stamped)
		}
	}
}

// A burst of joins on a stream without a usable GOP costs the publisher one
// keyframe request, not one per viewer.
func TestJoinBurstCoalescesKeyframeRequests(t *testing.T) {
	r, pub, fp := setup(t, DefaultConfig())
	writePkt(pub, 1, 3000, pframe) // no keyframe yet: nothing cached
	var stops []func()
	for i := 0; i < 20; i++ {
		_, _, stop := subscribe(t, r, 0)
		stops = append(stops, stop)
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	waitFor(t, func() bool { return fp.keyframes.Load() > 0 })
	for i := 0; i < 10; i++ { // P-frames keep every viewer waiting, asking again
		writePkt(pub, uint16(2+i), uint32(6000+i*3000), pframe)
	}
	if n := fp.keyframes.Load(); n != 1 {
		t.Fatalf("20 joins and 10 P-frames cost the publisher %d keyframe requests, want 1 (throttle %v)", n, keyframeThrottle)
	}
}

// A publisher's reordered (or late retransmitted) packet is forwarded, not
// taken for a duplicate: copies are recognised by arrival, not by number.
func TestReorderedPacketsAreForwarded(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	writePkt(pub, 1, 1000, idr)
	_, sink, stop := subscribe(t, r, 0)
	defer stop()
	sink.wait(t, 1)
	writePkt(pub, 3, 4000, pframe)
	writePkt(pub, 2, 4000, pframe) // late
	writePkt(pub, 4, 7000, pframe)
	sink.wait(t, 4)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.seqs) != 4 || sink.seqs[1] != 3 || sink.seqs[2] != 2 || sink.seqs[3] != 4 {
		t.Fatalf("seqs %v, want 1 3 2 4", sink.seqs)
	}
}
