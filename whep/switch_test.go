package whep

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/streams"
)

// A publisher switch seen by a real pion viewer on the egress path (fan-out
// workers sealing into batches): the viewer keeps its SSRC and gap-free
// numbering although the new publisher starts at other sequence numbers and
// timestamps and its first packets (before its keyframe) are skipped for
// the viewer, which gives the viewer a numbering of its own. A packet the
// viewer then reports lost (its first copy discarded, as if the network
// had dropped it) comes again under the viewer's sequence number with the
// original payload and timestamp, through that per-viewer rewrite; and the
// sender reports afterwards count every packet and octet the viewer got,
// the retransmission included, and map NTP to RTP time on the switched
// timeline.
func TestEgressSwitchRewriteAndNACK(t *testing.T) {
	video := make(chan *rtp.Packet, 1024)
	hs := newHarness(t, video)
	deadline := time.After(20 * time.Second)
	recv := func(what string) *rtp.Packet {
		t.Helper()
		select {
		case p := <-video:
			return p
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
		return nil
	}
	received, octets := 0, 0
	count := func(p *rtp.Packet) { received++; octets += len(p.Payload) }
	write := func(pub *streams.Publication, seq uint16, ts uint32, at time.Time, payload []byte) {
		p := streams.NewPacket()
		p.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, PayloadType: 102, Marker: true}
		p.SetPayload(payload)
		pub.Write(0, p, at)
	}

	// The first publisher: keyframes until the viewer has one from the
	// fan-out workers, then what is still on its way.
	seq, ts := uint16(100), uint32(1_000_000)
	var last *rtp.Packet
	for last == nil || !hs.sess.sub.Direct() {
		seq++
		ts += 3000
		write(hs.pub, seq, ts, time.Now(), []byte{0x65, 0x88, byte(seq)})
		select {
		case p := <-video:
			count(p)
			last = p
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("no video in direct delivery")
		}
	}
	for quiet := false; !quiet; {
		select {
		case p := <-video:
			count(p)
			last = p
		case <-time.After(200 * time.Millisecond):
			quiet = true
		}
	}
	ssrc := last.SSRC

	// The publisher goes; another comes within the grace period.
	hs.pub.Close()
	pub2, err := hs.reg.Publish("s", []streams.TrackSpec{{Kind: streams.KindVideo, Codec: h264Codec},
		{Kind: streams.KindAudio, Codec: opusCodec}}, idlePub{}, streams.PublisherInfo{})
	if err != nil {
		t.Fatal(err)
	}
	// Mid-GOP first: three P-frames the viewer cannot decode and must not
	// get, then a keyframe and P-frames, from another numbering origin.
	seq2, ts2 := uint16(60000), uint32(7_000_000)
	for k := 0; k < 3; k++ {
		seq2++
		ts2 += 3000
		write(pub2, seq2, ts2, time.Now(), []byte{0x41, 0x9a, byte(k)})
	}
	const after = 8
	sentPayload := make([][]byte, after)
	var lastAt time.Time
	for k := 0; k < after; k++ {
		seq2++
		ts2 += 3000
		sentPayload[k] = []byte{0x41, 0x9b, byte(k), 0x55}
		if k == 0 {
			sentPayload[k][0] = 0x65
		}
		lastAt = time.Now()
		write(pub2, seq2, ts2, lastAt, sentPayload[k])
	}
	const lost = 4 // the picture whose first copy the viewer discards
	var lostCopy *rtp.Packet
	var lastTS uint32
	for k := 0; k < after; k++ {
		p := recv("the new publisher's pictures")
		if want := last.SequenceNumber + 1 + uint16(k); p.SequenceNumber != want {
			t.Fatalf("picture %d after the switch has sequence number %d, want %d (gap-free from %d)",
				k, p.SequenceNumber, want, last.SequenceNumber)
		}
		if p.SSRC != ssrc {
			t.Fatalf("SSRC %d after the switch, was %d", p.SSRC, ssrc)
		}
		if string(p.Payload) != string(sentPayload[k]) {
			t.Fatalf("picture %d after the switch: payload %x, want %x", k, p.Payload, sentPayload[k])
		}
		if k == 0 {
			// The new publisher's timeline continues the old one.
			if d := p.Timestamp - last.Timestamp; d == 0 || d > 90000*5 {
				t.Fatalf("timestamp step %d across the switch", d)
			}
		}
		lastTS = p.Timestamp
		if k == lost {
			lostCopy = p
			continue
		}
		count(p)
	}
	// The viewer's numbering is not the track's any more: the first
	// publisher passed through unchanged, the second continues the
	// track's numbering after it, and the three packets skipped for the
	// viewer shifted the viewer's.
	if trackSeq := seq + 3 + 1 + lost; lostCopy.SequenceNumber == trackSeq {
		t.Fatalf("the viewer's sequence number %d is the track's: no per-viewer rewrite exercised", trackSeq)
	}

	nack := &rtcp.TransportLayerNack{MediaSSRC: ssrc,
		Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{lostCopy.SequenceNumber})}
	if err := hs.viewer.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	re := recv("the retransmission")
	if re.SequenceNumber != lostCopy.SequenceNumber || re.SSRC != ssrc ||
		string(re.Payload) != string(sentPayload[lost]) || re.Timestamp != lostCopy.Timestamp {
		t.Fatalf("retransmission seq %d ssrc %d ts %d payload %x; lost seq %d ssrc %d ts %d payload %x",
			re.SequenceNumber, re.SSRC, re.Timestamp, re.Payload,
			lostCopy.SequenceNumber, ssrc, lostCopy.Timestamp, sentPayload[lost])
	}
	count(re)
	// The answer is counted just after its send, so the viewer can have
	// it first.
	for hs.sess.sub.Retransmitted.Load() == 0 {
		select {
		case <-deadline:
			t.Fatal("the retransmission was not counted")
		case <-time.After(time.Millisecond): // polling a condition, bounded by the deadline
		}
	}
	if n := hs.sess.sub.Retransmitted.Load(); n != 1 {
		t.Fatalf("Retransmitted = %d, want 1", n)
	}
	// The first copy went over the wire too: the reports count it.
	received++
	octets += len(lostCopy.Payload)

	for {
		select {
		case p := <-video:
			t.Fatalf("unexpected packet seq %d", p.SequenceNumber)
		case sr := <-hs.reports:
			if int(sr.PacketCount) != received || int(sr.OctetCount) != octets {
				if int(sr.PacketCount) > received {
					t.Fatalf("SR counts %d packets, the viewer got %d", sr.PacketCount, received)
				}
				continue // sent before the last packets
			}
			if sr.SSRC != ssrc {
				t.Fatalf("SR for SSRC %d, the viewer's is %d", sr.SSRC, ssrc)
			}
			// The track's clock after the switch: the last picture's
			// timestamp (as the viewer got it) at its arrival, 90 kHz on.
			at := ntpToTime(sr.NTPTime)
			want := lastTS + uint32(at.Sub(lastAt).Nanoseconds()*90000/1e9)
			if d := int32(sr.RTPTime - want); d < -90 || d > 90 {
				t.Fatalf("SR maps %v to RTP %d, want %d (%+d ticks)", at, sr.RTPTime, want, d)
			}
			return
		case <-deadline:
			t.Fatalf("no sender report with %d packets / %d octets", received, octets)
		}
	}
}
