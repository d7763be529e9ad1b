package streams

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakePub struct {
	connected atomic.Bool
	kicked    chan error
	keyframes atomic.Int32
}

func newFakePub() *fakePub {
	p := &fakePub{kicked: make(chan error, 1)}
	p.connected.Store(true)
	return p
}

func (p *fakePub) Connected() bool     { return p.connected.Load() }
func (p *fakePub) RequestKeyframe(int) { p.keyframes.Add(1) }
func (p *fakePub) Kick(err error)      { p.kicked <- err }

type recSink struct {
	mu   sync.Mutex
	seqs []uint16
	ts   []uint32
	pls  [][]byte
	got  chan struct{}
}

func newRecSink() *recSink { return &recSink{got: make(chan struct{}, 1024)} }

func (s *recSink) WriteRTP(_ int, h *rtp.Header, payload []byte) error {
	s.mu.Lock()
	s.seqs = append(s.seqs, h.SequenceNumber)
	s.ts = append(s.ts, h.Timestamp)
	s.pls = append(s.pls, append([]byte(nil), payload...))
	s.mu.Unlock()
	select {
	case s.got <- struct{}{}:
	default:
	}
	return nil
}

func (s *recSink) wait(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		s.mu.Lock()
		have := len(s.seqs)
		s.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("got %d packets, want %d", have, n)
		}
	}
}

var h264 = Codec{MimeType: "video/H264", ClockRate: 90000, Fmtp: "packetization-mode=1"}

// idr and pframe are single-NAL H.264 payloads.
var (
	idr    = []byte{0x65, 0x88, 0x01}
	pframe = []byte{0x41, 0x9a, 0x02}
)

func writePkt(pub *Publication, seq uint16, ts uint32, payload []byte) {
	p := NewPacket()
	p.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, PayloadType: 96, SSRC: 1}
	p.SetPayload(payload)
	pub.Write(0, p, time.Now())
}

func setup(t *testing.T, cfg Config) (*Registry, *Publication, *fakePub) {
	t.Helper()
	r := NewRegistry(cfg)
	t.Cleanup(r.Close)
	fp := newFakePub()
	pub, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}}, fp, PublisherInfo{Kind: SessionWHIP})
	if err != nil {
		t.Fatal(err)
	}
	return r, pub, fp
}

func subscribe(t *testing.T, r *Registry, size int) (*Subscription, *recSink, func()) {
	t.Helper()
	s, tracks, err := r.Lookup("s")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks, QueueSize: size})
	if err != nil {
		t.Fatal(err)
	}
	sink := newRecSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	return sub, sink, func() { cancel(); <-done; sub.Close() }
}

func TestSubscriberStartsAtKeyframe(t *testing.T) {
	r, pub, fp := setup(t, DefaultConfig())
	_, sink, stop := subscribe(t, r, 0)
	defer stop()
	// Wait until the subscriber is running (it asks for a keyframe first).
	waitFor(t, func() bool { return fp.keyframes.Load() > 0 })
	writePkt(pub, 10, 1000, pframe)
	writePkt(pub, 11, 4000, idr)
	writePkt(pub, 12, 7000, pframe)
	sink.wait(t, 2)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.pls[0][0] != idr[0] || sink.seqs[0] != 11 || sink.seqs[1] != 12 {
		t.Fatalf("first packets %x seq %v, want IDR at 11 then 12", sink.pls[0], sink.seqs)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond) // polling interval, bounded by the deadline
	}
}

func TestRepublishIsSeamless(t *testing.T) {
	r, pub, fp := setup(t, Config{Replace: ReplaceAlways, HealthWindow: time.Second, GracePeriod: time.Minute})
	_, sink, stop := subscribe(t, r, 0)
	defer stop()
	waitFor(t, func() bool { return fp.keyframes.Load() > 0 })
	writePkt(pub, 100, 5000, idr)
	writePkt(pub, 101, 8000, pframe)
	sink.wait(t, 2)

	// A new publisher, other SSRC numbering, same codec: it replaces the
	// first (which is kicked) and the viewer continues without a gap.
	fp2 := newFakePub()
	pub2, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}}, fp2, PublisherInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-fp.kicked; !errors.Is(err, ErrReplaced) {
		t.Fatalf("old publisher kicked with %v", err)
	}
	writePkt(pub, 102, 11000, pframe) // stale publisher: dropped
	writePkt(pub2, 50000, 1, pframe)  // new publisher mid-GOP: skipped until keyframe
	writePkt(pub2, 50001, 3001, idr)
	sink.wait(t, 3)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if got := sink.seqs[2]; got != 102 {
		t.Fatalf("sequence after republish = %d, want 102 (continuous)", got)
	}
	if d := sink.ts[2] - sink.ts[1]; d == 0 || d > 90000*10 {
		t.Fatalf("timestamp jump %d after republish", d)
	}
}

func TestReplacePolicies(t *testing.T) {
	for _, tc := range []struct {
		policy    ReplacePolicy
		healthy   bool
		wantError error
	}{
		{ReplaceStale, true, ErrConflict},
		{ReplaceStale, false, nil},
		{ReplaceNever, false, ErrConflict},
		{ReplaceAlways, true, nil},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			r, pub, fp := setup(t, Config{Replace: tc.policy, HealthWindow: time.Minute, GracePeriod: time.Second})
			writePkt(pub, 1, 1, idr)
			fp.connected.Store(tc.healthy)
			_, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}}, newFakePub(), PublisherInfo{})
			if !errors.Is(err, tc.wantError) {
				t.Fatalf("second publish: %v, want %v", err, tc.wantError)
			}
		})
	}
}

func TestGracePeriodEndsSubscribers(t *testing.T) {
	r, pub, _ := setup(t, Config{Replace: ReplaceStale, HealthWindow: time.Second, GracePeriod: 50 * time.Millisecond})
	sub, _, stop := subscribe(t, r, 0)
	defer stop()
	pub.Close()
	if _, _, err := r.Lookup("s"); !errors.Is(err, ErrNotLive) {
		t.Fatalf("lookup during grace: %v", err)
	}
	select {
	case <-sub.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber not ended after grace period")
	}
	if !errors.Is(sub.Err(), ErrPublisherGone) {
		t.Fatalf("err = %v", sub.Err())
	}
	if len(r.Names()) != 0 {
		t.Fatalf("stream left in registry: %v", r.Names())
	}
}

func TestCodecChangeEndsSubscribers(t *testing.T) {
	r, _, _ := setup(t, Config{Replace: ReplaceAlways, HealthWindow: time.Second, GracePeriod: time.Second})
	sub, _, stop := subscribe(t, r, 0)
	defer stop()
	vp8 := Codec{MimeType: "video/VP8", ClockRate: 90000}
	if _, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: vp8}}, newFakePub(), PublisherInfo{}); err != nil {
		t.Fatal(err)
	}
	<-sub.Done()
	if !errors.Is(sub.Err(), ErrCodecChanged) {
		t.Fatalf("err = %v", sub.Err())
	}
}

// blockSink blocks until released, like a viewer whose network stalled.
type blockSink struct{ release chan struct{} }

func (b blockSink) WriteRTP(int, *rtp.Header, []byte) error { <-b.release; return nil }

func TestSlowSubscriberDoesNotBlockOthers(t *testing.T) {
	r, pub, fp := setup(t, DefaultConfig())
	s, tracks, _ := r.Lookup("s")
	slow, _ := r.Subscribe(s, SubscribeOptions{Tracks: tracks, QueueSize: 8})
	bs := blockSink{release: make(chan struct{})}
	done := make(chan struct{})
	go func() { defer close(done); _ = slow.Run(context.Background(), bs) }()
	_, fast, stop := subscribe(t, r, 0)
	defer stop()
	waitFor(t, func() bool { return fp.keyframes.Load() > 0 })

	const n = 200
	for i := 0; i < n; i++ {
		payload := pframe
		if i%50 == 0 {
			payload = idr
		}
		writePkt(pub, uint16(i), uint32(i*3000), payload)
	}
	fast.wait(t, n)
	if slow.Dropped.Load() == 0 {
		t.Fatal("slow subscriber dropped nothing: its queue is not bounded")
	}
	close(bs.release)
	slow.Close()
	<-done
}

func TestDropResyncsWithoutSequenceGap(t *testing.T) {
	r, pub, fp := setup(t, DefaultConfig())
	s, tracks, _ := r.Lookup("s")
	sub, _ := r.Subscribe(s, SubscribeOptions{Tracks: tracks, QueueSize: 4})
	sink := newRecSink()
	// Fill the queue before the reader runs: overflow, then a keyframe.
	for i := 0; i < 10; i++ {
		writePkt(pub, uint16(1000+i), uint32(i*3000), pframe)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	waitFor(t, func() bool { return fp.keyframes.Load() > 0 })
	writePkt(pub, 2000, 90000, idr)
	writePkt(pub, 2001, 93000, pframe)
	writePkt(pub, 2002, 96000, idr)
	sink.wait(t, 3)
	cancel()
	<-done
	sub.Close()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for i := 1; i < len(sink.seqs); i++ {
		if sink.seqs[i] != sink.seqs[i-1]+1 {
			t.Fatalf("sequence gap in %v", sink.seqs)
		}
	}
}

func TestKeyframeRequestsAreThrottled(t *testing.T) {
	r, _, fp := setup(t, DefaultConfig())
	_, tracks, _ := r.Lookup("s")
	for i := 0; i < 100; i++ {
		tracks[0].RequestKeyframe()
	}
	if got := fp.keyframes.Load(); got != 1 {
		t.Fatalf("100 requests in a burst reached the publisher %d times, want 1", got)
	}
}
