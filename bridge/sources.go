package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wishgate/wishgate/streams"
)

// SourcesConfig tunes camera pulling. Zero durations take the defaults.
type SourcesConfig struct {
	Registry *streams.Registry
	Logger   *slog.Logger
	// CloseDelay: an on-demand camera is released this long after its last
	// reader leaves. Default 10s.
	CloseDelay time.Duration
	// BackoffBase and BackoffMax bound the reconnect delay (jittered,
	// doubling per failed attempt). Defaults 1s and 30s.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// DemandTimeout bounds how long a reader waits for an on-demand camera to
	// come up. Default 10s.
	DemandTimeout time.Duration
	// ReadTimeout is the RTSP client's I/O timeout. Default 10s.
	ReadTimeout time.Duration
	// UDPFallbackTimeout: in automatic transport mode, switch to TCP when no
	// UDP packet arrived within this time. Default 3s.
	UDPFallbackTimeout time.Duration
	// StallTimeout: a camera that has sent media and then nothing for this
	// long is down, even if its RTSP session stays up (a hung encoder, a
	// link cut behind a switch that keeps TCP open): the session is closed
	// and the camera reconnected. Default 2s.
	StallTimeout time.Duration
	// Arbiter, if set, decides which gateway of a cluster pulls a camera
	// that several declare; the others stand by, asking every StandbyPoll
	// (default 1s).
	Arbiter     Arbiter
	StandbyPoll time.Duration
	// Self, if set, lets a source whose URL is one of this gateway's own
	// RTSP listeners pull without a user's token (self.go).
	Self *Self
}

// Arbiter grants the right to pull a camera to one gateway of a cluster.
type Arbiter interface {
	// Acquire reports whether this gateway may pull the camera name now;
	// the right is kept until Release.
	Acquire(name string) bool
	Release(name string)
	// Elsewhere is the error a reader's demand gets while another gateway
	// pulls the camera (the stream comes as a relay).
	Elsewhere() error
}

func (c *SourcesConfig) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.CloseDelay, 10*time.Second)
	def(&c.BackoffBase, time.Second)
	def(&c.BackoffMax, 30*time.Second)
	def(&c.DemandTimeout, 10*time.Second)
	def(&c.ReadTimeout, 10*time.Second)
	def(&c.UDPFallbackTimeout, 3*time.Second)
	def(&c.StallTimeout, 2*time.Second)
	def(&c.StandbyPoll, time.Second)
	c.BackoffMax = max(c.BackoffMax, c.BackoffBase)
}

// SourceStatus describes a source for listings. URL has its password masked.
type SourceStatus struct {
	Name      string
	URL       string
	OnDemand  bool
	Transport string
	State     string
	Since     time.Time
	LastError string
	// Tracks says how each camera track was bridged (refused, RTSP only).
	Tracks []TrackNote
	// BFrames: the video uses B-frames, which browsers show out of order.
	BFrames bool
}

var (
	// ErrSourceExists: a source with that name is already declared.
	ErrSourceExists = errors.New("source already exists")
	// ErrSourceNotFound: no source with that name.
	ErrSourceNotFound = errors.New("source not found")
)

// Sources is the one place where camera sources start and stop: the
// command line adds them at start-up, the control API at run time.
type Sources struct {
	cfg SourcesConfig
	log *slog.Logger

	mu      sync.Mutex
	sources map[string]*source
	closed  bool

	reconnects atomic.Uint64 // attempts after a failure, for the metrics
}

// Reconnects counts reconnect attempts to cameras since start, all sources
// together (wishgate_rtsp_source_reconnects_total).
func (s *Sources) Reconnects() uint64 { return s.reconnects.Load() }

// NewSources creates an empty set of sources.
func NewSources(cfg SourcesConfig) *Sources {
	cfg.defaults()
	return &Sources{cfg: cfg, log: cfg.Logger.With("component", "rtsp-source"), sources: map[string]*source{}}
}

// Add validates c and starts pulling it (an on-demand source waits for its
// first reader).
func (s *Sources) Add(c SourceConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return streams.ErrClosed
	}
	if _, ok := s.sources[c.Name]; ok {
		return fmt.Errorf("%w: %q", ErrSourceExists, c.Name)
	}
	src := newSource(s, c)
	s.sources[c.Name] = src
	src.log.Info("source added", "on_demand", c.OnDemand, "transport", string(c.transport()))
	go src.run()
	return nil
}

// Remove stops the source and waits for it: its stream ends unless another
// publisher took it over.
func (s *Sources) Remove(name string) error {
	s.mu.Lock()
	src := s.sources[name]
	delete(s.sources, name)
	s.mu.Unlock()
	if src == nil {
		return fmt.Errorf("%w: %q", ErrSourceNotFound, name)
	}
	src.cancel()
	<-src.done
	src.log.Info("source removed")
	return nil
}

// List returns every source's status, sorted by name.
func (s *Sources) List() []SourceStatus {
	s.mu.Lock()
	list := make([]*source, 0, len(s.sources))
	for _, src := range s.sources {
		list = append(list, src)
	}
	s.mu.Unlock()
	out := make([]SourceStatus, 0, len(list))
	for _, src := range list {
		out = append(out, src.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns one source's status.
func (s *Sources) Get(name string) (SourceStatus, bool) {
	s.mu.Lock()
	src := s.sources[name]
	s.mu.Unlock()
	if src == nil {
		return SourceStatus{}, false
	}
	return src.status(), true
}

// Demand is called by readers (WHEP, RTSP) before they look a stream up:
// an on-demand source starts and Demand waits until it is live, bounded by
// ctx and the demand timeout. Streams without an on-demand source return nil
// at once. The error wraps streams.ErrNotLive when the camera did not come up.
func (s *Sources) Demand(ctx context.Context, name string) error {
	s.mu.Lock()
	src := s.sources[name]
	s.mu.Unlock()
	if src == nil || !src.cfg.OnDemand {
		return nil
	}
	return src.demand(ctx)
}

// Close stops every source and waits for them. Idempotent.
func (s *Sources) Close() {
	s.mu.Lock()
	s.closed = true
	list := make([]*source, 0, len(s.sources))
	for name, src := range s.sources {
		list = append(list, src)
		delete(s.sources, name)
	}
	s.mu.Unlock()
	for _, src := range list {
		src.cancel()
	}
	for _, src := range list {
		<-src.done
	}
}
