package streams

import (
	"sync/atomic"
	"time"
)

// Publisher is the session feeding a stream: a WHIP peer, an RTSP camera or
// an RTSP publisher. Its methods must not block for long; they are called by
// the registry and by subscribers' goroutines.
type Publisher interface {
	// Connected reports whether the publisher's transport is up (ICE
	// connected, RTSP session playing).
	Connected() bool
	// RequestKeyframe asks the source for a keyframe on the given track
	// (a PLI for WebRTC; sources that cannot be asked ignore it).
	RequestKeyframe(track int)
	// Kick ends the publisher's session because another publisher took over
	// or the server is closing. It must not call back into the registry
	// synchronously.
	Kick(reason error)
}

// State is a stream's state as users see it.
type State string

const (
	StateLive    State = "live"    // a publisher is attached, connected, and sending (HealthWindow)
	StateWaiting State = "waiting" // no publisher, or one that is down or silent; readers held
)

// Stream is one named stream: at most one publisher, any number of subscribers.
// Its control state is guarded by the registry's lock; the packet path only
// uses atomics.
type Stream struct {
	Name string

	reg       *Registry
	createdAt time.Time

	// guarded by reg.mu
	tracks     []*Track
	derived    []*Track // the tracks' derived tracks, indexed from len(tracks) (derived.go)
	gen        uint32
	subsSet    map[*Subscription]struct{}
	feeds      map[*Subscription]struct{} // conversions' feeds: not readers
	graceTimer *time.Timer
	removed    bool

	publisher atomic.Pointer[Publication]
	subs      atomic.Pointer[[]*Subscription] // readers and feeds, copy-on-write, read by the packet path
}

// Publication is a publisher's handle on the stream it feeds.
type Publication struct {
	stream *Stream
	pub    Publisher
	gen    uint32
	since  time.Time
	info   PublisherInfo
	tracks []*Track
	closed atomic.Bool
}

// PublisherInfo describes a publisher for listings and logs.
type PublisherInfo struct {
	Kind       SessionKind
	SessionID  string // public id, never the resource secret
	RemoteAddr string
	// Origin is set for a relay: the id of the cluster node whose stream it
	// pulls. A relay gives way to any other publisher and never replaces
	// one (registry.go).
	Origin string
}

// Tracks are the stream tracks this publication feeds, in the order of the
// TrackSpecs it was created with.
func (p *Publication) Tracks() []*Track { return p.tracks }

// Stream returns the stream the publication feeds.
func (p *Publication) Stream() *Stream { return p.stream }

// Write publishes pkt on track i, taking over the caller's reference. Writes
// from a publication that was replaced or closed are dropped, and so are
// writes to a simulcast track, which takes WriteLayer.
func (p *Publication) Write(i int, pkt *Packet, now time.Time) {
	if p.closed.Load() || i < 0 || i >= len(p.tracks) || p.tracks[i].Layered() {
		pkt.Release()
		return
	}
	p.tracks[i].write(pkt, p.gen, now)
}

// WriteLayer publishes pkt on layer j (an index into the track's
// TrackSpec.Layers) of simulcast track i; like Write for a plain track
// when j is 0.
func (p *Publication) WriteLayer(i, j int, pkt *Packet, now time.Time) {
	if p.closed.Load() || i < 0 || i >= len(p.tracks) {
		pkt.Release()
		return
	}
	t := p.tracks[i]
	switch {
	case j >= 0 && j < len(t.layers):
		t.layers[j].write(pkt, p.gen, now)
	case j == 0 && !t.Layered():
		t.write(pkt, p.gen, now)
	default:
		pkt.Release()
	}
}

// Close detaches the publisher. Subscribers stay for the grace period and
// resume if a publisher with the same codecs returns; otherwise they end.
func (p *Publication) Close() {
	if p.closed.Swap(true) {
		return
	}
	p.stream.reg.unpublish(p)
}

// healthy: connected and media within the health window.
func (p *Publication) healthy(window time.Duration, now time.Time) bool {
	if !p.pub.Connected() {
		return false
	}
	for _, t := range p.tracks {
		if last := t.lastPacket(); !last.IsZero() && now.Sub(last) < window {
			return true
		}
	}
	// A publisher that has connected but not yet sent media is still setting
	// up; give it the health window from its start.
	return now.Sub(p.since) < window && allSilent(p.tracks)
}

func allSilent(tracks []*Track) bool {
	for _, t := range tracks {
		silent := true
		t.each(func(t *Track) { silent = silent && t.stats.Packets.Load() == 0 })
		if !silent {
			return false
		}
	}
	return true
}

// setSubs publishes the readers and feeds to the packet path.
func (s *Stream) setSubs() {
	list := make([]*Subscription, 0, len(s.subsSet)+len(s.feeds))
	for sub := range s.subsSet {
		list = append(list, sub)
	}
	for sub := range s.feeds {
		list = append(list, sub)
	}
	s.subs.Store(&list)
}

// allTracks is the published tracks, then the derived ones.
func (s *Stream) allTracks() []*Track {
	return append(append(make([]*Track, 0, len(s.tracks)+len(s.derived)), s.tracks...), s.derived...)
}
