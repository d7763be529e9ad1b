package rtc

import (
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkEgressSend is the media socket's cost per datagram for one
// fan-out pass: a picture of 8 packets (7 of 1200 bytes, a shorter last)
// to each of 16 receivers on loopback, sent with one sendto per datagram,
// with one sendmmsg for the pass (GSO off), and with one sendmmsg whose
// messages are a receiver's picture each (UDP GSO). The receivers drain
// their sockets, so the kernel's receive side is in the figure too, as it
// is on a machine whose viewers are local; sender-cpu-ns/datagram is the
// sending thread's own CPU time (getrusage), which other load on the
// machine does not inflate as it does the wall-clock ns/op.
func BenchmarkEgressSend(b *testing.B) {
	const receivers, perPicture = 16, 8
	for _, mode := range []string{"sendto", "sendmmsg", "sendmmsg+gso"} {
		b.Run(mode, func(b *testing.B) {
			e, err := NewEngine(EngineConfig{UDPAddr: "127.0.0.1:0", DisableGSO: mode != "sendmmsg+gso",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			if mode == "sendmmsg+gso" && !e.gso.Load() {
				b.Skip("the kernel has no UDP GSO")
			}
			addrs := make([]*net.UDPAddr, receivers)
			for i := range addrs {
				addrs[i] = drain(b)
			}
			pkt := make([]byte, 1200)
			batch := e.NewBatch()
			b.ReportAllocs()
			b.SetBytes(int64(receivers * (perPicture*1200 - 600)))
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, a := range addrs {
					for k := 0; k < perPicture; k++ {
						n := 1200
						if k == perPicture-1 {
							n = 600
						}
						if mode == "sendto" {
							_, _ = e.udp.WriteToUDP(pkt[:n], a)
							continue
						}
						s := append(batch.slot(), pkt[:n]...)
						batch.commit(a, len(s))
					}
				}
				batch.Flush()
			}
			datagrams := float64(b.N * receivers * perPicture)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/datagrams, "ns/datagram")
			b.ReportMetric(float64(threadCPU(b)-cpu0)/datagrams, "sender-cpu-ns/datagram")
		})
	}
}

// threadCPU is the calling thread's CPU time (user + system) in ns.
func threadCPU(tb testing.TB) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		tb.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// drain is a loopback receiver that reads and discards until the test ends.
func drain(tb testing.TB) *net.UDPAddr {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr)
}
