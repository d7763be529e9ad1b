package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wishgate/wishgate/streams"
)

// relays are the streams this node pulls from other nodes, one relay
// (one goroutine) per stream however many local readers it has.
type relays struct {
	n      *Node
	mu     sync.Mutex
	m      map[string]*relay
	closed bool
	wg     sync.WaitGroup
}

func newRelays(n *Node) *relays { return &relays{n: n, m: map[string]*relay{}} }

// touch wakes the relay of name, if any: its readers, owner or pull changed.
func (rs *relays) touch(name string) {
	rs.mu.Lock()
	r := rs.m[name]
	rs.mu.Unlock()
	if r != nil {
		r.poke()
	}
}

// reader records that a local reader of name came or went, whether or not
// the relay's goroutine looks before the next change.
func (rs *relays) reader(name string) {
	rs.mu.Lock()
	r := rs.m[name]
	rs.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	r.lastReader = time.Now()
	r.holdUntil = time.Time{} // the reader that was negotiating has arrived (or left)
	r.mu.Unlock()
	r.poke()
}

// ensure returns the relay of name, started if needed; nil when closing.
func (rs *relays) ensure(name string) *relay {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return nil
	}
	r := rs.m[name]
	if r == nil {
		r = newRelay(rs, name)
		rs.m[name] = r
		rs.wg.Add(1)
		go r.run()
	}
	return r
}

func (rs *relays) remove(r *relay) {
	rs.mu.Lock()
	if rs.m[r.name] == r {
		delete(rs.m, r.name)
	}
	rs.mu.Unlock()
}

// count is how many streams this node pulls now.
func (rs *relays) count() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	n := 0
	for _, r := range rs.m {
		if r.isLive() {
			n++
		}
	}
	return n
}

// close stops every relay and waits for them.
func (rs *relays) close() {
	rs.mu.Lock()
	rs.closed = true
	for _, r := range rs.m {
		r.cancel()
	}
	rs.mu.Unlock()
	rs.wg.Wait()
}

// relay keeps one stream pulled from whichever node owns it while the
// stream has local readers, and for the linger after the last one left.
type relay struct {
	rs     *relays
	name   string
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	done   chan struct{}

	mu         sync.Mutex
	live       bool
	liveCh     chan struct{} // closed when live becomes true
	lastErr    error
	holdUntil  time.Time // a reader is negotiating
	lastReader time.Time
	readers    int
}

func newRelay(rs *relays, name string) *relay {
	now := time.Now()
	// Created because a reader wants it: held until that reader arrives.
	r := &relay{rs: rs, name: name, wake: make(chan struct{}, 1), done: make(chan struct{}),
		liveCh: make(chan struct{}), lastReader: now, holdUntil: now.Add(5 * time.Second)}
	r.ctx, r.cancel = context.WithCancel(rs.n.ctx)
	return r
}

func (r *relay) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *relay) isLive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live
}

func (r *relay) setLive(live bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.lastErr = err
	}
	if live == r.live {
		return
	}
	r.live = live
	if live {
		r.lastErr = nil
		close(r.liveCh)
	} else {
		r.liveCh = make(chan struct{})
	}
}

// waitLive holds the relay for a reader that is negotiating and waits until
// the stream is published locally, bounded by ctx.
func (r *relay) waitLive(ctx context.Context) error {
	r.mu.Lock()
	hold := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok {
		hold = d.Add(time.Second) // then the reader has subscribed
	}
	if hold.After(r.holdUntil) {
		r.holdUntil = hold
	}
	live, ch := r.live, r.liveCh
	r.mu.Unlock()
	r.poke()
	if live {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	case <-r.done:
	}
	r.mu.Lock()
	last := r.lastErr
	r.mu.Unlock()
	if last == nil {
		last = errors.New("the owner did not answer in time")
	}
	if errors.Is(last, streams.ErrNotLive) {
		return last
	}
	return fmt.Errorf("%w: relay of %q: %v", streams.ErrNotLive, r.name, last)
}

// idle reports whether the relay has had no reader for the linger.
func (r *relay) idle(now time.Time) (bool, time.Duration) {
	readers := 0
	if info, ok := r.rs.n.cfg.Registry.Info(r.name); ok {
		readers = len(info.Subscribers)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if readers > 0 || r.readers > 0 {
		r.lastReader = now // a reader was here at the last look
	}
	r.readers = readers
	if readers > 0 {
		r.holdUntil = time.Time{} // the negotiating readers have arrived
	}
	if readers > 0 || now.Before(r.holdUntil) {
		return false, time.Until(r.holdUntil)
	}
	left := r.rs.n.cfg.RelayLinger - now.Sub(r.lastReader)
	return left <= 0, left
}

// run is the relay's life: follow the owner, pull from it, republish
// when it moves, stop when idle. Between pulls the local stream waits its
// grace period with its readers, as for a WHIP publisher that reconnects.
func (r *relay) run() {
	n := r.rs.n
	defer r.rs.wg.Done()
	defer close(r.done)
	var cur *pull
	defer func() {
		// Out of the map first: a reader arriving while the pull closes
		// starts a fresh relay instead of joining this one as it goes.
		r.rs.remove(r)
		if cur != nil {
			cur.close()
		}
		r.setLive(false, nil)
		if r.ctx.Err() != nil {
			return
		}
		// A reader that subscribed just before the pull closed waits in
		// the grace period: relay the stream to it again.
		if info, ok := n.cfg.Registry.Info(r.name); ok && len(info.Subscribers) > 0 {
			r.rs.ensure(r.name)
		}
	}()
	var retryAt time.Time
	backoff := 100 * time.Millisecond
	failing := false // a failure streak is logged once
	for {
		now := time.Now()
		idle, left := r.idle(now)
		if idle || r.ctx.Err() != nil {
			return
		}
		if cur != nil && cur.isEnded() {
			r.rs.n.log.Info("relay ended", "stream", r.name, "origin", cur.origin, "reason", cur.Err())
			cur.close()
			cur = nil
			r.setLive(false, nil)
		}
		l, owned, err := n.owner(r.ctx, r.name)
		switch {
		case err != nil:
			// Redis unreachable: keep what runs.
		case !owned || l.Node == n.cfg.NodeID:
			if cur != nil {
				cur.close() // the local stream waits its grace period
				cur = nil
			}
			r.setLive(false, fmt.Errorf("%w: no node publishes %q", streams.ErrNotLive, r.name))
		case cur == nil || cur.origin != l.Node || cur.instance != l.Instance:
			if now.Before(retryAt) {
				break
			}
			p, err := n.startPull(r.ctx, r.name, l)
			if err != nil {
				if r.ctx.Err() == nil && !failing {
					n.log.Warn("relay failed, retrying with backoff", "stream", r.name, "origin", l.Node, "error", err)
				}
				failing = true
				r.setLive(false, err)
				retryAt = now.Add(backoff)
				backoff = min(backoff*2, n.renew)
				break
			}
			if cur != nil {
				cur.close() // replaced: p's publication took over its tracks
			}
			cur = p
			backoff, failing = 100*time.Millisecond, false
			r.setLive(true, nil)
			n.log.Info("relay started", "stream", r.name, "origin", l.Node)
		}
		wait := n.renew
		if left > 0 {
			wait = min(wait, left)
		}
		if d := time.Until(retryAt); d > 0 {
			wait = min(wait, d)
		}
		var ended <-chan struct{}
		if cur != nil {
			ended = cur.ended
		}
		t := time.NewTimer(max(wait, 10*time.Millisecond))
		select {
		case <-r.ctx.Done():
		case <-r.wake:
		case <-ended:
		case <-t.C:
		}
		t.Stop()
	}
}
