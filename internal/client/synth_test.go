package client

import (
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/codec"
)

func TestSynthVideoRoundTrip(t *testing.T) {
	v := NewSynthVideo(SynthConfig{})
	var a SynthAssembler
	now := time.Unix(1_800_000_000, 123456789)
	var bytes, pkts int
	frames := 0
	for f := 0; f < 120; f++ {
		ps := v.Next(now)
		if v.IsKeyframe(uint64(f)) != codec.H264.Keyframe(ps[0].Payload) {
			t.Fatalf("frame %d: keyframe detection disagrees", f)
		}
		for i, p := range ps {
			if len(p.Payload) > 1200 {
				t.Fatalf("payload %d bytes", len(p.Payload))
			}
			if p.Marker != (i == len(ps)-1) {
				t.Fatal("marker not on the last packet only")
			}
			bytes += len(p.Payload)
			pkts++
			fr, ok := a.Push(&p.Header, p.Payload, now)
			if ok != (i == len(ps)-1) {
				t.Fatalf("frame %d packet %d: complete=%v", f, i, ok)
			}
			if ok {
				frames++
				if fr.Frame != uint64(f) || !fr.SentAt.Equal(now) || fr.Keyframe != v.IsKeyframe(uint64(f)) {
					t.Fatalf("frame %d parsed as %+v", f, fr)
				}
			}
		}
	}
	// 4 s at 2.5 Mbit/s, within 5 % (headers of SPS/PPS/FU-A add a little).
	if want := 2_500_000 / 8 * 4; bytes < want*95/100 || bytes > want*105/100 {
		t.Fatalf("%d payload bytes in 4 s, want ≈ %d", bytes, want)
	}
	if frames != 120 || a.Broken != 0 {
		t.Fatalf("%d frames whole, %d broken", frames, a.Broken)
	}
	t.Logf("%d packets/s video", pkts/4)

	// A lost fragment breaks exactly that picture.
	ps := v.Next(now)
	for i, p := range ps {
		if i == len(ps)-2 {
			continue
		}
		if _, ok := a.Push(&p.Header, p.Payload, now); ok {
			t.Fatal("a picture with a lost fragment counted as whole")
		}
	}
	ps = v.Next(now)
	for _, p := range ps {
		a.Push(&p.Header, p.Payload, now)
	}
	if a.Broken != 1 {
		t.Fatalf("broken = %d, want 1", a.Broken)
	}
}

func TestSynthAudioMark(t *testing.T) {
	a := NewSynthAudio(SynthConfig{})
	now := time.Now()
	for i := 0; i < 3; i++ {
		p := a.Next(now)
		m, err := ParseSynthAudio(p.Payload)
		if err != nil || m.Frame != uint64(i) || !m.SentAt.Equal(now) || len(p.Payload) != 160 {
			t.Fatalf("packet %d: %+v %v (%d bytes)", i, m, err, len(p.Payload))
		}
	}
}
