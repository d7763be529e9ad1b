package client

import (
	"testing"
	"time"

	"github.com/pion/rtp"

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

// A server that re-packetizes (parameter sets aggregated in one STAP-A, the
// slice cut into larger FU-A fragments, as MediaMTX does) is measured by the
// pictures' sizes: every picture whole and the IDRs still keyframes; a lost
// fragment still breaks its picture.
func TestSynthAssemblerRepacketized(t *testing.T) {
	v := NewSynthVideo(SynthConfig{})
	a := SynthAssembler{MaxPayload: 1200}
	now := time.Unix(1_800_000_000, 0)
	var seq uint16
	whole, keyframes := 0, 0
	for f := 0; f < 62; f++ {
		out := repacketize(v.Next(now), 1400, &seq)
		for i, p := range out {
			if f == 61 && i == 2 {
				continue // lose one fragment of the last picture
			}
			if fr, ok := a.Push(&p.Header, p.Payload, now); ok {
				whole++
				if fr.Keyframe {
					keyframes++
				}
			}
		}
	}
	if whole != 61 || keyframes != 2 || a.Broken != 1 {
		t.Fatalf("%d whole, %d keyframes, %d broken; want 61, 2, 1", whole, keyframes, a.Broken)
	}
}

// repacketize rebuilds one picture's packets: SPS and PPS in one STAP-A, the
// slice in FU-A fragments of at most maxPayload bytes.
func repacketize(ps []*rtp.Packet, maxPayload int, seq *uint16) []rtp.Packet {
	var nal, stap []byte
	for _, p := range ps {
		switch codec.H264Type(p.Payload[0]) {
		case codec.H264TypeSPS, codec.H264TypePPS:
			stap = append(append(stap, byte(len(p.Payload)>>8), byte(len(p.Payload))), p.Payload...)
		case codec.H264TypeFUA:
			if p.Payload[1]&codec.FUStart != 0 {
				nal = append(nal, p.Payload[0]&0xe0|p.Payload[1]&0x1f)
			}
			nal = append(nal, p.Payload[2:]...)
		default:
			nal = append(nal, p.Payload...)
		}
	}
	var payloads [][]byte
	if stap != nil {
		payloads = append(payloads, append([]byte{codec.H264TypeSTAPA}, stap...))
	}
	if len(nal) <= maxPayload {
		payloads = append(payloads, nal)
	} else {
		body := nal[1:]
		for off := 0; off < len(body); off += maxPayload - 2 {
			end := min(off+maxPayload-2, len(body))
			h := nal[0] & 0x1f
			if off == 0 {
				h |= codec.FUStart
			}
			if end == len(body) {
				h |= codec.FUEnd
			}
			payloads = append(payloads, append([]byte{nal[0]&0xe0 | codec.H264TypeFUA, h}, body[off:end]...))
		}
	}
	out := make([]rtp.Packet, len(payloads))
	for i, pl := range payloads {
		*seq++
		out[i] = rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: *seq, Timestamp: ps[0].Timestamp,
			Marker: i == len(payloads)-1}, Payload: pl}
	}
	return out
}
