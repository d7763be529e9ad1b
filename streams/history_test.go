package streams

import (
	"bytes"
	"testing"
)

// NACKs are answered from the track's shared history with the subscriber's
// own numbering; packets of the GOP-cache burst, packets not yet sent and
// packets evicted from the history are not.
func TestRetransmitFromSharedHistory(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	writePkt(pub, 100, 1000, idr) // cached GOP: goes out as the burst
	writePkt(pub, 101, 4000, pframe)
	sub, sink, stop := subscribe(t, r, 2*videoHistory)
	defer stop()
	sink.wait(t, 2)
	for i := 0; i < 5; i++ {
		writePkt(pub, uint16(102+i), uint32(7000+i*3000), []byte{0x41, byte(i)})
	}
	sink.wait(t, 7)

	if sub.Retransmit(0, 100, sink) || sub.Retransmit(0, 101, sink) {
		t.Fatal("a burst packet (retimed) was retransmitted with its original timestamp")
	}
	if sub.Retransmit(0, 107, sink) {
		t.Fatal("a packet never sent was retransmitted")
	}
	if !sub.Retransmit(0, 104, sink) {
		t.Fatal("NACK for a sent live packet not answered")
	}
	sink.wait(t, 8)
	sink.mu.Lock()
	got, seq, ts := sink.pls[7], sink.seqs[7], sink.ts[7]
	sink.mu.Unlock()
	if !bytes.Equal(got, []byte{0x41, 2}) || seq != 104 || ts != 13000 {
		t.Fatalf("retransmitted %x seq %d ts %d, want 4102 seq 104 ts 13000", got, seq, ts)
	}
	if sub.Retransmitted.Load() != 1 {
		t.Fatalf("Retransmitted = %d", sub.Retransmitted.Load())
	}

	// Push 104 out of the ring.
	for i := 0; i < videoHistory; i++ {
		writePkt(pub, uint16(107+i), uint32(22000+i*3000), pframe)
	}
	sink.wait(t, 8+videoHistory)
	if sub.Retransmit(0, 104, sink) {
		t.Fatal("a packet evicted from the history was retransmitted")
	}
}
