package rtc

import (
	"net"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// egressStats count what Egress and Batch sent on the media socket.
type egressStats struct {
	datagrams atomic.Uint64 // RTP datagrams the socket accepted
	sendCalls atomic.Uint64 // system calls that sent them
	dropped   atomic.Uint64 // datagrams the socket refused
}

// EgressStats is a snapshot of the media socket's egress counters.
type EgressStats struct {
	Datagrams, SendCalls, Dropped uint64
	GSO                           bool // UDP GSO in use
}

// EgressStats reports what the viewers' egress sent on the media socket:
// datagrams per system call is the batching at work.
func (e *Engine) EgressStats() EgressStats {
	return EgressStats{Datagrams: e.stats.datagrams.Load(), SendCalls: e.stats.sendCalls.Load(),
		Dropped: e.stats.dropped.Load(), GSO: e.gso.Load()}
}

// initEgress prepares the media socket for batched sends: a large send
// buffer (a batch of a few hundred datagrams goes out in one call) and UDP
// GSO where the kernel has it.
func (e *Engine) initEgress() {
	e.udp = e.conn.(*net.UDPConn)
	_ = e.udp.SetWriteBuffer(4 << 20)
	e.batchConn = ipv4.NewPacketConn(e.udp)
	e.gso.Store(gsoSupported(e.udp) && !e.cfg.DisableGSO)
	e.single.New = func() any { return e.newBatch(slotBytes, 1) }
}
