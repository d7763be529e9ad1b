package streams

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

type nopSink struct{ n int }

func (s *nopSink) WriteRTP(int, *rtp.Header, []byte) error { s.n++; return nil }

// BenchmarkFanout measures one published packet delivered to 10 subscribers,
// including each subscriber's header rewrite and sink write. Steady state
// must not allocate.
func BenchmarkFanout(b *testing.B) {
	r := NewRegistry(DefaultConfig())
	defer r.Close()
	pub, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}}, newFakePub(), PublisherInfo{})
	if err != nil {
		b.Fatal(err)
	}
	s, tracks, _ := r.Lookup("s")
	const viewers = 10
	subs := make([]*Subscription, viewers)
	sinks := make([]*nopSink, viewers)
	for i := range subs {
		subs[i], _ = r.Subscribe(s, SubscribeOptions{Tracks: tracks, QueueSize: 1024})
		subs[i].running.Store(true) // as Run would; this loop drains the queue itself
		sinks[i] = &nopSink{}
	}
	payload := make([]byte, 1100)
	payload[0] = 0x65
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := NewPacket()
		p.Header = rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i), PayloadType: 96}
		p.SetPayload(payload)
		pub.Write(0, p, now)
		// Each subscriber drains its packet on this goroutine, as its own
		// goroutine would.
		for j, sub := range subs {
			q := <-sub.queue
			_ = sub.deliver(q.track, q.pkt, sinks[j], q.pkt.Header.Timestamp)
			q.pkt.Release()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*viewers), "ns/viewer-packet")
}

// BenchmarkLayersRanked is what an adapter reads of a simulcast track per
// receiver report: every layer's snapshot (size, bitrate) and their rank.
func BenchmarkLayersRanked(b *testing.B) {
	r := NewRegistry(DefaultConfig())
	defer r.Close()
	pub, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: vp8, Layers: []string{"q", "h", "f"}}}, newFakePub(), PublisherInfo{})
	if err != nil {
		b.Fatal(err)
	}
	for l := range 3 {
		p := NewPacket()
		p.Header = rtp.Header{Version: 2, PayloadType: 96}
		p.SetPayload(vp8Key(320<<l, 180<<l, byte(l), 0))
		pub.WriteLayer(0, l, p, time.Now())
	}
	t := pub.Tracks()[0]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(Ranked(t.Layers())) != 3 {
			b.Fatal("layers")
		}
	}
}
