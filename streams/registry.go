package streams

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// ReplacePolicy decides what a new publisher does to a stream that has one.
type ReplacePolicy string

const (
	// ReplaceStale replaces a publisher that is not healthy (no media within
	// the health window, or its transport is down) and refuses otherwise.
	ReplaceStale ReplacePolicy = "stale"
	// ReplaceAlways lets the newest publisher win.
	ReplaceAlways ReplacePolicy = "always"
	// ReplaceNever refuses a second publisher while the first is attached.
	ReplaceNever ReplacePolicy = "never"
)

// Valid reports whether p is a known policy.
func (p ReplacePolicy) Valid() bool {
	return p == ReplaceStale || p == ReplaceAlways || p == ReplaceNever
}

// Config tunes the registry.
type Config struct {
	Replace ReplacePolicy
	// HealthWindow: a publisher with no media for this long is stale.
	HealthWindow time.Duration
	// GracePeriod: how long readers wait for a publisher to return.
	GracePeriod time.Duration
	// GOPCacheBytes bounds each video track's GOP cache (instant start,
	// gop.go). Zero means DefaultGOPCacheBytes; negative disables the cache.
	GOPCacheBytes int
	// StartBurstMaxAge and StartBurstMaxBytes bound what a new viewer is
	// sent from the cache (start.go): a cached GOP whose keyframe is older,
	// or whose media is larger, is not sent, and the viewer waits for the
	// next keyframe instead. Zero means DefaultStartBurstMaxAge and
	// DefaultStartBurstMaxBytes; negative: never send a burst.
	StartBurstMaxAge   time.Duration
	StartBurstMaxBytes int
	// KeyframeRequestInterval: a viewer still waiting for a keyframe asks
	// the publisher again this often. Zero means
	// DefaultKeyframeRequestInterval.
	KeyframeRequestInterval time.Duration
	// Conversions, if set, give tracks in the codecs it converts a derived
	// track (derived.go): a camera's AAC as Opus for WebRTC readers.
	Conversions Conversions
}

// DefaultConfig returns the registry defaults.
func DefaultConfig() Config {
	return Config{Replace: ReplaceStale, HealthWindow: 2 * time.Second, GracePeriod: 10 * time.Second}
}

// Registry holds the streams by name. Control operations (publish, subscribe,
// leave) take one lock; the packet path takes none.
type Registry struct {
	cfg Config

	mu      sync.Mutex
	streams map[string]*Stream
	closed  bool
	hooks   []func(Event)
	admit   func(name string, specs []TrackSpec, info PublisherInfo) error
	// fanWorkers counts the tracks' fan-out worker goroutines (direct.go),
	// and conversions the derived tracks' conversion goroutines
	// (derived.go); Close waits for both.
	fanWorkers  sync.WaitGroup
	conversions sync.WaitGroup
}

// NewRegistry creates an empty registry.
func NewRegistry(cfg Config) *Registry {
	if !cfg.Replace.Valid() {
		cfg.Replace = ReplaceStale
	}
	if cfg.GOPCacheBytes == 0 {
		cfg.GOPCacheBytes = DefaultGOPCacheBytes
	}
	if cfg.StartBurstMaxAge == 0 {
		cfg.StartBurstMaxAge = DefaultStartBurstMaxAge
	}
	if cfg.StartBurstMaxBytes == 0 {
		cfg.StartBurstMaxBytes = DefaultStartBurstMaxBytes
	}
	if cfg.KeyframeRequestInterval <= 0 {
		cfg.KeyframeRequestInterval = DefaultKeyframeRequestInterval
	}
	return &Registry{cfg: cfg, streams: map[string]*Stream{}}
}

// Publish attaches p to the stream name, creating it if needed, and returns
// the publication through which p writes packets. ErrConflict means the
// replace policy keeps the current publisher; ErrBadName, a name that breaks
// the one naming rule (the edges check it first, with a better answer).
func (r *Registry) Publish(name string, specs []TrackSpec, p Publisher, info PublisherInfo) (*Publication, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("publish %q: no tracks", name)
	}
	for _, sp := range specs {
		if err := sp.checkLayers(); err != nil {
			return nil, fmt.Errorf("publish %q: %w", name, err)
		}
	}
	r.mu.Lock()
	admit := r.admit
	r.mu.Unlock()
	if admit != nil {
		if err := admit(name, specs, info); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	s := r.streams[name]
	if s == nil {
		s = &Stream{Name: name, reg: r, createdAt: now, subsSet: map[*Subscription]struct{}{}, feeds: map[*Subscription]struct{}{}}
		r.streams[name] = s
	}
	old := s.publisher.Load()
	if old != nil {
		switch {
		case old.info.Origin != "":
			// A relay of another node's stream yields to anyone.
		case info.Origin != "":
			r.mu.Unlock()
			return nil, ErrConflict
		case r.cfg.Replace == ReplaceNever,
			r.cfg.Replace == ReplaceStale && old.healthy(r.cfg.HealthWindow, now):
			r.mu.Unlock()
			return nil, ErrConflict
		}
		old.closed.Store(true)
	}

	var ended []*Subscription
	if !sameLayout(s.tracks, specs) {
		for sub := range s.subsSet {
			ended = append(ended, sub)
			delete(s.subsSet, sub)
		}
		s.stopConversionsLocked()
		s.setSubs()
		for _, t := range s.allTracks() {
			t.each(func(t *Track) { t.fan.close() }) // the old layout's fan-out workers
		}
		s.tracks = make([]*Track, len(specs))
		for i, spec := range specs {
			s.tracks[i] = newTrack(s, i, spec)
		}
		r.deriveLocked(s)
	}
	if s.graceTimer != nil {
		s.graceTimer.Stop()
		s.graceTimer = nil
	}
	s.gen++
	pub := &Publication{stream: s, pub: p, gen: s.gen, since: now, info: info, tracks: s.tracks}
	s.publisher.Store(pub)
	r.mu.Unlock()

	if old != nil {
		old.pub.Kick(ErrReplaced)
	}
	for _, sub := range ended {
		sub.end(ErrCodecChanged)
	}
	r.emit(Event{Type: EventPublished, Stream: name, Replaced: old != nil})
	return pub, nil
}

// SetAdmit installs fn, which every Publish asks first (outside the
// registry's lock): an error refuses the publisher with that error. The
// cluster claims the stream's ownership here. Set it before use.
func (r *Registry) SetAdmit(fn func(name string, specs []TrackSpec, info PublisherInfo) error) {
	r.mu.Lock()
	r.admit = fn
	r.mu.Unlock()
}

func sameLayout(tracks []*Track, specs []TrackSpec) bool {
	if len(tracks) != len(specs) {
		return false
	}
	for i, t := range tracks {
		if t.Kind != specs[i].Kind || !t.Codec.Compatible(specs[i].Codec) || !slices.Equal(t.rids(), specs[i].Layers) {
			return false
		}
	}
	return true
}

func (r *Registry) unpublish(p *Publication) {
	s := p.stream
	r.mu.Lock()
	if s.publisher.Load() != p {
		r.mu.Unlock()
		return
	}
	s.publisher.Store(nil)
	n := len(s.subsSet)
	removed := n == 0
	if removed {
		r.removeLocked(s)
	} else {
		gen := s.gen
		s.graceTimer = time.AfterFunc(r.cfg.GracePeriod, func() { r.graceExpired(s, gen) })
	}
	r.mu.Unlock()
	r.emit(Event{Type: EventUnpublished, Stream: s.Name, Subscribers: n})
	if removed {
		r.emit(Event{Type: EventRemoved, Stream: s.Name})
	}
}

func (r *Registry) graceExpired(s *Stream, gen uint32) {
	r.mu.Lock()
	if s.removed || s.gen != gen || s.publisher.Load() != nil {
		r.mu.Unlock()
		return
	}
	subs := r.removeLocked(s)
	r.mu.Unlock()
	for _, sub := range subs {
		sub.end(ErrPublisherGone)
	}
	r.emit(Event{Type: EventRemoved, Stream: s.Name})
}

// removeLocked deletes s from the registry and returns its subscribers, which
// the caller ends after unlocking.
func (r *Registry) removeLocked(s *Stream) []*Subscription {
	s.removed = true
	s.stopConversionsLocked()
	for _, t := range s.allTracks() {
		t.each(func(t *Track) {
			t.gop.close() // hand the cached packets back to the pool
			t.hist.close()
			t.fan.close()
		})
	}
	if s.graceTimer != nil {
		s.graceTimer.Stop()
		s.graceTimer = nil
	}
	if r.streams[s.Name] == s {
		delete(r.streams, s.Name)
	}
	subs := make([]*Subscription, 0, len(s.subsSet))
	for sub := range s.subsSet {
		subs = append(subs, sub)
	}
	clear(s.subsSet)
	s.setSubs()
	return subs
}

// Lookup returns the live stream name, for a reader to negotiate against its
// tracks before subscribing. ErrNotLive if it has no publisher.
func (r *Registry) Lookup(name string) (*Stream, []*Track, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.streams[name]
	if s == nil || s.publisher.Load() == nil {
		return nil, nil, ErrNotLive
	}
	return s, append([]*Track(nil), s.tracks...), nil
}

// Subscribe adds a reader to s for the given tracks (from Lookup).
// It fails with ErrNotLive if the stream lost its publisher meanwhile and with
// ErrCodecChanged if a new publisher brought other tracks.
func (r *Registry) Subscribe(s *Stream, opts SubscribeOptions) (*Subscription, error) {
	size := opts.QueueSize
	if size <= 0 {
		size = DefaultQueueSize
	}
	r.mu.Lock()
	if s.removed || s.publisher.Load() == nil {
		r.mu.Unlock()
		return nil, ErrNotLive
	}
	for _, t := range opts.Tracks {
		if s.trackAt(t.Index) != t {
			r.mu.Unlock()
			return nil, ErrCodecChanged
		}
		if err := opts.Layer.Check(t); err != nil && t.Layered() {
			r.mu.Unlock()
			return nil, err
		}
	}
	sub := newSubscription(s, opts.Tracks, opts.Info, size)
	for _, t := range opts.Tracks {
		if t.Layered() {
			sub.tracks[t.Index].lay = newLayerState(t, opts.Layer)
			sub.layerKick = make(chan struct{}, 1)
		}
		if t.conv != nil {
			t.conv.addReaderLocked(s)
		}
	}
	s.subsSet[sub] = struct{}{}
	s.setSubs()
	n := len(s.subsSet)
	r.mu.Unlock()
	r.emit(Event{Type: EventSubscribed, Stream: s.Name, Subscribers: n})
	return sub, nil
}

func (r *Registry) unsubscribe(sub *Subscription) {
	s := sub.stream
	r.mu.Lock()
	if _, ok := s.subsSet[sub]; !ok {
		r.mu.Unlock()
		return
	}
	delete(s.subsSet, sub)
	for i := range sub.tracks {
		if st := &sub.tracks[i]; st.enabled && st.track.conv != nil {
			st.track.conv.removeReaderLocked(s)
		}
	}
	s.setSubs()
	n := len(s.subsSet)
	removed := false
	if n == 0 && s.publisher.Load() == nil && !s.removed {
		r.removeLocked(s)
		removed = true
	}
	r.mu.Unlock()
	r.emit(Event{Type: EventLeft, Stream: s.Name, Subscribers: n})
	if removed {
		r.emit(Event{Type: EventRemoved, Stream: s.Name})
	}
}

// Delete ends a stream: its publisher and every subscriber are kicked.
// It reports whether the stream existed.
func (r *Registry) Delete(name string) bool {
	r.mu.Lock()
	s := r.streams[name]
	if s == nil {
		r.mu.Unlock()
		return false
	}
	pub := s.publisher.Swap(nil)
	subs := r.removeLocked(s)
	r.mu.Unlock()
	if pub != nil {
		pub.closed.Store(true)
		pub.pub.Kick(ErrKicked)
	}
	for _, sub := range subs {
		sub.end(ErrKicked)
	}
	r.emit(Event{Type: EventRemoved, Stream: name})
	return true
}

// Close kicks every publisher and subscriber and refuses new ones.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	names := make([]string, 0, len(r.streams))
	for name := range r.streams {
		names = append(names, name)
	}
	r.mu.Unlock()
	for _, name := range names {
		r.Delete(name)
	}
	r.fanWorkers.Wait()
	r.conversions.Wait()
}

// Names lists the streams, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.streams))
	for name := range r.streams {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
