package rtc

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

func testEngine(t *testing.T, disableGSO bool) *Engine {
	t.Helper()
	e, err := NewEngine(EngineConfig{UDPAddr: "127.0.0.1:0", DisableGSO: disableGSO, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// receiver reads datagrams on loopback until closed.
func receiver(t *testing.T) (*net.UDPAddr, <-chan []byte) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(1 << 20)
	out := make(chan []byte, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			out <- append([]byte(nil), buf[:n]...)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr), out
}

// One flush sends every viewer's packets in one system call; with GSO, a
// viewer's run of equal-sized packets (and a shorter last one) is one
// message. Either way every receiver gets exactly its datagrams, in order,
// byte for byte.
func TestBatchOneCallPerPass(t *testing.T) {
	for _, noGSO := range []bool{false, true} {
		t.Run(fmt.Sprintf("disableGSO=%v", noGSO), func(t *testing.T) {
			e := testEngine(t, noGSO)
			b := e.NewBatch()
			type rx struct {
				addr *net.UDPAddr
				ch   <-chan []byte
				want [][]byte
			}
			rxs := make([]*rx, 3)
			for i := range rxs {
				a, ch := receiver(t)
				rxs[i] = &rx{addr: a, ch: ch}
			}
			// A picture per receiver: 5 full fragments, a short last one,
			// then a packet of another size (a new message under GSO).
			for i, r := range rxs {
				for k, size := range []int{1200, 1200, 1200, 1200, 1200, 700, 300} {
					d := bytes.Repeat([]byte{byte(16*i + k)}, size)
					s := b.slot()
					s = append(s, d...)
					b.commit(r.addr, len(s))
					r.want = append(r.want, d)
				}
			}
			wantMsgs := 21
			if e.gso.Load() {
				wantMsgs = 6
			}
			if len(b.msgs) != wantMsgs || b.Len() != 21 {
				t.Fatalf("%d messages for %d datagrams, want %d for 21", len(b.msgs), b.Len(), wantMsgs)
			}
			before := e.EgressStats()
			b.Flush()
			after := e.EgressStats()
			if calls, n := after.SendCalls-before.SendCalls, after.Datagrams-before.Datagrams; calls != 1 || n != 21 {
				t.Fatalf("%d datagrams in %d calls, want 21 in 1", n, calls)
			}
			for i, r := range rxs {
				for k, want := range r.want {
					select {
					case got := <-r.ch:
						if !bytes.Equal(got, want) {
							t.Fatalf("receiver %d datagram %d: %d bytes of %x, want %d of %x", i, k, len(got), got[0], len(want), want[0])
						}
					case <-time.After(5 * time.Second):
						t.Fatalf("receiver %d: datagram %d missing", i, k)
					}
				}
			}
			if b.Len() != 0 || b.used != 0 {
				t.Fatal("the batch is not empty after Flush")
			}
		})
	}
}

// GSO's limits: at most maxGSOSegments datagrams and maxGSOBytes per
// message, and a packet larger than the run's size starts a new one.
func TestBatchGSOLimits(t *testing.T) {
	e := testEngine(t, false)
	if !e.gso.Load() {
		t.Skip("the kernel has no UDP GSO")
	}
	b := e.NewBatch()
	addr, ch := receiver(t)
	for range 70 {
		s := append(b.slot(), make([]byte, 100)...)
		b.commit(addr, len(s))
	}
	s := append(b.slot(), make([]byte, 200)...)
	b.commit(addr, len(s))
	if len(b.msgs) != 3 || b.segs[0] != maxGSOSegments || b.segs[1] != 6 || b.segs[2] != 1 {
		t.Fatalf("%d messages, segments %v", len(b.msgs), b.segs[:len(b.msgs)])
	}
	b.Flush()
	for k := range 71 {
		select {
		case got := <-ch:
			if want := 100 + 100*(k/70); len(got) != want {
				t.Fatalf("datagram %d: %d bytes, want %d", k, len(got), want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("datagram %d missing", k)
		}
	}
}

// A message the device refuses to segment is sent datagram by datagram.
func TestBatchUnsegment(t *testing.T) {
	e := testEngine(t, false)
	if !e.gso.Load() {
		t.Skip("the kernel has no UDP GSO")
	}
	b := e.NewBatch()
	addr, ch := receiver(t)
	for _, n := range []int{500, 500, 120} {
		s := append(b.slot(), bytes.Repeat([]byte{byte(n)}, n)...)
		b.commit(addr, len(s))
	}
	if len(b.msgs) != 1 {
		t.Fatalf("%d messages", len(b.msgs))
	}
	b.unsegment(0)
	for _, n := range []int{500, 500, 120} {
		select {
		case got := <-ch:
			if len(got) != n || got[0] != byte(n) {
				t.Fatalf("got %d bytes of %x, want %d", len(got), got[0], n)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("datagram missing")
		}
	}
}
