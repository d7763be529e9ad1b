package streams

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var opus = Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}

// avPub publishes H.264 video on track 0 and Opus on track 1.
type avPub struct {
	pub        *Publication
	vseq, aseq uint16
	vts, ats   uint32
}

func setupAV(t *testing.T) (*Registry, *avPub) {
	t.Helper()
	r := NewRegistry(DefaultConfig())
	t.Cleanup(r.Close)
	pub, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}, {Kind: KindAudio, Codec: opus}}, newFakePub(), PublisherInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return r, &avPub{pub: pub}
}

func (p *avPub) video(payload []byte) {
	pkt := NewPacket()
	pkt.Header = rtp.Header{Version: 2, SequenceNumber: p.vseq, Timestamp: p.vts, PayloadType: 96}
	pkt.SetPayload(payload)
	p.pub.Write(0, pkt, time.Now())
	p.vseq++
	p.vts += 3000
}

func (p *avPub) audio() {
	pkt := NewPacket()
	pkt.Header = rtp.Header{Version: 2, SequenceNumber: p.aseq, Timestamp: p.ats, PayloadType: 111}
	pkt.SetPayload([]byte{0xfc, byte(p.aseq)})
	p.pub.Write(1, pkt, time.Now())
	p.aseq++
	p.ats += 960
}

// avSink records per track; its video writes take videoDelay each, like
// a reader whose link cannot carry the video.
type avSink struct {
	mu         sync.Mutex
	video      [][]byte
	vseqs      []uint16
	audio      int
	videoDelay atomic.Int64
}

func (s *avSink) WriteRTP(i int, h *rtp.Header, payload []byte) error {
	if i == 0 {
		time.Sleep(time.Duration(s.videoDelay.Load()))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i == 0 {
		s.video = append(s.video, append([]byte(nil), payload...))
		s.vseqs = append(s.vseqs, h.SequenceNumber)
	} else {
		s.audio++
	}
	return nil
}

func (s *avSink) counts() (video, audio int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.video), s.audio
}

func runAV(t *testing.T, r *Registry, sink Sink) (*Subscription, func()) {
	t.Helper()
	st, tracks, err := r.Lookup("s")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := r.Subscribe(st, SubscribeOptions{Tracks: tracks})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	return sub, func() { cancel(); <-done; sub.Close() }
}

// A reader too slow for the video (its own goroutine and queue): the video
// overflows and skips to keyframes, the audio keeps flowing all along.
func TestSlowVideoKeepsAudioFlowing(t *testing.T) {
	r, p := setupAV(t)
	sink := &avSink{}
	_, stop := runAV(t, r, sink)
	defer stop()
	p.video(idr)
	waitFor(t, func() bool { v, _ := sink.counts(); return v == 1 })
	sink.videoDelay.Store(int64(20 * time.Millisecond)) // ≈ 50 packets a second at most
	_, audioBefore := sink.counts()
	// One second: 30 pictures of 20 packets and 50 audio packets.
	for n := range 50 {
		for range 12 {
			if n%25 == 0 {
				p.video(idr)
			} else {
				p.video(pframe)
			}
		}
		p.audio()
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, func() bool { _, a := sink.counts(); return a-audioBefore >= 50 })
	sink.videoDelay.Store(0)
	sub, _ := r.Info("s")
	if sub.Subscribers[0].Dropped == 0 {
		t.Fatal("the video never overflowed: the test proves nothing")
	}
	// Every run of video after a drop starts at a keyframe: no sequence
	// gap (the numbering closes what was skipped), and the packet after a
	// skip is the IDR.
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for i := 1; i < len(sink.vseqs); i++ {
		if sink.vseqs[i] != sink.vseqs[i-1]+1 {
			var around []string
			for j := max(0, i-3); j < min(len(sink.vseqs), i+3); j++ {
				around = append(around, fmt.Sprintf("%d:%x", sink.vseqs[j], sink.video[j][0]))
			}
			t.Fatalf("video sequence %d after %d (%v)", sink.vseqs[i], sink.vseqs[i-1], around)
		}
	}
}

// SetPaused: no video while paused, audio throughout; the video resumes at
// a keyframe on the same numbering.
func TestPausedVideoResumesAtKeyframe(t *testing.T) {
	r, p := setupAV(t)
	sink := &avSink{}
	sub, stop := runAV(t, r, sink)
	defer stop()
	p.video(idr)
	p.video(pframe)
	waitFor(t, func() bool { v, _ := sink.counts(); return v == 2 })
	sub.SetPaused(0, true)
	if !sub.Paused(0) {
		t.Fatal("not paused")
	}
	for range 5 {
		p.video(pframe)
		p.audio()
	}
	waitFor(t, func() bool { _, a := sink.counts(); return a == 5 })
	if v, _ := sink.counts(); v != 2 {
		t.Fatalf("%d video packets while paused", v-2)
	}
	if info, _ := r.Info("s"); !info.Subscribers[0].VideoPaused {
		t.Error("listing does not say paused")
	}
	sub.SetPaused(0, false)
	p.video(pframe) // not a keyframe: skipped
	p.video(idr)
	p.video(pframe)
	waitFor(t, func() bool { v, _ := sink.counts(); return v == 4 })
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.video[2][0] != idr[0] || sink.vseqs[2] != sink.vseqs[1]+1 || sink.vseqs[3] != sink.vseqs[2]+1 {
		t.Fatalf("after resuming: %x, sequence %v", sink.video[2], sink.vseqs)
	}
}
