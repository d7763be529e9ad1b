package streams

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Derived tracks. A track whose codec the registry's Conversions convert
// (a camera's AAC) gets a derived track in the target codec (Opus), created
// with it and listed beside it: Track.Derived. Readers that cannot take the
// original subscribe to the derived track instead; readers that can (RTSP)
// never see it. The derived track is a Track like any other — its own
// fan-out, history and subscribers — written by a conversion: a feed (an
// internal subscription to the source track, not counted as a reader)
// whose packets go through a Converter into the derived track. The
// conversion runs while the derived track has at least one reader and
// stops with the last one, so a stream costs one conversion however many
// readers it has, and none when nobody needs it.

// ErrNoConversions: the registry converts nothing (audio_transcode: off).
var ErrNoConversions = errors.New("transcoding is off")

// derivedPayloadType is the payload type of a derived track's packets;
// every reader rewrites it to what it negotiated.
const derivedPayloadType = 96

// conversion is a derived track's link to its source.
type conversion struct {
	src     *Track
	factory Conversions

	// under the registry's lock
	readers int
	run     *conversionRun
	lastErr string

	// cur is the run allowed to write the derived track; a run being
	// stopped may still be converting a packet and must not.
	cur    atomic.Pointer[conversionRun]
	emitMu sync.Mutex // serialises writers of the derived track
	seq    uint16     // under emitMu: the derived track's numbering
	starts atomic.Uint64
	cpu    atomic.Int64 // CPU of finished runs, ns
}

// conversionRun is one start of a conversion: its feed and its goroutine.
type conversionRun struct {
	c    *conversion
	feed *Subscription
	conv atomic.Pointer[converterRef] // set once the converter is up
	done chan struct{}
	emit func(ts uint32, payload []byte)
}

type converterRef struct{ Converter }

// Derived is the track's converted counterpart, or nil.
func (t *Track) Derived() *Track { return t.derived }

// Source is the track a derived track converts, or nil for a published one.
func (t *Track) Source() *Track {
	if t.conv == nil {
		return nil
	}
	return t.conv.src
}

// ConversionTarget says what codec readers who cannot take c would get
// instead, or why they get nothing (ErrNoConversions, or the Conversions'
// own reason).
func (r *Registry) ConversionTarget(c Codec) (Codec, error) {
	if r.cfg.Conversions == nil {
		return Codec{}, ErrNoConversions
	}
	return r.cfg.Conversions.Target(c)
}

// deriveLocked creates the derived tracks of s's current layout.
func (r *Registry) deriveLocked(s *Stream) {
	s.derived = nil
	if r.cfg.Conversions == nil {
		return
	}
	for _, t := range s.tracks {
		dst, err := r.cfg.Conversions.Target(t.Codec)
		if err != nil {
			continue
		}
		d := newTrack(s, len(s.tracks)+len(s.derived), TrackSpec{Kind: t.Kind, Codec: dst})
		d.conv = &conversion{src: t, factory: r.cfg.Conversions, seq: uint16(rand.Uint32())}
		t.derived = d
		s.derived = append(s.derived, d)
	}
}

// trackAt is the stream's track with index i, published or derived.
func (s *Stream) trackAt(i int) *Track {
	switch {
	case i < 0:
		return nil
	case i < len(s.tracks):
		return s.tracks[i]
	case i < len(s.tracks)+len(s.derived):
		return s.derived[i-len(s.tracks)]
	}
	return nil
}

// addReaderLocked counts a reader of a derived track, starting its
// conversion with the first.
func (c *conversion) addReaderLocked(s *Stream) {
	c.readers++
	if c.run != nil {
		return
	}
	// An internal reader: no session, so no kind and no id.
	feed := newSubscription(s, []*Track{c.src}, SubscriberInfo{}, DefaultQueueSize)
	s.feeds[feed] = struct{}{}
	s.setSubs()
	run := &conversionRun{c: c, feed: feed, done: make(chan struct{})}
	run.emit = run.write
	c.run = run
	c.cur.Store(run)
	r := s.reg
	r.conversions.Add(1)
	go func() {
		defer r.conversions.Done()
		run.loop(s)
	}()
}

// removeReaderLocked uncounts a reader; the last one stops the conversion.
func (c *conversion) removeReaderLocked(s *Stream) {
	c.readers--
	if c.readers <= 0 {
		c.readers = 0
		c.stopLocked(s)
	}
}

// stopLocked ends the running conversion, if any; its goroutine closes the
// converter once the packet in hand is done.
func (c *conversion) stopLocked(s *Stream) {
	run := c.run
	if run == nil {
		return
	}
	c.run = nil
	c.cur.CompareAndSwap(run, nil)
	delete(s.feeds, run.feed)
	s.setSubs()
	run.feed.end(ErrClosed)
}

// loop is the conversion's goroutine: start the converter, then convert the
// feed's packets until the feed ends.
func (run *conversionRun) loop(s *Stream) {
	defer close(run.done)
	c := run.c
	conv, err := c.factory.New(s.Name, c.src.Codec)
	if err != nil {
		s.reg.mu.Lock()
		c.lastErr = err.Error()
		if c.run == run {
			// Readers stay (they get no media on this track); the next
			// reader after they all left tries again.
			delete(s.feeds, run.feed)
			s.setSubs()
		}
		s.reg.mu.Unlock()
		run.feed.end(err)
		return
	}
	s.reg.mu.Lock()
	c.lastErr = ""
	s.reg.mu.Unlock()
	c.starts.Add(1)
	run.conv.Store(&converterRef{conv})
	// The feed's sink converts on this goroutine (it is not a
	// NonBlockingSink), so no write of this run is in flight after Run.
	_ = run.feed.Run(context.Background(), convertSink{run: run, conv: conv})
	c.cpu.Add(int64(conv.CPU()))
	run.conv.Store(nil)
	conv.Close()
}

// convertSink is the feed's sink: each source packet through the converter.
type convertSink struct {
	run  *conversionRun
	conv Converter
}

func (k convertSink) WriteRTP(_ int, h *rtp.Header, payload []byte) error {
	if k.run.c.cur.Load() != k.run {
		return ErrClosed
	}
	k.conv.Convert(h, payload, k.run.emit)
	return nil
}

// write publishes one converted payload on the derived track.
func (run *conversionRun) write(ts uint32, payload []byte) {
	c := run.c
	d := c.src.derived
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	if c.cur.Load() != run || d == nil {
		return
	}
	p := NewPacket()
	if !p.SetPayload(payload) {
		p.Release()
		return
	}
	p.Header = rtp.Header{Version: 2, PayloadType: derivedPayloadType, SequenceNumber: c.seq, Timestamp: ts}
	c.seq++
	// One generation for the derived track: its timeline is the
	// converter's, continuous across the source's publisher changes.
	d.write(p, 1, time.Now())
}

// rtpTimeAt maps wall time now to the derived track's timestamps through
// the source's clock and the running converter.
func (c *conversion) rtpTimeAt(now time.Time) (uint32, bool) {
	run := c.cur.Load()
	if run == nil {
		return 0, false
	}
	ref := run.conv.Load()
	if ref == nil {
		return 0, false
	}
	src, ok := c.src.RTPTimeAt(now)
	if !ok {
		return 0, false
	}
	return ref.RTPTime(src)
}

// infoLocked describes the conversion for listings.
func (c *conversion) infoLocked(d *Track) *ConversionInfo {
	ci := &ConversionInfo{To: d.Codec, Readers: c.readers, Starts: c.starts.Load(),
		Packets: d.stats.Packets.Load(), Error: c.lastErr}
	cpu := time.Duration(c.cpu.Load())
	if run := c.run; run != nil {
		if ref := run.conv.Load(); ref != nil {
			ci.Running = true
			cpu += ref.CPU()
		}
	}
	ci.CPU = cpu
	return ci
}

// stopConversionsLocked stops every conversion of the stream's layout (removal, or
// a new layout).
func (s *Stream) stopConversionsLocked() {
	for _, d := range s.derived {
		d.conv.readers = 0
		d.conv.stopLocked(s)
	}
}
