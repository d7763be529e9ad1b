package whep

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/streams"
)

// framePayload is packet k of picture f: distinct bytes, 1000 of them.
func framePayload(f, k int) []byte {
	b := bytes.Repeat([]byte{byte(f), byte(k), byte(f + k)}, 334)[:1000]
	b[0] = 0x41 // a non-IDR slice
	return b
}

// A real pion viewer, written by the fan-out workers through the batch
// path: every packet decrypts (the viewer's SRTP accepts it) and arrives
// byte for byte with gapless numbering; a picture's packets leave in far
// fewer system calls than packets; the sender reports count exactly what
// arrived and map NTP to RTP time as the track's clock runs.
func TestEgressPayloadsAndSenderReports(t *testing.T) {
	video := make(chan *rtp.Packet, 1024)
	hs := newHarness(t, video)
	deadline := time.After(15 * time.Second)
	const clock = 90000
	t0 := time.Now()
	base := uint32(1_000_000)
	tsAt := func(at time.Time) uint32 { return base + uint32(at.Sub(t0).Nanoseconds()*clock/1e9) }
	seq := uint16(100)
	write := func(payload []byte, at time.Time, marker bool) {
		p := streams.NewPacket()
		seq++
		p.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: tsAt(at), PayloadType: 102, Marker: marker}
		p.SetPayload(payload)
		hs.pub.Write(0, p, at)
	}
	// Keyframes until the viewer has one and the workers write it.
	received, octets := 0, 0
	for got := false; !got || !hs.sess.sub.Direct(); {
		write([]byte{0x65, 0x88, 0x84}, time.Now(), true)
		select {
		case <-video:
			received++
			octets += 3
			got = true
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("no video in direct delivery")
		}
	}
	for {
		select {
		case <-video:
			received++
			octets += 3
			continue
		case <-time.After(200 * time.Millisecond):
		}
		break
	}
	before := hs.engine.EgressStats()
	firstSeq := seq + 1
	const frames, perFrame = 30, 5
	for f := 0; f < frames; f++ {
		at := time.Now()
		for k := 0; k < perFrame; k++ {
			write(framePayload(f, k), at, k == perFrame-1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var lastTS uint32
	for n := 0; n < frames*perFrame; n++ {
		select {
		case p := <-video:
			off := int(p.SequenceNumber - firstSeq)
			if off != n {
				t.Fatalf("packet %d has sequence number %d, want %d", n, p.SequenceNumber, firstSeq+uint16(n))
			}
			if want := framePayload(off/perFrame, off%perFrame); !bytes.Equal(p.Payload, want) {
				t.Fatalf("packet %d: payload differs", n)
			}
			received++
			octets += len(p.Payload)
			lastTS = p.Timestamp
		case <-deadline:
			t.Fatalf("%d of %d packets arrived", n, frames*perFrame)
		}
	}
	after := hs.engine.EgressStats()
	if d := after.Datagrams - before.Datagrams; d != frames*perFrame {
		t.Fatalf("%d datagrams for %d packets", d, frames*perFrame)
	}
	calls := after.SendCalls - before.SendCalls
	t.Logf("%d packets in %d system calls (GSO %v)", frames*perFrame, calls, after.GSO)
	if after.GSO && calls > frames*perFrame/2 {
		t.Fatalf("%d system calls for %d packets of %d-packet pictures", calls, frames*perFrame, perFrame)
	}

	for {
		select {
		case sr := <-hs.reports:
			if int(sr.PacketCount) != received || int(sr.OctetCount) != octets {
				continue // sent before the last packets
			}
			at := ntpToTime(sr.NTPTime)
			// The track's clock: the last picture's timestamp at its
			// arrival, advancing at 90 kHz since.
			lastArrival := t0.Add(time.Duration(int64(lastTS-base) * 1e9 / clock))
			want := lastTS + uint32(at.Sub(lastArrival).Nanoseconds()*clock/1e9)
			if d := int32(sr.RTPTime - want); d < -90 || d > 90 {
				t.Fatalf("SR maps %v to RTP %d, want %d (%+d ticks)", at, sr.RTPTime, want, d)
			}
			if ssrc := hs.sess.sink.tracks[0].bound.Load().ssrc; sr.SSRC != ssrc {
				t.Fatalf("SR for SSRC %d, the track's is %d", sr.SSRC, ssrc)
			}
			return
		case <-deadline:
			t.Fatalf("no sender report with %d packets / %d octets", received, octets)
		}
	}
}

// ntpToTime converts a 64-bit NTP timestamp (RFC 5905 §6).
func ntpToTime(ntp uint64) time.Time {
	const ntpEpochOffset = 2208988800
	secs := int64(ntp>>32) - ntpEpochOffset
	nanos := int64((ntp & 0xffffffff) * uint64(time.Second) >> 32)
	return time.Unix(secs, nanos)
}
