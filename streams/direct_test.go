package streams

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// nbSink is a recSink that declares itself non-blocking.
type nbSink struct{ *recSink }

func (nbSink) NonBlocking() bool { return true }

// Once started, a non-blocking subscriber is written by a fan-out worker,
// not by its own goroutine; after Run returns nothing reaches the sink.
func TestDirectDelivery(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	// What the track itself keeps of a packet (cache, history): measured on
	// one written while no worker has a subscriber.
	first := writeHeld(pub, 1, 1000, idr)
	kept := first.refs.Load() - 1
	first.Release()
	s, tracks, _ := r.Lookup("s")
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
	if err != nil {
		t.Fatal(err)
	}
	sink := nbSink{newRecSink()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx, sink) }()
	waitFor(t, sub.direct.Load)
	for i := 0; i < 10; i++ {
		writePkt(pub, uint16(2+i), uint32(4000+i*3000), pframe)
	}
	sink.wait(t, 11)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
	sub.Close()
	// After Run returned: must not reach the sink. A worker that still had
	// the subscriber would hold the packet until it had written it; once
	// only the track keeps it, every worker is done with it.
	late := writeHeld(pub, 12, 40000, pframe)
	defer late.Release()
	waitFor(t, func() bool { return late.refs.Load()-1 == kept })
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.seqs) != 11 {
		t.Fatalf("%d packets: the sink was written after Run returned", len(sink.seqs))
	}
}

// gateSink blocks its writes while block is set, like a reader whose writes
// stall although it promised they would not.
type gateSink struct {
	*recSink
	block   atomic.Bool
	release chan struct{}
}

func (g *gateSink) NonBlocking() bool { return true }
func (g *gateSink) WriteRTP(i int, h *rtp.Header, p []byte) error {
	if g.block.Load() {
		<-g.release
	}
	return g.recSink.WriteRTP(i, h, p)
}

// A stalled worker never stalls the publisher: its bounded queue overflows,
// its subscribers count drops and resume at the next keyframe, never on a
// P-frame whose reference they missed.
func TestStalledWorkerDegradesToKeyframe(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	writePkt(pub, 0, 0, idr)
	s, tracks, _ := r.Lookup("s")
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
	if err != nil {
		t.Fatal(err)
	}
	sink := &gateSink{recSink: newRecSink(), release: make(chan struct{})}
	var open sync.Once
	release := func() { sink.block.Store(false); open.Do(func() { close(sink.release) }) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	defer func() { release(); cancel(); <-done; sub.Close() }()
	waitFor(t, sub.direct.Load)
	sink.block.Store(true)
	// All of these return although the worker is stuck in a write: they
	// overflow its batch and its queue.
	n := uint16(workerQueue + maxBatch + 50)
	for i := uint16(1); i <= n; i++ {
		writePkt(pub, i, uint32(i)*3000, pframe)
	}
	if sub.Dropped.Load() == 0 {
		t.Fatal("nothing dropped: the worker queue is not bounded")
	}
	release()
	// Let the worker work off its backlog first: a keyframe dispatched
	// while its queue is still full is dropped as well (rightly), and the
	// wait below would be for a keyframe that never comes.
	waitFor(t, func() bool {
		for _, w := range *tracks[0].fan.running.Load() {
			if len(w.ch) > 0 {
				return false
			}
		}
		return true
	})
	writePkt(pub, n+1, uint32(n+1)*3000, idr)
	writePkt(pub, n+2, uint32(n+2)*3000, pframe)
	waitFor(t, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.pls) > 0 && sink.pls[len(sink.pls)-1][0] == pframe[0] && len(sink.pls) >= 3 &&
			sink.pls[len(sink.pls)-2][0] == idr[0]
	})
	sink.mu.Lock()
	defer sink.mu.Unlock()
	// What arrived: the intact run before the gap, then the new keyframe
	// with the gap in numbering closed, then its P-frame.
	k := len(sink.pls) - 2
	for j := 1; j < k; j++ {
		if sink.pls[j][0] != pframe[0] || sink.seqs[j] != sink.seqs[j-1]+1 {
			t.Fatalf("packet %d of the run before the gap: %x seq %d after %d", j, sink.pls[j], sink.seqs[j], sink.seqs[j-1])
		}
	}
	if uint16(k) >= n || sink.seqs[k] != sink.seqs[k-1]+1 {
		t.Fatalf("%d packets before the keyframe (of %d written), keyframe seq %d after %d", k, n, sink.seqs[k], sink.seqs[k-1])
	}
}

// Direct subscribers joining while packets flow: keyframe first, then every
// packet exactly once and in order across the queue-to-direct hand-over.
func TestDirectHandOverNeitherLosesNorRepeats(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	s, tracks, _ := r.Lookup("s")
	const total, gop, viewers = 1200, 60, 6
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var subs []*Subscription
	var sinks []nbSink
	payload := make([]byte, 8)
	for i := 0; i < total; i++ {
		payload[0] = pframe[0]
		if i%gop == 0 {
			payload[0] = idr[0]
		}
		binary.BigEndian.PutUint32(payload[4:], uint32(i))
		writePkt(pub, uint16(i), uint32(i/2*3000), payload)
		if i%(total/viewers) == gop/2 {
			sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks, QueueSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			sink := nbSink{newRecSink()}
			subs, sinks = append(subs, sub), append(sinks, sink)
			wg.Add(1)
			go func() { defer wg.Done(); _ = sub.Run(ctx, sink) }()
		}
		if i%2 == 0 {
			time.Sleep(100 * time.Microsecond) // a stream's pace, roughly: workers keep up
		}
	}
	for _, sink := range sinks {
		waitFor(t, func() bool {
			sink.mu.Lock()
			defer sink.mu.Unlock()
			n := len(sink.pls)
			return n > 0 && binary.BigEndian.Uint32(sink.pls[n-1][4:]) == total-1
		})
	}
	cancel()
	wg.Wait()
	for k, sink := range sinks {
		subs[k].Close()
		if !subs[k].direct.Load() {
			t.Fatalf("viewer %d never switched to direct delivery", k)
		}
		sink.mu.Lock()
		pls := sink.pls
		sink.mu.Unlock()
		if pls[0][0] != idr[0] {
			t.Fatalf("viewer %d started with %x", k, pls[0])
		}
		for i := 1; i < len(pls); i++ {
			prev, cur := binary.BigEndian.Uint32(pls[i-1][4:]), binary.BigEndian.Uint32(pls[i][4:])
			// A worker that fell behind may skip, but only forward, only
			// after counting drops, and only to a keyframe.
			skip := cur > prev+1 && subs[k].Dropped.Load() > 0 && pls[i][0] == idr[0]
			if cur != prev+1 && !skip {
				t.Fatalf("viewer %d: packet %d after %d (dropped %d)", k, cur, prev, subs[k].Dropped.Load())
			}
		}
	}
}

type nopNBSink struct{ n atomic.Int64 }

func (s *nopNBSink) WriteRTP(int, *rtp.Header, []byte) error { s.n.Add(1); return nil }
func (*nopNBSink) NonBlocking() bool                         { return true }

// nopBatchSink writes through a worker's batch (a BatchSink, as whep's).
type nopBatchSink struct{ nopNBSink }

type nopBatch struct{}

func (nopBatch) Flush()        {}
func (nopBatch) Room(int) bool { return true }

var nopBatchKey = new(int)

func (*nopBatchSink) BatchKey() any   { return nopBatchKey }
func (*nopBatchSink) NewBatch() Batch { return nopBatch{} }
func (s *nopBatchSink) WriteRTPBatch(Batch, int, *rtp.Header, []byte) error {
	s.n.Add(1)
	return nil
}

// BenchmarkFanoutDirect: one published packet written to 10 direct
// subscribers by the fan-out workers (the WHEP steady state), waiting for
// every write, with sinks that write at once and with sinks that write
// through the workers' batches. 0 allocs/op.
func BenchmarkFanoutDirect(b *testing.B) {
	b.Run("sink", func(b *testing.B) {
		benchFanoutDirect(b, func() (NonBlockingSink, *atomic.Int64) { s := &nopNBSink{}; return s, &s.n })
	})
	b.Run("batch", func(b *testing.B) {
		benchFanoutDirect(b, func() (NonBlockingSink, *atomic.Int64) { s := &nopBatchSink{}; return s, &s.n })
	})
}

func benchFanoutDirect(b *testing.B, newSink func() (NonBlockingSink, *atomic.Int64)) {
	r := NewRegistry(DefaultConfig())
	defer r.Close()
	pub, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}}, newFakePub(), PublisherInfo{})
	if err != nil {
		b.Fatal(err)
	}
	s, tracks, _ := r.Lookup("s")
	const viewers = 10
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	payload := make([]byte, 1100)
	payload[0] = 0x65
	p := NewPacket()
	p.Header = rtp.Header{Version: 2, PayloadType: 96}
	p.SetPayload(payload)
	pub.Write(0, p, time.Now())
	sinks := make([]*atomic.Int64, viewers)
	subs := make([]*Subscription, viewers)
	for i := 0; i < viewers; i++ {
		sub, _ := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
		sink, n := newSink()
		sinks[i], subs[i] = n, sub
		wg.Add(1)
		go func() { defer wg.Done(); _ = sub.Run(ctx, sink) }()
		for !sub.direct.Load() {
			runtime.Gosched()
		}
	}
	payload[0] = 0x41
	deadline := time.Now().Add(10 * time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := NewPacket()
		p.Header = rtp.Header{Version: 2, SequenceNumber: uint16(i + 1), Timestamp: uint32(i), PayloadType: 96}
		p.SetPayload(payload)
		// The arrival time is now, not the loop's start: workers drop
		// packets older than maxLag, and the loop would wait for them forever.
		pub.Write(0, p, time.Now())
		// Wait for the workers, so the queues never overflow and the time
		// is that of the whole delivery. A packet a loaded machine made
		// stale is dropped and the viewer skips to a keyframe that never
		// comes, so a packet counts as handled when written, dropped or
		// skipped, and a viewer that handles nothing for long fails the run.
		for j := 0; j < viewers; j++ {
			for spins := 0; handled(sinks[j], subs[j]) < uint64(i+1); spins++ {
				if spins%1024 == 1023 && time.Now().After(deadline) {
					b.Fatalf("viewer %d handled %d of %d packets in 10 s", j, handled(sinks[j], subs[j]), i+1)
				}
				runtime.Gosched()
			}
		}
		if i%1024 == 0 {
			deadline = time.Now().Add(10 * time.Second)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*viewers), "ns/viewer-packet")
}

// handled is how many packets a benchmark viewer has written, been dropped
// or skipped.
func handled(written *atomic.Int64, sub *Subscription) uint64 {
	return uint64(written.Load()) + sub.Dropped.Load() + sub.Skipped.Load()
}

// Queues are bounded in time too: packets that waited longer than maxLag
// for a stalled worker are dropped, not delivered late, and the subscriber
// resumes at the next keyframe.
func TestStaleWorkerBacklogIsDropped(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	writePkt(pub, 0, 0, idr)
	s, tracks, _ := r.Lookup("s")
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
	if err != nil {
		t.Fatal(err)
	}
	sink := &gateSink{recSink: newRecSink(), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	defer func() { cancel(); <-done; sub.Close() }()
	waitFor(t, sub.direct.Load)
	sink.block.Store(true)
	for i := 1; i <= 10; i++ { // far below workerQueue: only age can drop them
		writePkt(pub, uint16(i), uint32(i*3000), pframe)
	}
	time.Sleep(maxLag + 100*time.Millisecond) // the stall being tested
	sink.block.Store(false)
	close(sink.release)
	writePkt(pub, 11, 33000, idr)
	sink.wait(t, 3)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	// The IDR at 0, packet 1 (the write in progress when stalled), then the
	// new IDR: packets 2..10 were too old.
	if len(sink.seqs) != 3 || sink.seqs[1] != 1 || sink.pls[2][0] != idr[0] || sub.Dropped.Load() != 9 {
		t.Fatalf("delivered seqs %v (dropped %d), want [0 1 then the new IDR], 9 dropped", sink.seqs, sub.Dropped.Load())
	}
}

// writeHeld is writePkt keeping a reference to the packet, so that the test
// can see who still holds it.
func writeHeld(pub *Publication, seq uint16, ts uint32, payload []byte) *Packet {
	p := NewPacket()
	p.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, PayloadType: 96, SSRC: 1}
	p.SetPayload(payload)
	p.Retain()
	pub.Write(0, p, time.Now())
	return p
}

// lockProbeSink counts the writes made while the subscription's hand-over
// lock is held, before it is in direct mode: what the producer waits behind.
type lockProbeSink struct {
	sub       atomic.Pointer[Subscription]
	underLock atomic.Int32
	writes    atomic.Int32
}

func (*lockProbeSink) NonBlocking() bool { return true }

func (s *lockProbeSink) WriteRTP(int, *rtp.Header, []byte) error {
	s.writes.Add(1)
	if sub := s.sub.Load(); sub != nil && !sub.direct.Load() {
		if sub.directMu.TryLock() {
			sub.directMu.Unlock()
		} else {
			s.underLock.Add(1)
		}
	}
	return nil
}

// The backlog queued while a cached GOP is paced out, video and audio, is
// written before the hand-over takes the lock the producer needs for every
// push: under it go at most handOverTail packets of each queue.
func TestHandOverWritesLittleUnderTheLock(t *testing.T) {
	r, p := setupAV(t)
	p.video(idr)
	for range 48 { // a 1.6 s GOP: its burst is paced over 200 ms
		p.video(pframe)
	}
	s, tracks, _ := r.Lookup("s")
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
	if err != nil {
		t.Fatal(err)
	}
	sink := &lockProbeSink{}
	sink.sub.Store(sub)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	defer func() { cancel(); <-done; sub.Close() }()
	waitFor(t, func() bool { return sink.writes.Load() > 0 })
	// Live packets while the burst is still being paced: they queue.
	for range 40 {
		p.audio()
	}
	for range 10 {
		p.video(pframe)
	}
	waitFor(t, func() bool { return sub.direct.Load() })
	if n := sink.writes.Load(); n < 49+40+10 {
		t.Fatalf("%d packets written, want the 49 cached and the 50 live", n)
	}
	if n := sink.underLock.Load(); n > 2*handOverTail {
		t.Fatalf("%d packets written under the hand-over lock, want at most %d", n, 2*handOverTail)
	}
}
