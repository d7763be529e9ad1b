package streams

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Why direct delivery: handing every packet to each subscriber's goroutine
// costs a channel operation and, when that goroutine sleeps (nearly always
// at a few hundred packets per second), a wake-up with a futex call and a
// context switch — several microseconds per viewer per packet, more than the
// write itself (SRTP + sendto ≈ 2–4 µs). A track instead hands each packet to
// a few workers (one per CPU), each writing its share of the viewers in
// turn: a handful of wake-ups per packet instead of one per viewer, all CPUs
// used, and the publisher's goroutine never waits for a write. A worker that
// falls behind overflows its bounded queue; its viewers then skip to the
// next keyframe, as a slow queued subscriber does, and the others are not
// affected.

// handOverTail: at most this many queued packets of each queue (video,
// audio), and what the producer queued meanwhile, are written while it
// waits on the hand-over lock.
const handOverTail = 4

// workerQueue bounds a fan-out worker's backlog: ≈ 0.75 s of a 2.5 Mbit/s
// stream with audio. Behind that, delay would only grow.
const workerQueue = 256

// fanout is a track's set of workers, started with the first direct
// subscriber and stopped with the track (Registry.Close waits for them).
type fanout struct {
	mu      sync.Mutex
	workers []*fanWorker
	closed  bool
	running atomic.Pointer[[]*fanWorker] // read by dispatch
}

// dispatch hands pkt to every worker without waiting; a full worker drops
// it and sends its subscribers to the next keyframe.
func (f *fanout) dispatch(pkt *Packet) {
	ws := f.running.Load()
	if ws == nil {
		return
	}
	for _, w := range *ws {
		if subs := w.subs.Load(); subs == nil || len(*subs) == 0 {
			continue
		}
		pkt.Retain()
		select {
		case w.ch <- pkt:
		default:
			pkt.Release()
			if subs := w.subs.Load(); subs != nil {
				for _, s := range *subs {
					s.Dropped.Add(1)
					s.tracks[w.track.Index].markDrop(pkt)
				}
			}
		}
	}
}

// join adds s to the least loaded worker, starting the workers if needed.
func (f *fanout) join(t *Track, s *Subscription) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	if f.workers == nil {
		for range max(1, runtime.GOMAXPROCS(0)) {
			w := newFanWorker(t)
			f.workers = append(f.workers, w)
			wg := &t.stream.reg.fanWorkers
			wg.Add(1)
			go func() { defer wg.Done(); w.run() }()
		}
		ws := f.workers
		f.running.Store(&ws)
	}
	w := f.workers[0]
	for _, o := range f.workers[1:] {
		if o.n < w.n {
			w = o
		}
	}
	list := []*Subscription{s}
	if old := w.subs.Load(); old != nil {
		list = append(append(make([]*Subscription, 0, len(*old)+1), *old...), s)
	}
	w.subs.Store(&list)
	w.n++
	return true
}

func (f *fanout) leave(s *Subscription) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.workers {
		old := w.subs.Load()
		if old == nil {
			continue
		}
		for k, o := range *old {
			if o == s {
				list := append(append(make([]*Subscription, 0, len(*old)-1), (*old)[:k]...), (*old)[k+1:]...)
				w.subs.Store(&list)
				w.n--
				return
			}
		}
	}
}

// close stops the workers (they release what they still hold). Idempotent.
func (f *fanout) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	f.running.Store(nil)
	for _, w := range f.workers {
		close(w.quit)
	}
}

// runDirect hands the subscription over to its tracks' workers. Under
// directMu (which every push takes while the subscription is queued) it
// drains the queue in order, joins the workers and switches to direct.
// Track.write pushes to queues before it dispatches to workers, so a packet
// is either still queued here, or reaches the worker after the join: none is
// lost; one that is both is dropped by deliver's arrival-index guard.
//
// A layer change may leave direct delivery for a while: the switch from a
// cached GOP is paced on the subscription's own goroutine (cacheSwitch),
// after which Run comes back here.
func (s *Subscription) runDirect(ctx context.Context, sink Sink, tick <-chan time.Time) error {
	s.directSink = sink
	s.batchSink, _ = sink.(BatchSink)
	s.directErr = make(chan error, 1)
	// Most of the backlog (live packets queued while the cached GOP was
	// paced out: dozens of video packets, up to a queue of audio) is
	// written before taking directMu: the producer takes that lock for
	// every push to this subscriber, and must not wait behind dozens of
	// writes.
	for _, queue := range [2]chan queued{s.audioQ, s.queue} {
		for range cap(queue) {
			if len(queue) <= handOverTail {
				break
			}
			q := <-queue
			err := s.deliver(q.track, q.pkt, sink, q.pkt.Header.Timestamp)
			q.pkt.Release()
			if err != nil {
				return err
			}
		}
	}
	s.directMu.Lock()
	for {
		var q queued
		select {
		case q = <-s.audioQ:
		case q = <-s.queue:
		default: // drained
		}
		if q.pkt == nil {
			break
		}
		err := s.deliver(q.track, q.pkt, sink, q.pkt.Header.Timestamp)
		q.pkt.Release()
		if err != nil {
			s.directMu.Unlock()
			return err
		}
	}
	for i := range s.tracks {
		if st := &s.tracks[i]; st.enabled && st.lay == nil && !st.track.fan.join(st.track, s) {
			s.directMu.Unlock()
			s.stopDirect(false)
			return ErrClosed
		}
	}
	if !s.syncFans() {
		s.directMu.Unlock()
		s.stopDirect(false)
		return ErrClosed
	}
	s.stopped.Store(false)
	s.direct.Store(true)
	s.directMu.Unlock()
	for {
		var cache int
		select {
		case err := <-s.directErr:
			s.stopDirect(false)
			return err
		case <-s.done:
			s.stopDirect(false)
			return s.err
		case <-ctx.Done():
			s.stopDirect(false)
			return ctx.Err()
		case <-tick:
			cache = s.reselect(time.Now())
		case <-s.layerKick:
			cache = s.reselect(time.Now())
		}
		if cache >= 0 {
			s.stopDirect(true)
			return cacheSwitch(cache)
		}
		if !s.syncFans() {
			s.stopDirect(false)
			return ErrClosed
		}
	}
}

// deliverDirect runs on a fan-out worker. st.mu is taken only by that
// worker and by stopDirect's barrier; it is never shared between viewers.
func (s *Subscription) deliverDirect(i int, pkt *Packet, b Batch) {
	if s.stopped.Load() {
		return
	}
	st := &s.tracks[i]
	if !st.takes(pkt.layer) {
		return // a layer this subscriber left or does not want
	}
	st.mu.Lock()
	var err error
	if !s.stopped.Load() {
		err = s.deliverTo(i, pkt, s.directSink, b, pkt.Header.Timestamp)
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

// stopDirect leaves the workers and waits for a write in flight, so the
// sink is not used after Run returns. With resume, the packets published
// from then on are queued again (no gap: one that is both queued and
// written by a worker is dropped by deliver's arrival-index guard), for
// runDirect to hand over once more.
func (s *Subscription) stopDirect(resume bool) {
	if resume {
		s.directMu.Lock()
		s.direct.Store(false)
		s.directMu.Unlock()
	}
	s.stopped.Store(true)
	s.leaveFans()
	for i := range s.tracks {
		st := &s.tracks[i]
		st.mu.Lock()
		st.mu.Unlock() //nolint:staticcheck // a barrier: waits for the worker's write in flight
	}
}

// Direct reports whether the subscription is in direct delivery.
func (s *Subscription) Direct() bool { return s.direct.Load() }
