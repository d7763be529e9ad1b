package rtc

import (
	"net"

	"golang.org/x/net/ipv4"
)

// A Batch collects encrypted RTP for the media socket and sends it with
// sendmmsg: one system call for every viewer a fan-out pass wrote, instead
// of one sendto per packet per viewer. Consecutive packets to one address
// whose sizes allow it (the equal-sized fragments of one picture, the last
// one shorter) become one UDP GSO message (gso_linux.go), so the kernel's
// stack is also traversed once per picture and viewer rather than per
// packet. Packets are sealed straight into the batch's buffer (Egress), so
// nothing is copied after encryption.
//
// A Batch belongs to one goroutine (a fan-out worker); it holds no lock and
// never blocks: sends are MSG_DONTWAIT, and a datagram the socket refuses
// is dropped and counted (EgressStats), as the network would drop it, for
// the viewer's NACK to repair.
type Batch struct {
	e    *Engine
	buf  []byte
	used int
	msgs []ipv4.Message
	bufs [][]byte // msgs[i].Buffers = bufs[i : i+1]
	oob  []byte   // one GSO control message per msgs entry
	segs []int    // datagrams in msgs[i]
	size []int    // their size (the last may be shorter)

	// the last message, while more segments may join it
	last     *net.UDPAddr
	segSize  int
	lastOpen bool
}

const (
	batchBytes = 256 << 10 // ≈ 200 full-size packets between flushes
	batchMsgs  = 256
	// slotBytes bounds one sealed packet: header with a header extension,
	// the largest payload a track carries, the SRTP tag.
	slotBytes = 1600
)

// NewBatch returns an empty batch for the engine's media socket.
func (e *Engine) NewBatch() *Batch { return e.newBatch(batchBytes, batchMsgs) }

func (e *Engine) newBatch(bytes, msgs int) *Batch {
	return &Batch{
		e:    e,
		buf:  make([]byte, bytes),
		msgs: make([]ipv4.Message, 0, msgs),
		bufs: make([][]byte, msgs),
		oob:  make([]byte, msgs*gsoOOBLen),
		segs: make([]int, msgs),
		size: make([]int, msgs),
	}
}

// Room reports whether n more packets fit (streams.Batch): the fan-out
// worker flushes before a viewer's share of a pass when they do not, so
// that slot never has to send while the worker holds the viewer's lock.
func (b *Batch) Room(n int) bool {
	return b.used+n*slotBytes <= len(b.buf) && len(b.msgs)+n <= cap(b.msgs)
}

// slot returns room for one sealed packet (len 0, cap slotBytes), flushing
// first when the batch is full (a caller that wrote more than Room allowed).
func (b *Batch) slot() []byte {
	if b.used+slotBytes > len(b.buf) || len(b.msgs) == cap(b.msgs) {
		b.Flush()
	}
	return b.buf[b.used : b.used : b.used+slotBytes]
}

// commit queues the n bytes just sealed into the last slot for addr.
func (b *Batch) commit(addr *net.UDPAddr, n int) {
	start := b.used
	b.used += n
	if k := len(b.msgs) - 1; b.lastOpen && addr == b.last && n <= b.segSize &&
		b.segs[k] < maxGSOSegments && len(b.bufs[k])+n <= maxGSOBytes && b.e.gso.Load() {
		// Joins the previous message: it follows it in the buffer.
		b.bufs[k] = b.bufs[k][:len(b.bufs[k])+n]
		b.segs[k]++
		if b.segs[k] == 2 {
			oob := b.oob[k*gsoOOBLen : (k+1)*gsoOOBLen]
			putGSO(oob, b.segSize)
			b.msgs[k].OOB = oob
		}
		// Only the last segment may be shorter than the others.
		b.lastOpen = n == b.segSize
		return
	}
	k := len(b.msgs)
	b.bufs[k] = b.buf[start:b.used]
	b.segs[k], b.size[k] = 1, n
	b.msgs = append(b.msgs, ipv4.Message{Buffers: b.bufs[k : k+1], Addr: addr})
	b.last, b.segSize, b.lastOpen = addr, n, true
}

// Len is the number of datagrams waiting.
func (b *Batch) Len() int {
	n := 0
	for k := range b.msgs {
		n += b.segs[k]
	}
	return n
}

// Flush sends everything waiting and empties the batch.
func (b *Batch) Flush() {
	for off := 0; off < len(b.msgs); {
		n, err := b.e.batchConn.WriteBatch(b.msgs[off:], msgDontWait)
		b.e.stats.datagrams.Add(uint64(b.count(off, off+n)))
		b.e.stats.sendCalls.Add(1)
		off += n
		if err == nil || off >= len(b.msgs) {
			continue
		}
		// msgs[off] was refused (sendmmsg reports an error only when no
		// message went out).
		if b.segs[off] > 1 && gsoRefused(err) {
			// The route's device cannot segment: send this one datagram
			// by datagram and never ask again.
			b.e.gso.Store(false)
			b.e.log.Warn("UDP GSO refused by the route's device; sending datagram by datagram", "error", err)
			b.unsegment(off)
		} else {
			b.e.stats.dropped.Add(uint64(b.segs[off]))
		}
		off++
	}
	for k := range b.msgs {
		b.msgs[k] = ipv4.Message{}
		b.bufs[k] = nil
	}
	b.msgs = b.msgs[:0]
	b.used = 0
	b.last, b.lastOpen = nil, false
}

func (b *Batch) count(from, to int) int {
	n := 0
	for k := from; k < to; k++ {
		n += b.segs[k]
	}
	return n
}

// unsegment sends message k's datagrams one by one.
func (b *Batch) unsegment(k int) {
	addr, _ := b.msgs[k].Addr.(*net.UDPAddr)
	for all := b.bufs[k]; len(all) > 0; {
		d := all[:min(b.size[k], len(all))]
		all = all[len(d):]
		if _, err := b.e.udp.WriteToUDP(d, addr); err != nil {
			b.e.stats.dropped.Add(1)
		} else {
			b.e.stats.datagrams.Add(1)
		}
		b.e.stats.sendCalls.Add(1)
	}
}
