package streams

import "sync"

// Retransmission history sizes, in packets per track. The history is shared
// by every subscriber of the track, so its memory does not grow with the
// audience (pion's NACK responder keeps a copy of every packet per viewer,
// ≈ 1.2 MB of video each at its default size). 512 packets are ≈ 2 s of a
// 2.5 Mbit/s video, far longer than any useful retransmission: a NACK is
// only worth answering within about one RTT plus the receiver's jitter
// buffer.
const (
	videoHistory = 512
	audioHistory = 64
)

// history is a ring of the track's newest packets indexed by sequence
// number. It holds a reference on each; the publisher's goroutine writes,
// subscribers' RTCP readers look up.
type history struct {
	mu   sync.Mutex
	ring []*Packet // power-of-two length
}

func newHistory(n int) history { return history{ring: make([]*Packet, n)} }

func (h *history) put(p *Packet) {
	if len(h.ring) == 0 {
		return
	}
	p.Retain()
	i := int(p.Header.SequenceNumber) & (len(h.ring) - 1)
	h.mu.Lock()
	old := h.ring[i]
	h.ring[i] = p
	h.mu.Unlock()
	if old != nil {
		old.Release()
	}
}

// get returns the packet with track sequence number seq, retained for the
// caller, or nil if it is no longer (or never was) in the ring.
func (h *history) get(seq uint16) *Packet {
	if len(h.ring) == 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.ring[int(seq)&(len(h.ring)-1)]
	if p == nil || p.Header.SequenceNumber != seq {
		return nil
	}
	p.Retain()
	return p
}

func (h *history) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, p := range h.ring {
		if p != nil {
			p.Release()
			h.ring[i] = nil
		}
	}
}
