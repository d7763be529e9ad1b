package streams

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// nbSink is a recSink that declares itself non-blocking.
type nbSink struct{ *recSink }

func (nbSink) NonBlocking() bool { return true }

// Once started, a non-blocking subscriber is written by the producer itself:
// the packet is in the sink when Write returns.
func TestDirectDeliveryIsSynchronous(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	writePkt(pub, 1, 1000, idr)
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
		sink.mu.Lock()
		n := len(sink.seqs)
		sink.mu.Unlock()
		if n != 2+i {
			t.Fatalf("after write %d the sink holds %d packets, want %d", i, n, 2+i)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
	sub.Close()
	writePkt(pub, 12, 40000, pframe) // after Run returned: must not reach the sink
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.seqs) != 11 {
		t.Fatalf("the sink was written after Run returned (%d packets)", len(sink.seqs))
	}
}

// Direct subscribers joining while packets flow: keyframe first, then every
// packet exactly once and in order across the queue-to-direct hand-over.
func TestDirectHandOverNeitherLosesNorRepeats(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	s, tracks, _ := r.Lookup("s")
	const total, gop, viewers = 1200, 60, 8
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
		if i%4 == 0 {
			runtime.Gosched()
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
			if prev, cur := binary.BigEndian.Uint32(pls[i-1][4:]), binary.BigEndian.Uint32(pls[i][4:]); cur != prev+1 {
				t.Fatalf("viewer %d: packet %d after %d", k, cur, prev)
			}
		}
	}
}

type nopNBSink struct{ nopSink }

func (*nopNBSink) NonBlocking() bool { return true }

// BenchmarkFanoutDirect: one published packet written to 10 direct
// subscribers by the producer (the WHEP/UDP steady state). 0 allocs/op.
func BenchmarkFanoutDirect(b *testing.B) {
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
	for i := 0; i < viewers; i++ {
		sub, _ := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
		wg.Add(1)
		go func() { defer wg.Done(); _ = sub.Run(ctx, &nopNBSink{}) }()
		for !sub.direct.Load() {
			runtime.Gosched()
		}
	}
	payload[0] = 0x41
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := NewPacket()
		p.Header = rtp.Header{Version: 2, SequenceNumber: uint16(i + 1), Timestamp: uint32(i), PayloadType: 96}
		p.SetPayload(payload)
		pub.Write(0, p, now)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*viewers), "ns/viewer-packet")
}
