package streams

import (
	"sync/atomic"
	"time"
)

// maxBatch bounds how many waiting packets a worker writes viewer by viewer
// in one pass (an IDR of a 2.5 Mbit/s stream is ≈ 37).
const maxBatch = 64

// A video worker that holds part of a picture waits for the rest before its
// pass: at most frameGap after the last packet that arrived, frameWait in
// all. A publisher sends a picture's packets back to back (well under a
// millisecond apart through the ingest), and a viewer can do nothing with a
// picture before its last packet anyway, so the wait costs no latency worth
// the name; it lets each viewer's share of the picture leave in one message
// (a BatchSink's UDP GSO) instead of one per packet. The wait only starts once
// the track's publisher has been seen marking the ends of pictures (the RTP
// marker bit, RFC 6184 §5.1), so a source that never sets it costs nothing.
const (
	frameGap  = time.Millisecond
	frameWait = 3 * time.Millisecond
)

// fanWorker writes its share of a track's direct subscribers.
type fanWorker struct {
	track *Track
	ch    chan *Packet
	quit  chan struct{}
	subs  atomic.Pointer[[]*Subscription] // copy-on-write
	n     int                             // len(*subs), guarded by fanout.mu

	// Owned by the worker's goroutine:
	timer   *time.Timer
	marked  bool          // the track's publisher marks picture ends
	batches []workerBatch // one per BatchSink key among its subscribers
}

type workerBatch struct {
	key any
	b   Batch
}

func newFanWorker(t *Track) *fanWorker {
	tm := time.NewTimer(time.Hour)
	tm.Stop()
	return &fanWorker{track: t, ch: make(chan *Packet, workerQueue), quit: make(chan struct{}), timer: tm}
}

// run writes passes: every packet already waiting (up to maxBatch, e.g. a
// keyframe's fragments that arrived back to back) goes to one viewer after
// the other, viewer by viewer, rather than packet by packet to all viewers.
// The work is the same, but the first viewers have the whole picture early
// instead of every viewer waiting for the last fragment's round: latency
// spreads from 0 to the pass's time instead of all sitting at its end. The
// pass's batches are flushed at its end: one system call for all viewers.
func (w *fanWorker) run() {
	i := w.track.Index
	batch := make([]*Packet, 0, maxBatch)
	for {
		select {
		case pkt := <-w.ch:
			batch = w.gather(append(batch[:0], pkt))
			w.write(i, batch)
			for k, p := range batch {
				p.Release()
				batch[k] = nil
			}
		case <-w.quit:
			for {
				select {
				case pkt := <-w.ch:
					pkt.Release()
				default:
					return
				}
			}
		}
	}
}

// gather adds the packets already waiting and, on video, the rest of an
// unfinished picture (see frameGap).
func (w *fanWorker) gather(batch []*Packet) []*Packet {
	var deadline time.Time
	for len(batch) < maxBatch {
		select {
		case p := <-w.ch:
			batch = append(batch, p)
			continue
		default:
		}
		last := batch[len(batch)-1]
		if last.Header.Marker {
			w.marked = true
			return batch
		}
		if !w.marked || w.track.Kind != KindVideo {
			return batch
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(frameWait)
		}
		wait := min(frameGap, deadline.Sub(now))
		if wait <= 0 {
			return batch
		}
		w.timer.Reset(wait)
		select {
		case p := <-w.ch:
			w.timer.Stop()
			batch = append(batch, p)
		case <-w.timer.C:
			return batch
		case <-w.quit:
			w.timer.Stop()
			return batch
		}
	}
	return batch
}

func (w *fanWorker) write(i int, batch []*Packet) {
	subs := w.subs.Load()
	if subs == nil {
		return
	}
	for _, s := range *subs {
		b := w.batchFor(s)
		if b != nil && !b.Room(len(batch)) {
			b.Flush() // before the viewer's lock is taken, never under it
		}
		for _, p := range batch {
			// Checked per write: the worker may have stalled in the
			// previous one (a clock read costs a few % of a write).
			if stale(p, time.Now()) {
				s.Dropped.Add(1)
				s.tracks[i].markDrop(p)
				continue
			}
			s.deliverDirect(i, p, b)
		}
	}
	for _, wb := range w.batches {
		wb.b.Flush()
	}
}

// batchFor is the worker's batch for s's sink, made on first use; nil for
// a sink that does not batch.
func (w *fanWorker) batchFor(s *Subscription) Batch {
	bs := s.batchSink
	if bs == nil {
		return nil
	}
	key := bs.BatchKey()
	for _, wb := range w.batches {
		if wb.key == key {
			return wb.b
		}
	}
	b := bs.NewBatch()
	w.batches = append(w.batches, workerBatch{key: key, b: b})
	return b
}
