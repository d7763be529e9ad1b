package rtc

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/wishgate/wishgate/streams"
)

// A TCP viewer that stops reading fills its queue; from then on its packets
// are dropped (streams.ErrDropped) and the writer of a fan-out pass never
// waits. Closing the connection (as pion does with the peer connection)
// ends the writer.
func TestTCPWriterNeverBlocks(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	peer, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close() // never read: its window closes
	_ = peer.(*net.TCPConn).SetReadBuffer(4096)
	conn := <-accepted
	_ = conn.(*net.TCPConn).SetWriteBuffer(4096)

	w := newTCPWriter(conn, "peer")
	start := time.Now()
	dropped := 0
	for i := 0; i < 5000 && dropped < 100; i++ {
		f := w.frame()
		if f == nil {
			dropped++
			continue
		}
		f.n = 1202
		switch err := w.push(f); {
		case errors.Is(err, streams.ErrDropped):
			dropped++
		case err != nil:
			t.Fatal(err)
		}
	}
	if dropped < 100 {
		t.Fatalf("only %d drops from a viewer that never reads", dropped)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("pushing to a stalled viewer took %v", d)
	}
	w.close()
	conn.Close()
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the writer did not end when its connection closed")
	}
}
