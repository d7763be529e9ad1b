package streams

import "context"

// NonBlockingSink is a Sink whose writes never wait for the reader: a WebRTC
// viewer on UDP, where a write is SRTP plus one sendto on the shared socket
// and a slow viewer only loses packets. Such a subscriber is written by the
// track's producer itself once it has started (direct delivery): no queue,
// no goroutine hand-off per packet. Sinks that can block (a TCP connection
// whose window is full) must not implement it or must return false, or one
// slow reader would stall every reader of the stream.
type NonBlockingSink interface {
	Sink
	NonBlocking() bool
}

// Why direct delivery: handing every packet to each subscriber's goroutine
// costs a channel operation and, when that goroutine sleeps, a wake-up with
// a futex call and a context switch — several microseconds per viewer per
// packet, more than the write itself (SRTP + sendto ≈ 2 µs). Writing from
// the producer costs the write alone; the producer's goroutine (one per
// published track) becomes the fan-out loop.

// runDirect hands the subscription over to the producers: it drains what
// the queue still holds, in order, while pushes wait on directMu, then
// switches to direct delivery and waits for the end.
func (s *Subscription) runDirect(ctx context.Context, sink Sink) error {
	s.directSink = sink
	s.directErr = make(chan error, 1)
	s.directMu.Lock()
	for drained := false; !drained; {
		select {
		case q := <-s.queue:
			err := s.deliver(q.track, q.pkt, sink, q.pkt.Header.Timestamp)
			q.pkt.Release()
			if err != nil {
				s.directMu.Unlock()
				return err
			}
		default:
			drained = true
		}
	}
	s.direct.Store(true)
	s.directMu.Unlock()
	defer s.stopDirect()
	select {
	case err := <-s.directErr:
		return err
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deliverDirect runs on the producer's goroutine. st.mu is only ever
// contended in the instant a replaced publisher's last write overlaps its
// successor's first; it is never shared between viewers.
func (s *Subscription) deliverDirect(i int, pkt *Packet) {
	if s.stopped.Load() {
		return
	}
	st := &s.tracks[i]
	st.mu.Lock()
	var err error
	if !s.stopped.Load() {
		err = s.deliver(i, pkt, s.directSink, pkt.Header.Timestamp)
	}
	st.mu.Unlock()
	if err != nil {
		s.stopped.Store(true)
		select {
		case s.directErr <- err:
		default:
		}
	}
}

// stopDirect ends direct delivery and waits for writes in flight, so the
// sink is not used after Run returns.
func (s *Subscription) stopDirect() {
	s.stopped.Store(true)
	for i := range s.tracks {
		s.tracks[i].mu.Lock()
		s.tracks[i].mu.Unlock() //nolint:staticcheck // a barrier: waits for the producer's write in flight
	}
}

// Direct reports whether the subscription is in direct delivery.
func (s *Subscription) Direct() bool { return s.direct.Load() }
