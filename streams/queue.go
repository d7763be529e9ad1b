package streams

import (
	"context"
	"time"
)

// A subscriber not in direct delivery (direct.go) is written by its own
// goroutine from two bounded queues: video (and any other track) in queue,
// audio in audioQ, so that a reader too slow for the video drops video and
// skips to its next keyframe while the audio keeps flowing.

func (s *Subscription) queueOf(i int) chan queued {
	if s.tracks[i].track.Kind == KindAudio {
		return s.audioQ
	}
	return s.queue
}

// take writes one dequeued packet to sink, unless it waited too long.
func (s *Subscription) take(q queued, sink Sink) error {
	var err error
	if stale(q.pkt, time.Now()) {
		s.Dropped.Add(1)
		s.tracks[q.track].markDrop(q.pkt)
	} else {
		err = s.deliver(q.track, q.pkt, sink, q.pkt.Header.Timestamp)
	}
	q.pkt.Release()
	return err
}

// cacheSwitch: the subscription's loop stops so that its goroutine makes
// this track's layer switch from the cache (switch.go), then resumes.
type cacheSwitch int

func (cacheSwitch) Error() string { return "layer switch from the cache" }

// runQueued writes the queue to sink until the subscription ends or a
// layer switch needs the cache.
func (s *Subscription) runQueued(ctx context.Context, sink Sink, tick <-chan time.Time) error {
	for {
		select {
		case q := <-s.audioQ:
			if err := s.take(q, sink); err != nil {
				return err
			}
		case q := <-s.queue:
			if err := s.take(q, sink); err != nil {
				return err
			}
		case <-tick:
			if i := s.reselect(time.Now()); i >= 0 {
				return cacheSwitch(i)
			}
		case <-s.layerKick:
			if i := s.reselect(time.Now()); i >= 0 {
				return cacheSwitch(i)
			}
		case <-s.done:
			return s.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
