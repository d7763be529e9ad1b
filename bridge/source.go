package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/wishgate/wishgate/streams"
)

// Source states, as reported by SourceStatus.State.
const (
	StateIdle       = "idle"       // on-demand, nobody is reading
	StateConnecting = "connecting" // first attempt in progress
	StatePlaying    = "playing"    // media flows from the camera (from its first packet)
	StateRetrying   = "retrying"   // the camera failed; waiting to reconnect
	StateStandby    = "standby"    // another gateway of the cluster pulls the camera
)

// errIdle ends an on-demand session whose readers have all gone.
var errIdle = errors.New("no readers")

// source pulls one camera. One goroutine (run) owns the RTSP client and the
// registry publication; the other methods only touch the mutex-guarded status.
// One camera session (pull, watch) is in source_pull.go.
type source struct {
	cfg    SourceConfig
	parent *Sources
	log    *slog.Logger
	// secrets are scrubbed from error messages: the URL's password and the
	// gateway's own credential, which a pull of its own stream carries (self.go).
	secrets []string

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // on-demand: a reader arrived

	mu       sync.Mutex
	state    string
	lastErr  string
	since    time.Time
	notes    []TrackNote
	in       *ingest
	live     bool
	liveCh   chan struct{} // closed when live becomes true
	lastUsed time.Time     // last time a reader was seen or demanded
}

func newSource(parent *Sources, cfg SourceConfig) *source {
	s := &source{
		cfg:    cfg,
		parent: parent,
		log:    parent.log.With("stream", cfg.Name, "source", MaskURL(cfg.URL)),
		done:   make(chan struct{}),
		wake:   make(chan struct{}, 1),
		liveCh: make(chan struct{}),
		state:  StateConnecting,
		since:  time.Now(),
	}
	if u, err := url.Parse(cfg.URL); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		s.secrets = append(s.secrets, pw)
	}
	if self := parent.cfg.Self; self != nil {
		s.secrets = append(s.secrets, self.token)
	}
	if cfg.OnDemand {
		s.state = StateIdle
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// setState records and logs a state change; repeated failures in the same
// state update the status silently (one log line per change, not per attempt).
func (s *source) setState(state string, err error) {
	msg := ""
	if err != nil {
		msg = redact(err.Error(), s.secrets...)
	}
	s.mu.Lock()
	changed := s.state != state
	if changed {
		s.state, s.since = state, time.Now()
	}
	s.lastErr = msg
	s.mu.Unlock()
	if !changed {
		return
	}
	switch state {
	case StateRetrying:
		s.log.Warn("camera unavailable, retrying with backoff", "error", msg)
	case StatePlaying:
		s.log.Info("camera playing")
	case StateIdle:
		s.log.Info("on-demand source idle")
	case StateStandby:
		s.log.Info("camera pulled by another node of the cluster; standing by")
	default:
		s.log.Info("source "+state, "error", msg)
	}
}

func (s *source) setLive(live bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if live == s.live {
		return
	}
	s.live = live
	if live {
		close(s.liveCh)
	} else {
		s.liveCh = make(chan struct{})
	}
}

// demand marks the source as wanted and waits until it publishes.
func (s *source) demand(ctx context.Context) error {
	s.mu.Lock()
	s.lastUsed = time.Now()
	live, ch := s.live, s.liveCh
	s.mu.Unlock()
	if live {
		return nil
	}
	if a := s.parent.cfg.Arbiter; a != nil && !a.Acquire(s.cfg.Name) {
		return fmt.Errorf("source %s: %w", s.cfg.Name, a.Elsewhere())
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(s.parent.cfg.DemandTimeout)
	defer t.Stop()
	select {
	case <-ch:
		// The reader subscribes next: the close delay counts from now,
		// not from the demand, however long the camera took.
		s.mu.Lock()
		s.lastUsed = time.Now()
		s.mu.Unlock()
		return nil
	case <-t.C:
	case <-ctx.Done():
	case <-s.done:
	}
	s.mu.Lock()
	last := s.lastErr
	s.mu.Unlock()
	if last == "" {
		last = "the camera did not answer in time"
	}
	return fmt.Errorf("%w: source %s: %s", streams.ErrNotLive, s.cfg.Name, last)
}

// idle reports whether an on-demand source has had no reader for the close delay.
func (s *source) idle() bool {
	if !s.cfg.OnDemand {
		return false
	}
	now := time.Now()
	readers := 0
	if info, ok := s.parent.cfg.Registry.Info(s.cfg.Name); ok {
		readers = len(info.Subscribers)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if readers > 0 {
		s.lastUsed = now
		return false
	}
	return now.Sub(s.lastUsed) >= s.parent.cfg.CloseDelay
}

// run owns the camera connection until the source is removed.
func (s *source) run() {
	defer close(s.done)
	var pub *streams.Publication
	defer func() {
		if pub != nil {
			pub.Close()
		}
		s.setLive(false)
	}()
	attempt := 0
	for {
		if s.cfg.OnDemand {
			if pub != nil {
				pub.Close()
				pub = nil
			}
			s.setLive(false)
			s.setState(StateIdle, nil)
			select {
			case <-s.wake:
			case <-s.ctx.Done():
				return
			}
			s.mu.Lock()
			s.lastUsed = time.Now()
			s.mu.Unlock()
		}
		for {
			if a := s.parent.cfg.Arbiter; a != nil && !a.Acquire(s.cfg.Name) {
				if pub != nil {
					pub.Close()
					pub = nil
				}
				s.setLive(false)
				s.setState(StateStandby, nil)
				if err := s.sleep(s.parent.cfg.StandbyPoll); err != nil {
					if s.ctx.Err() != nil {
						return
					}
					break // idle
				}
				continue
			}
			played, err := s.pull(&pub)
			if a := s.parent.cfg.Arbiter; a != nil {
				a.Release(s.cfg.Name)
			}
			if s.ctx.Err() != nil {
				return
			}
			if errors.Is(err, errIdle) {
				break
			}
			if played {
				attempt = 0
			}
			s.setState(StateRetrying, err)
			if err := s.sleep(s.parent.backoff(attempt)); err != nil {
				if s.ctx.Err() != nil {
					return
				}
				break // idle
			}
			s.parent.reconnects.Add(1)
			attempt++
		}
	}
}

// sleep waits d, returning early with errIdle (on-demand, no readers) or
// the context's error.
func (s *source) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(s.parent.idleCheckPeriod())
	defer tick.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case <-s.ctx.Done():
			return s.ctx.Err()
		case <-tick.C:
			if s.idle() {
				return errIdle
			}
		}
	}
}

// backoff is the delay before reconnect attempt n: exponential from the
// base up to the cap, with "equal jitter" (half fixed, half random) so that
// cameras behind one switch that reboots do not reconnect in lockstep.
func (s *Sources) backoff(n int) time.Duration {
	d := s.cfg.BackoffBase
	for i := 0; i < n && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.BackoffMax)
	half := d / 2
	return half + rand.N(half+1)
}

func (s *Sources) idleCheckPeriod() time.Duration {
	return min(max(s.cfg.CloseDelay/4, 20*time.Millisecond), time.Second)
}

// status snapshots the source for listings; credentials are masked.
func (s *source) status() SourceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SourceStatus{
		Name: s.cfg.Name, URL: MaskURL(s.cfg.URL), OnDemand: s.cfg.OnDemand,
		Transport: string(s.cfg.transport()), State: s.state, Since: s.since, LastError: s.lastErr,
		Tracks: append([]TrackNote(nil), s.notes...),
	}
	if s.in != nil {
		st.BFrames = s.in.bframes()
	}
	return st
}
