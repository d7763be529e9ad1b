package streams

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var vp8 = Codec{MimeType: "video/VP8", ClockRate: 90000}

// vp8Key is a VP8 key frame's first packet declaring w×h (RFC 7741 payload
// descriptor S=1, RFC 6386 §9.1 frame tag and start code), tagged with the
// layer and a counter after the header; vp8Delta an interframe packet.
func vp8Key(w, h int, layer, n byte) []byte {
	return []byte{0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, byte(w), byte(w >> 8), byte(h), byte(h >> 8), layer, n}
}

func vp8Delta(layer, n byte) []byte { return []byte{0x10, 0x01, 0x00, 0x00, layer, n} }

// simulcastPub is a publisher of three VP8 layers "q" 320×180, "h" 640×360,
// "f" 1280×720, with its own sequence numbers and a different timestamp
// base per layer, as browsers send them.
type simulcastPub struct {
	t   *testing.T
	pub *Publication
	fp  *fakePub
	mu  sync.Mutex
	seq [3]uint16
	ts  [3]uint32
	n   [3]byte
}

var layerSizes = [3][2]int{{320, 180}, {640, 360}, {1280, 720}}

func setupLayers(t *testing.T, cfg Config) (*Registry, *simulcastPub) {
	t.Helper()
	r := NewRegistry(cfg)
	t.Cleanup(r.Close)
	fp := newFakePub()
	pub, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: vp8, Layers: []string{"q", "h", "f"}}}, fp, PublisherInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return r, &simulcastPub{t: t, pub: pub, fp: fp, seq: [3]uint16{100, 20000, 60000}, ts: [3]uint32{1000, 5_000_000, 4_000_000_000}}
}

// frame sends one picture on layer l: a key frame or an interframe.
func (p *simulcastPub) frame(l int, key bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl := vp8Delta(byte(l), p.n[l])
	if key {
		pl = vp8Key(layerSizes[l][0], layerSizes[l][1], byte(l), p.n[l])
	}
	pkt := NewPacket()
	pkt.Header = rtp.Header{Version: 2, SequenceNumber: p.seq[l], Timestamp: p.ts[l], PayloadType: 96, SSRC: uint32(l + 1), Marker: true}
	pkt.SetPayload(pl)
	p.pub.WriteLayer(0, l, pkt, time.Now())
	p.seq[l]++
	p.ts[l] += 3000
	p.n[l]++
}

// padding sends a packet without payload on layer l.
func (p *simulcastPub) padding(l int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pkt := NewPacket()
	pkt.Header = rtp.Header{Version: 2, SequenceNumber: p.seq[l], Timestamp: p.ts[l] - 1500, PayloadType: 96}
	pkt.Payload = pkt.Buffer()[:0]
	p.pub.WriteLayer(0, l, pkt, time.Now())
	p.seq[l]++
}

// all sends one picture on every layer.
func (p *simulcastPub) all(key bool) {
	for l := range 3 {
		p.frame(l, key)
	}
}

func subscribeLayer(t *testing.T, r *Registry, c LayerChoice, direct bool) (*Subscription, *recSink, func()) {
	t.Helper()
	s, tracks, err := r.Lookup("s")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks, Layer: c})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecSink()
	var sink Sink = rec
	if direct {
		sink = nbSink{rec}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	return sub, rec, func() { cancel(); <-done; sub.Close() }
}

// layersOf returns the layer tag of every packet the sink got.
func layersOf(s *recSink) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]byte, len(s.pls))
	for i, p := range s.pls {
		if len(p) < 5 {
			out[i] = 255 // padding
		} else if len(p) > 6 && p[1]&1 == 0 {
			out[i] = p[11]
		} else {
			out[i] = p[4]
		}
	}
	return out
}

func TestLayersAreTracksOfTheirOwn(t *testing.T) {
	r, p := setupLayers(t, DefaultConfig())
	p.all(true)
	for range 4 {
		p.all(false)
	}
	info, _ := r.Info("s")
	tr := info.Tracks[0]
	if len(tr.Layers) != 3 || tr.Packets != 15 || tr.Keyframes != 3 || tr.Width != 1280 || tr.Height != 720 {
		t.Fatalf("track %+v", tr)
	}
	for i, l := range tr.Layers {
		if l.RID != []string{"q", "h", "f"}[i] || l.Width != layerSizes[i][0] || l.Packets != 5 || !l.Active {
			t.Errorf("layer %d: %+v", i, l)
		}
	}
	// A plain write to a simulcast track is refused.
	pkt := NewPacket()
	pkt.SetPayload(vp8Delta(0, 0))
	p.pub.Write(0, pkt, time.Now())
	if info, _ := r.Info("s"); info.Tracks[0].Packets != 15 {
		t.Error("a plain Write reached a simulcast track")
	}
}

func TestPublishRefusesBadLayers(t *testing.T) {
	r := NewRegistry(DefaultConfig())
	defer r.Close()
	for _, specs := range [][]TrackSpec{
		{{Kind: KindAudio, Codec: Codec{MimeType: "audio/opus", ClockRate: 48000}, Layers: []string{"a", "b"}}},
		{{Kind: KindVideo, Codec: vp8, Layers: []string{"a", "a"}}},
		{{Kind: KindVideo, Codec: vp8, Layers: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}}},
	} {
		if _, err := r.Publish("x", specs, newFakePub(), PublisherInfo{}); err == nil {
			t.Errorf("published %+v", specs)
		}
	}
}

// Each explicit choice gets exactly that layer's packets, in the layer's
// order, whether written by the subscriber's goroutine or a fan-out worker.
func TestExplicitLayerGetsOnlyThatLayer(t *testing.T) {
	for _, direct := range []bool{false, true} {
		for _, tc := range []struct {
			choice LayerChoice
			want   byte
		}{
			{LayerChoice{Mode: LayerHigh}, 2},
			{LayerChoice{Mode: LayerMedium}, 1},
			{LayerChoice{Mode: LayerLow}, 0},
			{LayerChoice{Mode: LayerRID, RID: "h"}, 1},
			{LayerChoice{Mode: LayerAuto}, 2},
			{LayerChoice{Mode: LayerHigh, MaxWidth: 700}, 1},
		} {
			t.Run(tc.choice.String(), func(t *testing.T) {
				r, p := setupLayers(t, DefaultConfig())
				p.all(true)
				sub, sink, stop := subscribeLayer(t, r, tc.choice, direct)
				defer stop()
				sink.wait(t, 1)
				if direct {
					waitFor(t, sub.direct.Load)
				}
				for range 10 {
					p.all(false)
				}
				sink.wait(t, 11)
				for i, l := range layersOf(sink) {
					if l != tc.want {
						t.Fatalf("packet %d of layer %d, want only %d", i, l, tc.want)
					}
				}
				checkContinuous(t, sink)
			})
		}
	}
}

func TestUnknownRIDIsRefused(t *testing.T) {
	r, p := setupLayers(t, DefaultConfig())
	p.all(true)
	s, tracks, _ := r.Lookup("s")
	if _, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks, Layer: LayerChoice{Mode: LayerRID, RID: "x"}}); !errors.Is(err, ErrNoLayer) {
		t.Fatalf("subscribe to rid x: %v", err)
	}
	sub, _, stop := subscribeLayer(t, r, LayerChoice{}, false)
	defer stop()
	if err := sub.SetLayer(0, LayerChoice{Mode: LayerRID, RID: "zz"}); !errors.Is(err, ErrNoLayer) {
		t.Fatalf("SetLayer zz: %v", err)
	}
	if _, err := ParseLayerChoice("a b"); !errors.Is(err, ErrBadLayer) {
		t.Fatalf("ParseLayerChoice: %v", err)
	}
}

// checkContinuous: one numbering without a gap and timestamps that only go
// forward, by less than a second between two packets.
func checkContinuous(t *testing.T, s *recSink) {
	t.Helper()
	checkTimeline(t, s, time.Second)
}

// checkTimeline: one numbering without a gap and timestamps that only go
// forward, by at most maxStep between two packets.
func checkTimeline(t *testing.T, s *recSink, maxStep time.Duration) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 1; i < len(s.seqs); i++ {
		if s.seqs[i] != s.seqs[i-1]+1 {
			t.Fatalf("sequence %d after %d", s.seqs[i], s.seqs[i-1])
		}
		padding := len(s.pls[i]) == 0 || len(s.pls[i-1]) == 0 // padding repeats a picture's timestamp
		if d := int32(s.ts[i] - s.ts[i-1]); d < 0 || d == 0 && !padding || d > int32(maxStep.Seconds()*90000) {
			t.Fatalf("timestamp step %d at packet %d (%d after %d)", d, i, s.ts[i], s.ts[i-1])
		}
	}
}

// A switch happens at the target's key frame and nowhere else; the old
// layer stops at that very packet; the output stays one numbering.
func TestSwitchAtTargetKeyframe(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(map[bool]string{false: "queued", true: "direct"}[direct], func(t *testing.T) {
			r, p := setupLayers(t, DefaultConfig())
			p.all(true)
			sub, sink, stop := subscribeLayer(t, r, LayerChoice{}, direct)
			defer stop()
			sink.wait(t, 1)
			p.all(false)
			sink.wait(t, 2)
			if err := sub.SetLayer(0, LayerChoice{Mode: LayerLow}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { l, _ := sub.Layer(0); return l.Target == "q" })
			for range 5 {
				p.all(false) // no key frame of q yet: still f
			}
			p.frame(0, true) // q's key frame: the switch
			p.frame(2, false)
			p.frame(1, false)
			for range 3 {
				p.all(false)
			}
			waitFor(t, func() bool {
				n := 0
				for _, l := range layersOf(sink) {
					if l == 0 {
						n++
					}
				}
				return n == 4
			})
			got := layersOf(sink)
			// Queued, the switch is exactly at q's key frame. Each layer
			// has its own fan-out workers, so in direct delivery an f
			// packet published around it may be written before or after
			// it; after it, it is no longer sent.
			first := 0
			for got[first] == 2 {
				first++
			}
			for i, l := range got[first:] {
				if l != 0 {
					t.Fatalf("layers %v: %d at %d after the switch at %d", got, l, first+i, first)
				}
			}
			if !direct && first != 7 {
				t.Fatalf("layers %v: switched at %d, want 7", got, first)
			}
			sink.mu.Lock()
			key := sink.pls[first]
			sink.mu.Unlock()
			if key[1]&1 != 0 {
				t.Fatalf("first packet of the new layer %x is not its key frame", key)
			}
			checkContinuous(t, sink)
			if l, _ := sub.Layer(0); l.RID != "q" || l.Target != "" || l.Switches != 1 {
				t.Fatalf("layer state %+v", l)
			}
		})
	}
}

// A publisher that never sends the target's key frame on request: after
// keyframeAnswerWindow the switch is made from the target's cached GOP, whose
// key frame goes out first, right after the old layer's last picture.
func TestUrgentSwitchUsesTheCache(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(map[bool]string{false: "queued", true: "direct"}[direct], func(t *testing.T) {
			r, p := setupLayers(t, DefaultConfig())
			p.all(true)
			p.all(false)
			sub, sink, stop := subscribeLayer(t, r, LayerChoice{}, direct)
			defer stop()
			sink.wait(t, 2) // f's cached GOP
			if direct {
				waitFor(t, sub.direct.Load)
			}
			if err := sub.SetLayer(0, LayerChoice{Mode: LayerRID, RID: "h"}); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			deadline := time.Now().Add(5 * time.Second)
			for {
				if l, _ := sub.Layer(0); l.RID == "h" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no switch from the cache")
				}
				p.all(false) // keeps the layers active; no key frame
				time.Sleep(30 * time.Millisecond)
			}
			if waited := time.Since(start); waited < keyframeAnswerWindow/2 {
				t.Errorf("switched after %v: before asking the publisher", waited)
			}
			p.all(false)
			waitFor(t, func() bool {
				ls := layersOf(sink)
				return len(ls) > 0 && ls[len(ls)-1] == 1
			})
			got := layersOf(sink)
			first := -1
			for i, l := range got {
				if l == 1 && first < 0 {
					first = i
				}
				if first >= 0 && l != 1 {
					t.Fatalf("layer %d after the switch to h at %d: %v", l, first, got)
				}
			}
			sink.mu.Lock()
			key := sink.pls[first]
			sink.mu.Unlock()
			if key[1]&1 != 0 || key[12] != 0 {
				t.Fatalf("the switch starts at %x, not h's cached key frame", key)
			}
			checkContinuous(t, sink)
		})
	}
}

// When the layer being sent falls silent (padding is silence), the
// subscriber moves to the best active one, and back when it returns.
func TestSilentLayerIsLeft(t *testing.T) {
	r, p := setupLayers(t, DefaultConfig())
	p.all(true)
	sub, sink, stop := subscribeLayer(t, r, LayerChoice{}, false)
	defer stop()
	sink.wait(t, 1)
	deadline := time.Now().Add(activeWindow + 5*time.Second)
	for key := false; ; key = !key {
		if l, _ := sub.Layer(0); l.RID == "h" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still on the silent layer")
		}
		p.frame(0, key)
		p.frame(1, key)
		p.padding(2) // f sends only padding, as a browser probing on a paused layer does
		time.Sleep(50 * time.Millisecond)
	}
	for key := true; ; key = false {
		if l, _ := sub.Layer(0); l.RID == "f" {
			break
		}
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("not back on f")
		}
		p.all(key)
		time.Sleep(50 * time.Millisecond)
	}
	// f's silence is on the timeline: the picture after it is as late as
	// it really came.
	checkTimeline(t, sink, activeWindow+time.Second)
}

// A NACK after a switch is answered from the new layer's history, on the
// switched timeline; one for a packet of the old layer is not answered.
func TestRetransmitAfterSwitch(t *testing.T) {
	r, p := setupLayers(t, DefaultConfig())
	p.all(true)
	sub, sink, stop := subscribeLayer(t, r, LayerChoice{}, false)
	defer stop()
	p.all(false)
	sink.wait(t, 2)
	if err := sub.SetLayer(0, LayerChoice{Mode: LayerLow}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { l, _ := sub.Layer(0); return l.Target == "q" })
	p.frame(0, true)
	p.frame(0, false)
	p.frame(0, false)
	sink.wait(t, 5)
	sink.mu.Lock()
	oldSeq, seq, ts, pl := sink.seqs[1], sink.seqs[3], sink.ts[3], append([]byte(nil), sink.pls[3]...)
	newest := sink.ts[4]
	sink.mu.Unlock()
	// The sender reports' clock follows the switch: now is the newest
	// packet's time on the viewer's timeline, not q's own.
	if now, ok := sub.RTPTimeAt(0, time.Now()); !ok || int32(now-newest) < 0 || int32(now-newest) > 90000 {
		t.Errorf("RTPTimeAt %d, newest packet sent %d", now, newest)
	}
	if sub.Retransmit(0, oldSeq, sink) {
		t.Fatal("answered a NACK for the old layer's packet")
	}
	if !sub.Retransmit(0, seq, sink) {
		t.Fatal("NACK after the switch not answered")
	}
	sink.wait(t, 6)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.seqs[5] != seq || sink.ts[5] != ts || string(sink.pls[5]) != string(pl) {
		t.Fatalf("resent seq %d ts %d %x, want seq %d ts %d %x", sink.seqs[5], sink.ts[5], sink.pls[5], seq, ts, pl)
	}
}

func TestPick(t *testing.T) {
	l := func(i int, rid string, w, h int, active bool) LayerInfo {
		return LayerInfo{Index: i, RID: rid, Width: w, Height: h, Active: active, BitrateBps: float64(w * 1000)}
	}
	// OBS order: rid 0 is the largest.
	obs := []LayerInfo{l(0, "0", 1280, 720, true), l(1, "1", 640, 360, true), l(2, "2", 320, 180, true)}
	topOff := []LayerInfo{l(0, "q", 320, 180, true), l(1, "h", 640, 360, true), l(2, "f", 1280, 720, false)}
	for _, tc := range []struct {
		name   string
		c      LayerChoice
		auto   string
		layers []LayerInfo
		cur    int
		want   int
	}{
		{"high", LayerChoice{}, "", obs, -1, 0},
		{"low", LayerChoice{Mode: LayerLow}, "", obs, -1, 2},
		{"medium", LayerChoice{Mode: LayerMedium}, "", obs, -1, 1},
		{"auto unset", LayerChoice{Mode: LayerAuto}, "", obs, -1, 0},
		{"auto", LayerChoice{Mode: LayerAuto}, "1", obs, -1, 1},
		{"rid", LayerChoice{Mode: LayerRID, RID: "2"}, "", obs, -1, 2},
		{"max size", LayerChoice{MaxWidth: 640, MaxHeight: 360}, "", obs, -1, 1},
		{"nothing fits", LayerChoice{MaxWidth: 100}, "", obs, -1, 2},
		{"high, top silent", LayerChoice{}, "", topOff, -1, 1},
		{"rid silent: the one below", LayerChoice{Mode: LayerRID, RID: "f"}, "", topOff, -1, 1},
		{"medium of two", LayerChoice{Mode: LayerMedium}, "", topOff, -1, 0},
		{"none active keeps cur", LayerChoice{}, "", []LayerInfo{l(0, "a", 1, 1, false), l(1, "b", 2, 2, false)}, 0, 0},
		{"none active, none sent", LayerChoice{}, "", []LayerInfo{l(0, "a", 1, 1, false), l(1, "b", 2, 2, false)}, -1, 1},
	} {
		if got := pick(tc.c, tc.auto, tc.layers, tc.cur); got != tc.want {
			t.Errorf("%s: pick = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// An adapter's switch down on a congested path, made from the cache, is
// paced to what the adapter says the path carries rather than at the burst
// speed of a joining viewer.
func TestCacheSwitchDownIsPacedToThePath(t *testing.T) {
	r, p := setupLayers(t, DefaultConfig())
	p.all(true)
	const frames = 30 // 1 s of q's GOP after its key frame
	for range frames {
		p.all(false)
	}
	s, tracks, _ := r.Lookup("s")
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks, Layer: LayerChoice{Mode: LayerAuto}})
	if err != nil {
		t.Fatal(err)
	}
	sink := &timedSink{recSink: *newRecSink()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	defer func() { cancel(); <-done; sub.Close() }()
	sink.wait(t, frames+1) // f's cached GOP
	// q's GOP is 31 packets of 6 bytes after its key frame: 1.5 kbit.
	// At 2 kbit/s (80 %: 1.6) it takes most of a second; a joiner's burst
	// of a 1 s span would take 125 ms.
	sub.SetAutoLayer(0, "q", 2000)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l, _ := sub.Layer(0); l.RID == "q" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no switch to q")
		}
		p.all(false) // no key frame: the switch comes from the cache
		time.Sleep(30 * time.Millisecond)
	}
	waitFor(t, func() bool {
		n := 0
		for _, l := range layersOf(&sink.recSink) {
			if l == 0 {
				n++
			}
		}
		return n >= frames+1
	})
	sink.mu.Lock()
	defer sink.mu.Unlock()
	first, last := -1, -1
	for i, pl := range sink.pls {
		if pl[4] == 0 || len(pl) > 11 && pl[1]&1 == 0 && pl[11] == 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if d := sink.at[last].Sub(sink.at[first]); d < 500*time.Millisecond {
		t.Fatalf("q's cached GOP went out in %v: not paced to the 2 kbit/s the path carries", d)
	}
}
