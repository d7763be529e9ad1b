package streams

import (
	"bytes"
	"testing"

	"github.com/pion/rtcp"
)

// FuzzRetransmitNACK feeds a viewer's RTCP (any compound packet; a viewer
// holds its own SRTCP keys, so it can send anything) to the retransmission
// path a WHEP session runs for each NACKed sequence number (whep/nack.go).
// A NACK may only bring back packets this subscriber was really sent, with
// their own sequence number and payload, at most one per NACKed number,
// across the 16-bit wrap.
func FuzzRetransmitNACK(f *testing.F) {
	for _, pkts := range [][]rtcp.Packet{
		{&rtcp.TransportLayerNack{MediaSSRC: 1, Nacks: []rtcp.NackPair{{PacketID: 65500, LostPackets: 0xffff}}}},
		{&rtcp.TransportLayerNack{MediaSSRC: 1, Nacks: []rtcp.NackPair{{PacketID: 100, LostPackets: 0x8001}, {PacketID: 65530, LostPackets: 0xffff}}}},
		{&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: 0}, {PacketID: 0}, {PacketID: 0}}}},
		{&rtcp.PictureLossIndication{MediaSSRC: 1}, &rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: 200}}}},
	} {
		b, err := rtcp.Marshal(pkts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkts, err := rtcp.Unmarshal(data)
		if err != nil {
			return // dropped by the session before it gets here
		}
		var nacked []uint16
		for _, p := range pkts {
			if n, ok := p.(*rtcp.TransportLayerNack); ok {
				for _, pair := range n.Nacks {
					pair.Range(func(seq uint16) bool {
						nacked = append(nacked, seq)
						return true
					})
				}
			}
		}
		if len(nacked) == 0 {
			return
		}
		r, pub, fp := setup(t, DefaultConfig())
		sub, sink, stop := subscribe(t, r, 2*videoHistory)
		defer stop()
		waitFor(t, func() bool { return fp.keyframes.Load() > 0 })
		// A keyframe, then P-frames across the sequence number wrap; each
		// payload names its sequence number.
		const n = videoHistory + 200
		for i := 0; i < n; i++ {
			seq := uint16(65300 + i)
			payload := []byte{0x41, byte(seq >> 8), byte(seq)}
			if i == 0 {
				payload[0] = 0x65
			}
			writePkt(pub, seq, uint32(i*3000), payload)
		}
		sink.wait(t, n)
		sink.mu.Lock()
		sent := map[uint16][]byte{}
		for i, s := range sink.seqs {
			sent[s] = sink.pls[i]
		}
		sink.mu.Unlock()

		resent := 0
		for _, seq := range nacked {
			if !sub.Retransmit(0, seq, sink) {
				continue
			}
			resent++
			sink.mu.Lock()
			last, pl := sink.seqs[len(sink.seqs)-1], sink.pls[len(sink.pls)-1]
			sink.mu.Unlock()
			want, ok := sent[seq]
			if !ok || last != seq || !bytes.Equal(pl, want) {
				t.Fatalf("NACK %d brought back seq %d payload %x (sent: %v %x)", seq, last, pl, ok, want)
			}
		}
		if resent > len(nacked) {
			t.Fatalf("%d retransmissions for %d NACKed numbers", resent, len(nacked))
		}
		if got := sub.Retransmitted.Load(); got != uint64(resent) {
			t.Fatalf("Retransmitted = %d, resent %d", got, resent)
		}
	})
}
