package streams

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// DefaultQueueSize bounds a subscriber's queue: about one second of a
// 2.5 Mbit/s video plus its audio. A subscriber further behind than that skips
// to the next keyframe instead of building up delay.
const DefaultQueueSize = 320

// Sink receives a subscriber's packets on the subscriber's own goroutine.
// hdr is scratch space owned by the subscription: the sink may rewrite SSRC and
// payload type in place but must not keep hdr or payload after returning.
type Sink interface {
	WriteRTP(track int, hdr *rtp.Header, payload []byte) error
}

// SubscribeOptions configure a subscription.
type SubscribeOptions struct {
	// Tracks the subscriber negotiated, from the stream's current track list.
	Tracks []*Track
	// QueueSize overrides DefaultQueueSize.
	QueueSize int
	Info      SubscriberInfo
}

// SubscriberInfo describes a subscriber for listings and logs.
type SubscriberInfo struct {
	Protocol   string // "whep", "rtsp"
	SessionID  string
	RemoteAddr string
}

type queued struct {
	track int
	pkt   *Packet
}

// Subscription is one reader of a stream.
type Subscription struct {
	stream *Stream
	info   SubscriberInfo
	since  time.Time
	queue  chan queued
	tracks []subTrack // indexed by stream track index

	done    chan struct{}
	endOnce sync.Once
	err     error

	hdr   rtp.Header // scratch header handed to the sink
	burst []*Packet  // scratch for the cached GOP at start

	Sent    atomic.Uint64
	Dropped atomic.Uint64 // dropped because the queue was full
	Skipped atomic.Uint64 // not sent while waiting for a keyframe
}

// subTrack is the subscriber's view of one stream track.
type subTrack struct {
	track    *Track
	enabled  bool
	overflow atomic.Bool // set by the producer when a packet was dropped

	// consumer-only state
	started bool
	waiting bool // video: wait for a keyframe before forwarding
	resync  bool
	gen     uint32
	seqOff  uint16
	lastOut uint16
	// dedup: the cached GOP was delivered up to track sequence dedupUntil;
	// queued copies of those packets are dropped (see Track.write).
	dedup      bool
	dedupUntil uint16
}

// push is the producer side: never blocks.
func (s *Subscription) push(i int, pkt *Packet) {
	if i >= len(s.tracks) || !s.tracks[i].enabled {
		return
	}
	pkt.Retain()
	select {
	case s.queue <- queued{track: i, pkt: pkt}:
	default:
		pkt.Release()
		s.Dropped.Add(1)
		s.tracks[i].overflow.Store(true)
	}
}

// Done is closed when the subscription ends (publisher gone, codec change,
// kicked, or closed).
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err says why the subscription ended; valid after Done is closed.
func (s *Subscription) Err() error {
	<-s.done
	return s.err
}

// Stream returns the subscribed stream.
func (s *Subscription) Stream() *Stream { return s.stream }

// RequestKeyframe forwards a reader's keyframe request (a viewer's PLI/FIR)
// to the publisher through the track's throttle.
func (s *Subscription) RequestKeyframe(i int) {
	if i >= 0 && i < len(s.tracks) && s.tracks[i].enabled {
		s.tracks[i].track.RequestKeyframe()
	}
}

// Run delivers packets to sink until the subscription ends, ctx is done, or
// the sink fails. It must be called from exactly one goroutine.
func (s *Subscription) Run(ctx context.Context, sink Sink) error {
	// Whatever queued before the reader could write is stale: start live,
	// from the cached GOP where there is one.
	s.drain()
	defer s.drain()
	for i := range s.tracks {
		if st := &s.tracks[i]; st.enabled && st.track.Kind == KindVideo {
			st.waiting = true
			if err := s.startFromCache(i, sink); err != nil {
				return err
			}
			if st.waiting {
				// No usable GOP yet (keyframe-less start, or the cache
				// overflowed): wait for the publisher's next keyframe.
				st.track.RequestKeyframe()
			}
		}
	}
	for {
		select {
		case q := <-s.queue:
			err := s.deliver(q.track, q.pkt, sink, q.pkt.Header.Timestamp)
			q.pkt.Release()
			if err != nil {
				return err
			}
		case <-s.done:
			return s.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// startFromCache delivers track i's cached GOP, keyframe first, before any
// live packet. The packets go out at once, not at their original pace, with
// their RTP timestamps squeezed into consecutive ticks just before the
// newest cached picture's real timestamp: the viewer's decoder runs through
// the GOP immediately and shows the newest picture, and the live packets that
// follow keep their own timestamps, so the viewer is live from the first
// frame on, with no lasting delay and no timestamp jump. Replaying at the
// original pace would instead leave the viewer as far behind live as the GOP
// was old, forever (a jitter buffer never catches up by itself), and starting
// at the latest keyframe alone would forward P-frames whose references the
// viewer never got.
func (s *Subscription) startFromCache(i int, sink Sink) error {
	st := &s.tracks[i]
	s.burst = st.track.gop.snapshot(s.burst[:0])
	defer func() {
		for j, p := range s.burst {
			p.Release()
			s.burst[j] = nil
		}
	}()
	if len(s.burst) == 0 {
		return nil
	}
	frames := 1
	for j := 1; j < len(s.burst); j++ {
		if s.burst[j].Header.Timestamp != s.burst[j-1].Header.Timestamp {
			frames++
		}
	}
	last := s.burst[len(s.burst)-1].Header
	frame := 0
	for j, p := range s.burst {
		if j > 0 && p.Header.Timestamp != s.burst[j-1].Header.Timestamp {
			frame++
		}
		if err := s.deliver(i, p, sink, last.Timestamp-uint32(frames-1-frame)); err != nil {
			return err
		}
	}
	if !st.waiting {
		st.dedup = true
		st.dedupUntil = last.SequenceNumber
	}
	return nil
}

// deliver writes pkt to the sink with timestamp ts (normally the packet's own).
func (s *Subscription) deliver(i int, pkt *Packet, sink Sink, ts uint32) error {
	st := &s.tracks[i]
	if st.dedup {
		if pkt.gen == st.gen && int16(pkt.Header.SequenceNumber-st.dedupUntil) <= 0 {
			return nil // already sent from the GOP cache
		}
		st.dedup = false
	}
	if st.overflow.Swap(false) {
		st.resync = true
		if st.track.Kind == KindVideo {
			st.waiting = true
		}
	}
	if pkt.gen != st.gen {
		// A new publisher: its first pictures reference nothing we sent.
		st.gen = pkt.gen
		if st.track.Kind == KindVideo && st.started {
			st.waiting = true
		}
	}
	if st.waiting {
		if !pkt.Keyframe {
			s.Skipped.Add(1)
			st.track.RequestKeyframe()
			return nil
		}
		st.waiting = false
		st.resync = true
	}
	h := &s.hdr
	*h = pkt.Header
	h.Timestamp = ts
	switch {
	case !st.started:
		st.started = true
		st.resync = false
		st.lastOut = pkt.Header.SequenceNumber - 1
	case st.resync:
		// Close the gap left by skipped packets so the reader does not
		// NACK packets that will never come.
		st.seqOff = st.lastOut + 1 - pkt.Header.SequenceNumber
		st.resync = false
	}
	h.SequenceNumber += st.seqOff
	if int16(h.SequenceNumber-st.lastOut) > 0 {
		st.lastOut = h.SequenceNumber
	}
	if err := sink.WriteRTP(i, h, pkt.Payload); err != nil {
		return err
	}
	s.Sent.Add(1)
	return nil
}

func (s *Subscription) drain() {
	for {
		select {
		case q := <-s.queue:
			q.pkt.Release()
		default:
			return
		}
	}
}

// end finishes the subscription with err; the first call wins.
func (s *Subscription) end(err error) {
	s.endOnce.Do(func() {
		s.err = err
		close(s.done)
	})
}

// Close leaves the stream. Idempotent.
func (s *Subscription) Close() {
	s.end(ErrClosed)
	s.stream.reg.unsubscribe(s)
}

// Info describes the subscriber.
func (s *Subscription) Info() SubscriberInfo { return s.info }

// Since is when the subscription started.
func (s *Subscription) Since() time.Time { return s.since }
