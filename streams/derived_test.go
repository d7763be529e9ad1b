package streams

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var (
	fakeAAC  = Codec{MimeType: "audio/MPEG4-GENERIC", ClockRate: 24000, Channels: 1, Fmtp: "config=1388"}
	fakeOpus = Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}
)

// fakeConversions converts fakeAAC into fakeOpus: every source payload
// becomes "x" + payload, at twice the timestamp.
type fakeConversions struct {
	mu      sync.Mutex
	started int
	closed  int
	fail    error
	running atomic.Int32
}

func (f *fakeConversions) Target(c Codec) (Codec, error) {
	if c.MimeType != fakeAAC.MimeType {
		return Codec{}, errors.New("not converted")
	}
	return fakeOpus, nil
}

func (f *fakeConversions) New(_ string, _ Codec) (Converter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.started++
	f.running.Add(1)
	return &fakeConverter{f: f}, nil
}

func (f *fakeConversions) counts() (started, closed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started, f.closed
}

type fakeConverter struct {
	f   *fakeConversions
	buf []byte
}

func (c *fakeConverter) Convert(h *rtp.Header, payload []byte, emit func(uint32, []byte)) {
	c.buf = append(append(c.buf[:0], 'x'), payload...)
	emit(h.Timestamp*2, c.buf)
}
func (c *fakeConverter) RTPTime(src uint32) (uint32, bool) { return src * 2, true }
func (c *fakeConverter) CPU() time.Duration                { return time.Millisecond }
func (c *fakeConverter) Close() {
	c.f.mu.Lock()
	c.f.closed++
	c.f.mu.Unlock()
	c.f.running.Add(-1)
}

func convSetup(t *testing.T, f *fakeConversions) (*Registry, *Publication) {
	t.Helper()
	r := NewRegistry(Config{Replace: ReplaceAlways, HealthWindow: time.Second, GracePeriod: time.Minute, Conversions: f})
	t.Cleanup(r.Close)
	pub, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}, {Kind: KindAudio, Codec: fakeAAC}}, newFakePub(), PublisherInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return r, pub
}

func writeAudio(pub *Publication, seq uint16, ts uint32, payload []byte) {
	p := NewPacket()
	p.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, PayloadType: 97}
	p.SetPayload(payload)
	pub.Write(1, p, time.Now())
}

// feedUntil writes audio packets i = 0, 1, … (payload {i}, timestamp
// 1000+1024i) every 2 ms until every sink has n packets: a reader or a feed
// that just started drains what queued before it ran, so a single packet
// may be missed by design.
func feedUntil(t *testing.T, pub *Publication, n int, sinks ...*recSink) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		done := true
		for _, s := range sinks {
			s.mu.Lock()
			done = done && len(s.seqs) >= n
			s.mu.Unlock()
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sinks did not get %d packets within 5 s", n)
		}
		writeAudio(pub, uint16(i), 1000+1024*uint32(i), []byte{byte(i)})
		time.Sleep(2 * time.Millisecond)
	}
}

// run subscribes to tracks and runs the subscription until the returned stop.
func run(t *testing.T, r *Registry, tracks ...*Track) (*Subscription, *recSink, func()) {
	t.Helper()
	s, _, err := r.Lookup("s")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
	if err != nil {
		t.Fatal(err)
	}
	sink := newRecSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	var once sync.Once
	return sub, sink, func() { once.Do(func() { cancel(); <-done; sub.Close() }) }
}

// A converted track's readers get the derived track; readers of the
// original get the original, untouched; Lookup lists only the published
// tracks; the feed is no reader.
func TestDerivedTrackFeedsItsReaders(t *testing.T) {
	f := &fakeConversions{}
	r, pub := convSetup(t, f)
	_, tracks, _ := r.Lookup("s")
	if len(tracks) != 2 || tracks[0].Derived() != nil || tracks[1].Derived() == nil {
		t.Fatalf("tracks %v, derived %v", len(tracks), tracks[1].Derived())
	}
	d := tracks[1].Derived()
	if d.Codec != fakeOpus || d.Source() != tracks[1] || d.Index != 2 || d.Kind != KindAudio {
		t.Fatalf("derived track %+v (index %d)", d.Codec, d.Index)
	}
	_, orig, stopOrig := run(t, r, tracks[1])
	defer stopOrig()
	_, conv, stopConv := run(t, r, d)
	defer stopConv()
	waitFor(t, func() bool { return f.running.Load() == 1 })
	feedUntil(t, pub, 3, orig, conv)
	orig.mu.Lock()
	conv.mu.Lock()
	for k := range 2 {
		if i := orig.pls[k][0]; len(orig.pls[k]) != 1 || orig.ts[k] != 1000+1024*uint32(i) {
			t.Errorf("original reader got %q at %d", orig.pls[k], orig.ts[k])
		}
		if i := conv.pls[k][len(conv.pls[k])-1]; string(conv.pls[k]) != "x"+string([]byte{i}) ||
			conv.ts[k] != 2*(1000+1024*uint32(i)) || conv.seqs[k+1] != conv.seqs[k]+1 {
			t.Errorf("derived reader got %q at %v seq %v", conv.pls, conv.ts, conv.seqs)
		}
	}
	orig.mu.Unlock()
	conv.mu.Unlock()
	info, _ := r.Info("s")
	if len(info.Subscribers) != 2 || len(info.Tracks) != 2 {
		t.Fatalf("listing: %d subscribers, %d tracks (the feed and the derived track are not listed)", len(info.Subscribers), len(info.Tracks))
	}
	ci := info.Tracks[1].Conversion
	if ci == nil || !ci.Running || ci.Readers != 1 || ci.To != fakeOpus || ci.CPU != time.Millisecond || ci.Packets < 3 {
		t.Fatalf("conversion info %+v", ci)
	}
	if info.Tracks[0].Conversion != nil {
		t.Fatal("video track lists a conversion")
	}
}

// One conversion per stream however many readers, only while there are
// any: it starts with the first, stops with the last, and starts again.
func TestConversionRunsWhileItHasReaders(t *testing.T) {
	f := &fakeConversions{}
	r, pub := convSetup(t, f)
	_, tracks, _ := r.Lookup("s")
	d := tracks[1].Derived()
	if started, _ := f.counts(); started != 0 {
		t.Fatal("a conversion started without readers")
	}
	_, a, stopA := run(t, r, tracks[0], d)
	_, b, stopB := run(t, r, d)
	waitFor(t, func() bool { return f.running.Load() == 1 })
	feedUntil(t, pub, 1, a, b)
	stopA()
	if started, closed := f.counts(); started != 1 || closed != 0 {
		t.Fatalf("after one of two readers left: started %d closed %d", started, closed)
	}
	stopB()
	waitFor(t, func() bool { _, closed := f.counts(); return closed == 1 })
	info, _ := r.Info("s")
	if ci := info.Tracks[1].Conversion; ci.Running || ci.Readers != 0 || ci.Starts != 1 {
		t.Fatalf("after the last reader: %+v", ci)
	}
	_, c, stopC := run(t, r, d)
	defer stopC()
	waitFor(t, func() bool { return f.running.Load() == 1 })
	feedUntil(t, pub, 1, c)
	if started, _ := f.counts(); started != 2 {
		t.Fatalf("started %d, want 2", started)
	}
}

// A conversion that cannot start says why; its readers stay (without
// media on that track), and the next start is tried after they all left.
func TestConversionFailureIsReported(t *testing.T) {
	f := &fakeConversions{fail: errors.New("decoder refuses the configuration")}
	r, _ := convSetup(t, f)
	_, tracks, _ := r.Lookup("s")
	d := tracks[1].Derived()
	sub, _, stop := run(t, r, d)
	waitFor(t, func() bool {
		info, _ := r.Info("s")
		return info.Tracks[1].Conversion.Error != ""
	})
	select {
	case <-sub.Done():
		t.Fatal("the reader was ended by the conversion's failure")
	default:
	}
	stop()
	f.mu.Lock()
	f.fail = nil
	f.mu.Unlock()
	_, _, stop2 := run(t, r, d)
	defer stop2()
	waitFor(t, func() bool {
		info, _ := r.Info("s")
		ci := info.Tracks[1].Conversion
		return ci.Error == "" && ci.Running && ci.Starts == 1
	})
}

// The derived track's clock is its source's, through the converter's
// mapping: sender reports of both say the same wall clock.
func TestDerivedClockFollowsTheSource(t *testing.T) {
	f := &fakeConversions{}
	r, pub := convSetup(t, f)
	_, tracks, _ := r.Lookup("s")
	d := tracks[1].Derived()
	if _, ok := tracks[1].RTPTimeAt(time.Now()); ok {
		t.Fatal("a clock before any packet")
	}
	_, sink, stop := run(t, r, d)
	defer stop()
	waitFor(t, func() bool { return f.running.Load() == 1 })
	feedUntil(t, pub, 1, sink)
	now := time.Now()
	src, ok1 := tracks[1].RTPTimeAt(now)
	out, ok2 := d.RTPTimeAt(now)
	if !ok1 || !ok2 || out != src*2 {
		t.Fatalf("source clock %d (%v), derived %d (%v)", src, ok1, out, ok2)
	}
	if d := int32(src - 1000); d < 0 || d > 24000*10 {
		t.Fatalf("source clock %d, not within the seconds of packets just written", src)
	}
}

// A publisher with another layout ends the derived track's readers and
// its conversion, like any reader of the old layout.
func TestLayoutChangeEndsTheConversion(t *testing.T) {
	f := &fakeConversions{}
	r, _ := convSetup(t, f)
	_, tracks, _ := r.Lookup("s")
	sub, _, stop := run(t, r, tracks[1].Derived())
	defer stop()
	waitFor(t, func() bool { return f.running.Load() == 1 })
	if _, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}}, newFakePub(), PublisherInfo{}); err != nil {
		t.Fatal(err)
	}
	if err := sub.Err(); !errors.Is(err, ErrCodecChanged) {
		t.Fatalf("reader ended with %v", err)
	}
	waitFor(t, func() bool { return f.running.Load() == 0 })
	if _, err := r.Subscribe(sub.Stream(), SubscribeOptions{Tracks: []*Track{tracks[1].Derived()}}); !errors.Is(err, ErrCodecChanged) {
		t.Fatalf("subscribe to the old derived track: %v", err)
	}
}

// AAC's configuration is in the SDP only: a publisher with another one
// is a new layout (its readers could not decode the new stream).
func TestAACConfigIsPartOfTheCodec(t *testing.T) {
	a := Codec{MimeType: "audio/MPEG4-GENERIC", ClockRate: 44100, Channels: 2, Fmtp: "config=1210;mode=AAC-hbr"}
	same := Codec{MimeType: "audio/mpeg4-generic", ClockRate: 44100, Channels: 2, Fmtp: "mode=AAC-hbr;sizelength=13;config=1210"}
	other := Codec{MimeType: "audio/MPEG4-GENERIC", ClockRate: 44100, Channels: 2, Fmtp: "config=1290;mode=AAC-hbr"}
	if !a.Compatible(same) || a.Compatible(other) {
		t.Fatalf("compatible: same %v, other config %v", a.Compatible(same), a.Compatible(other))
	}
	opus := Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, Fmtp: "minptime=10"}
	if !opus.Compatible(Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, Fmtp: "useinbandfec=1"}) {
		t.Fatal("Opus fmtp differences must stay compatible")
	}
}
