package whep

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/streams"
)

// A viewer's NACK is answered from the track's shared history (there is no
// per-viewer responder any more): the packet comes again, same sequence
// number, same payload, and the egress's counts (those of its sender
// reports) include it: every packet the viewer received, once each.
func TestNACKAnsweredFromSharedHistory(t *testing.T) {
	video := make(chan *rtp.Packet, 256)
	hs := newHarness(t, video)
	write := func(seq uint16, ts uint32, payload ...byte) {
		p := streams.NewPacket()
		p.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, PayloadType: 102, SSRC: 7}
		p.SetPayload(payload)
		hs.pub.Write(0, p, time.Now())
	}
	// The session's writer starts once ICE connected; keep sending a
	// keyframe until the viewer sees one, then P-frames.
	deadline := time.After(10 * time.Second)
	var first *rtp.Packet
	seq := uint16(0)
	received := uint64(0)
	for first == nil {
		seq++
		write(seq, uint32(seq)*3000, 0x65, byte(seq))
		select {
		case first = <-video:
			received++
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("no video reached the viewer")
		}
	}
	// A UDP viewer is written directly by the producer (streams/direct.go).
	for !hs.sess.sub.Direct() {
		select {
		case <-deadline:
			t.Fatal("a UDP viewer did not switch to direct delivery")
		case <-time.After(5 * time.Millisecond):
		}
	}
	// Track numbering passes through to a viewer that never skipped.
	base := seq
	for i := 1; i <= 5; i++ {
		write(seq+uint16(i), uint32(100000+i*3000), 0x41, byte(i))
	}
	var lost *rtp.Packet
	for lost == nil {
		select {
		case p := <-video:
			received++
			if p.SequenceNumber == base+3 {
				lost = p
			}
		case <-deadline:
			t.Fatal("P-frames did not arrive")
		}
	}
	ssrc := lost.SSRC
	nack := &rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{base + 3})}
	if err := hs.viewer.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case p := <-video:
			received++
			if p.SequenceNumber == base+3 {
				if string(p.Payload) != string(lost.Payload) || p.Timestamp != lost.Timestamp {
					t.Fatalf("retransmission %x ts %d, original %x ts %d", p.Payload, p.Timestamp, lost.Payload, lost.Timestamp)
				}
				// Counted just after the send: the viewer can have
				// the packet first.
				for hs.sess.sub.Retransmitted.Load() == 0 {
					select {
					case <-deadline:
						t.Fatal("the retransmission was not counted")
					case <-time.After(time.Millisecond): // polling a condition, bounded by the deadline
					}
				}
				if n := hs.sess.sub.Retransmitted.Load(); n != 1 {
					t.Fatalf("Retransmitted = %d", n)
				}
				// Whatever was still on its way arrives; then the
				// counts must match.
				for quiet := false; !quiet; {
					select {
					case <-video:
						received++
					case <-time.After(300 * time.Millisecond):
						quiet = true
					}
				}
				if _, packets, _ := hs.sess.egress.Sent(0); packets != received {
					t.Fatalf("the egress counts %d packets sent, the viewer received %d", packets, received)
				}
				return
			}
		case <-deadline:
			t.Fatal("NACK not answered")
		}
	}
}
