package streams

import (
	"testing"
	"time"
)

// aud is an H.264 access unit delimiter (type 9), sent by GStreamer's
// x264enc and many cameras as the first packet of every picture.
var aud = []byte{0x09, 0xf0}

func writeAt(pub *Publication, seq uint16, ts uint32, payload []byte, at time.Time) {
	p := NewPacket()
	p.Header.Version, p.Header.SequenceNumber, p.Header.Timestamp, p.Header.PayloadType = 2, seq, ts, 96
	p.SetPayload(payload)
	pub.Write(0, p, at)
}

// writeGOPs writes n GOPs of frames pictures each, every picture opened by
// an AUD in its own packet and each keyframe sent as SPS then IDR, with
// arrival times ending at end (one picture per 40 ms). It returns the
// next sequence number and timestamp.
func writeGOPs(pub *Publication, n, frames int, end time.Time) (uint16, uint32) {
	var seq uint16 = 100
	var ts uint32 = 9000
	at := end.Add(-time.Duration(n*frames-1) * 40 * time.Millisecond)
	for g := 0; g < n; g++ {
		for f := 0; f < frames; f++ {
			writeAt(pub, seq, ts, aud, at)
			seq++
			if f == 0 {
				writeAt(pub, seq, ts, sps, at)
				writeAt(pub, seq+1, ts, idr, at)
				seq += 2
			} else {
				writeAt(pub, seq, ts, pframe, at)
				seq++
			}
			ts += 3600
			at = at.Add(40 * time.Millisecond)
		}
	}
	return seq, ts
}

// writeGOP writes one GOP of frames pictures (SPS+IDR, then P-frames), the
// keyframe arriving at key and one picture per 40 ms after it.
func writeGOP(pub *Publication, seq *uint16, ts *uint32, key time.Time, frames int) {
	for f := 0; f < frames; f++ {
		at := key.Add(time.Duration(f) * 40 * time.Millisecond)
		if f == 0 {
			writeAt(pub, *seq, *ts, sps, at)
			writeAt(pub, *seq+1, *ts, idr, at)
			*seq += 2
		} else {
			writeAt(pub, *seq, *ts, pframe, at)
			*seq++
		}
		*ts += 3600
	}
}

// answeredProbe writes a GOP that runs 1 s (the gateway probes the
// publisher), then a keyframe 200 ms later (the answer), then that GOP up
// to now: a publisher known to answer, whose cached keyframe is age old.
func answeredProbe(pub *Publication, age time.Duration) (seq uint16, ts uint32) {
	seq, ts = 100, 9000
	now := time.Now()
	key := now.Add(-age)
	writeGOP(pub, &seq, &ts, key.Add(-1200*time.Millisecond), 26)
	writeGOP(pub, &seq, &ts, key, int(age/(40*time.Millisecond)))
	return seq, ts
}

// deafPub is a publisher that cannot be asked for keyframes (RTSP).
type deafPub struct{ *fakePub }

func (deafPub) IgnoresKeyframeRequests() bool { return true }

// With an AUD (or SEI) packet in front of each keyframe under its
// timestamp, the cache still restarts at every keyframe: a viewer gets the
// current GOP only, never the ones before it.
func TestGOPRestartsAtKeyframeAfterAUD(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	seq, ts := writeGOPs(pub, 4, 10, time.Now())
	_, tracks, _ := r.Lookup("s")
	// The last GOP: SPS, IDR, 9 pictures of AUD + P, and nothing else.
	if n, _ := tracks[0].gop.size(); n != 2+9*2 {
		t.Fatalf("cache holds %d packets, want %d (one GOP from its SPS)", n, 2+9*2)
	}
	_, sink, stop := subscribe(t, r, 0)
	defer stop()
	sink.wait(t, 2+9*2)
	// A live packet after the burst: anything else the burst held would
	// come before it.
	writePkt(pub, seq, ts, pframe)
	sink.wait(t, 2+9*2+1)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.seqs) != 2+9*2+1 || sink.pls[0][0] != sps[0] || sink.pls[1][0] != idr[0] {
		t.Fatalf("viewer got %d packets starting %x %x, want the last GOP (20 packets) from its SPS, then the live one",
			len(sink.seqs), sink.pls[0], sink.pls[1])
	}
}

// A publisher that answers keyframe requests (a browser) is asked for a
// fresh keyframe when the cached one is old, once for several joiners, and
// the viewers start at it: none is sent the old GOP.
func TestOldGOPAsksAnsweringPublisher(t *testing.T) {
	r, pub, fp := setup(t, DefaultConfig())
	seq, ts := answeredProbe(pub, 2*time.Second)
	_, tracks, _ := r.Lookup("s")
	if a := tracks[0].Answers(); a != AnswersYes || fp.keyframes.Load() != 1 {
		t.Fatalf("answers = %q after %d probes answered at once, want yes after 1", a, fp.keyframes.Load())
	}
	fp.keyframes.Store(0)
	var sinks []*recSink
	for range 3 {
		_, sink, stop := subscribe(t, r, 0)
		defer stop()
		sinks = append(sinks, sink)
	}
	waitFor(t, func() bool { return fp.keyframes.Load() > 0 })
	time.Sleep(50 * time.Millisecond) // let every joiner ask
	writeAt(pub, seq, ts, pframe, time.Now())
	writeAt(pub, seq+1, ts+3600, sps, time.Now())
	writeAt(pub, seq+2, ts+3600, idr, time.Now())
	for _, sink := range sinks {
		sink.wait(t, 2)
		sink.mu.Lock()
		first, n := sink.seqs[0], len(sink.seqs)
		sink.mu.Unlock()
		if first != seq+1 || n != 2 {
			t.Fatalf("viewer got %d packets from seq %d, want the fresh SPS+IDR at %d only", n, first, seq+1)
		}
	}
	if n := fp.keyframes.Load(); n != 1 {
		t.Fatalf("3 joiners cost %d keyframe requests, want 1", n)
	}
	if a := tracks[0].Answers(); a != AnswersYes {
		t.Fatalf("answers = %q after an answered request, want yes", a)
	}
}

// A publisher that answered before and then does not (its PLI was lost, or
// it stopped answering): the viewer falls back to the cache after the answer
// window, and the next one starts from the cache at once.
func TestUnansweredRequestFallsBackToCache(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StartBurstMaxAge = 10 * time.Second // timing margin on a loaded machine
	r, pub, _ := setup(t, cfg)
	answeredProbe(pub, 1500*time.Millisecond)
	start := time.Now()
	_, sink, stop := subscribe(t, r, 0)
	defer stop()
	sink.wait(t, 1+37) // SPS, IDR and 36 P-frames
	if d := time.Since(start); d < keyframeAnswerWindow {
		t.Fatalf("fell back after %v, before the answer window %v", d, keyframeAnswerWindow)
	}
	_, tracks, _ := r.Lookup("s")
	if a := tracks[0].Answers(); a != AnswersNo {
		t.Fatalf("answers = %q after an unanswered request, want no", a)
	}
	start = time.Now()
	_, sink2, stop2 := subscribe(t, r, 0)
	defer stop2()
	sink2.wait(t, 2)
	if d := time.Since(start); d > keyframeAnswerWindow/2 {
		t.Fatalf("second viewer of a deaf publisher waited %v for the cache", d)
	}
}

// A publisher that cannot be asked (RTSP): a cached GOP within the bounds
// is sent at once; one beyond them is not sent at all, and the viewer starts
// at the next live keyframe.
func TestDeafPublisherBurstIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frames int // GOP length so far, 40 ms a picture
		burst  bool
	}{
		{"2s-gop-sent", 50, true},
		{"4s-gop-not-sent", 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry(DefaultConfig())
			t.Cleanup(r.Close)
			fp := newFakePub()
			pub, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}}, deafPub{fp}, PublisherInfo{})
			if err != nil {
				t.Fatal(err)
			}
			seq, ts := writeGOPs(pub, 1, tc.frames, time.Now())
			sub, sink, stop := subscribe(t, r, 0)
			defer stop()
			if tc.burst {
				sink.wait(t, 2+(tc.frames-1)*2)
				sink.mu.Lock()
				n := len(sink.seqs)
				sink.mu.Unlock()
				if n != 2+(tc.frames-1)*2 {
					t.Fatalf("viewer got %d packets, want the GOP's %d", n, 2+(tc.frames-1)*2)
				}
				return
			}
			// Running (it asked for a keyframe), so nothing below is drained.
			waitFor(t, func() bool { return fp.keyframes.Load() > 0 })
			writeAt(pub, seq, ts, aud, time.Now())
			writeAt(pub, seq+1, ts, pframe, time.Now())
			waitFor(t, func() bool { return sub.Skipped.Load() == 2 })
			writeAt(pub, seq+2, ts+3600, sps, time.Now())
			writeAt(pub, seq+3, ts+3600, idr, time.Now())
			sink.wait(t, 2)
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if len(sink.seqs) != 2 || sink.seqs[0] != seq+2 {
				t.Fatalf("viewer got seqs %v, want only the live SPS+IDR from %d: the %d-picture GOP is over the bound",
					sink.seqs, seq+2, tc.frames)
			}
		})
	}
}

// A viewer waiting for a keyframe asks again every KeyframeRequestInterval,
// not once and never again, and not per packet.
func TestWaitingViewerAsksPeriodically(t *testing.T) {
	cfg := DefaultConfig()
	cfg.KeyframeRequestInterval = 600 * time.Millisecond
	r, pub, fp := setup(t, cfg)
	writePkt(pub, 1, 3000, pframe) // no keyframe: nothing cached
	sub, _, stop := subscribe(t, r, 0)
	defer stop()
	waitFor(t, func() bool { return fp.keyframes.Load() == 1 })
	start := time.Now()
	seq, ts := uint16(2), uint32(6000)
	for time.Since(start) < 2*time.Second {
		writePkt(pub, seq, ts, pframe)
		seq, ts = seq+1, ts+3600
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, func() bool { return sub.Skipped.Load() >= uint64(seq-2) })
	// Requests at 0 (the join), then ≈ 0.6, 1.2, 1.8 s.
	if n := fp.keyframes.Load(); n < 3 || n > 5 {
		t.Fatalf("%d keyframe requests in 2 s of waiting, want about 4 (one per %v)", n, cfg.KeyframeRequestInterval)
	}
}
