package streams

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// DefaultQueueSize bounds a subscriber's queue: about one second of a
// 2.5 Mbit/s video (audio has a queue of its own). A subscriber further behind than that skips
// to the next keyframe instead of building up delay.
const DefaultQueueSize = 320

// audioQueueSize bounds a subscriber's audio queue: over a second of 20 ms
// packets.
const audioQueueSize = 64

// SubscribeOptions configure a subscription.
type SubscribeOptions struct {
	// Tracks the subscriber negotiated, from the stream's current track list.
	Tracks []*Track
	// QueueSize overrides DefaultQueueSize.
	QueueSize int
	Info      SubscriberInfo
	// Layer chooses the layer of every simulcast track (switch.go); the
	// zero value is the best one.
	Layer LayerChoice
}

// SubscriberInfo describes a subscriber for listings and logs.
type SubscriberInfo struct {
	Kind       SessionKind
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
	// queue holds video (and any track but audio), audioQ audio: a reader
	// too slow for the video drops video and skips to its next keyframe,
	// while the audio, in its own queue, keeps flowing.
	queue  chan queued
	audioQ chan queued
	tracks []subTrack // indexed by stream track index

	done    chan struct{}
	endOnce sync.Once
	err     error

	burst    []*Packet // scratch for the cached GOP at start
	burstOff []int64   // per picture of burst: ticks below the newest (stampBurst)

	// layerKick wakes the subscription's goroutine to re-evaluate its
	// simulcast layers (switch.go); nil without simulcast tracks.
	layerKick chan struct{}

	// Direct delivery (direct.go): after the start, a sink that never
	// blocks is written by the track's producer itself.
	directMu   sync.Mutex // orders the hand-over against pushes
	direct     atomic.Bool
	stopped    atomic.Bool
	directSink Sink
	directErr  chan error
	// batchSink is directSink when it is a BatchSink: the fan-out workers
	// then write it through their batches (sink.go).
	batchSink BatchSink
	// running is set when Run starts. Before, nothing is queued: a WHEP
	// viewer subscribes at its offer and runs once ICE connects, and what
	// would queue meanwhile is stale (Run drains it), not dropped by a
	// reader that fell behind, so it counts nowhere.
	running atomic.Bool

	Sent atomic.Uint64
	// SentBytes counts the RTP bytes (header and payload) handed to the
	// sink: what an RTSP reader receives, as Sent counts its packets.
	SentBytes atomic.Uint64
	Dropped   atomic.Uint64 // dropped because the queue was full
	Skipped   atomic.Uint64 // not sent while waiting for a keyframe
	// Retransmitted counts packets resent from the track's history on NACK.
	Retransmitted atomic.Uint64
}

// subTrack is the subscriber's view of one stream track.
type subTrack struct {
	track   *Track
	enabled bool
	// dropAt is set by the producer when it drops a packet for this
	// subscriber (full queue or worker): the first dropped packet's arrival
	// index (Packet.idx, never 0). The reader resyncs when it reaches that
	// point, not before: the packets still queued ahead of the gap are intact.
	dropAt atomic.Uint64

	// consumer-only state (the producer's, under mu, in direct mode)
	mu      sync.Mutex
	hdr     rtp.Header // scratch header handed to the sink
	started bool
	waiting bool // video: wait for a keyframe before forwarding
	resync  bool
	gen     uint32
	seqOff  uint16
	lastOut uint16
	// lastIdx: the arrival index of the newest packet consumed (delivered
	// or skipped). A packet that arrived no later is a second copy and is
	// dropped: the GOP-cache snapshot overlaps the live queue (Track.write),
	// and the hand-over to a fan-out worker overlaps the queue (direct.go).
	// Arrival order, not sequence numbers: a publisher's reordered or
	// retransmitted packet is older by number but new here, and is forwarded.
	lastIdx uint64
	// mapFrom is the first outgoing sequence number of the current seqOff;
	// bursting is set while the cached GOP goes out (its timestamps are
	// rewritten, so those packets are not retransmitted from the history).
	mapFrom  uint16
	bursting bool
	// outMap publishes seqOff, mapFrom and lastOut to the RTCP reader that
	// answers NACKs (Retransmit), with the layer they are about:
	// layer<<49 | valid<<48 | seqOff<<32 | mapFrom<<16 | lastOut.
	outMap atomic.Uint64

	// lay is the subscriber's layer state of a simulcast track (switch.go).
	lay *layerState
	// paused: the subscriber takes none of the track's packets (SetPaused);
	// pauses counts the pauses, so that the consumer, which sees nothing
	// while paused, resumes at a keyframe (seenPauses is its copy).
	paused     atomic.Bool
	pauses     atomic.Uint32
	seenPauses uint32
}

func newSubscription(s *Stream, tracks []*Track, info SubscriberInfo, queueSize int) *Subscription {
	sub := &Subscription{
		stream: s,
		info:   info,
		since:  time.Now(),
		queue:  make(chan queued, queueSize),
		audioQ: make(chan queued, audioQueueSize),
		tracks: make([]subTrack, len(s.tracks)+len(s.derived)),
		done:   make(chan struct{}),
	}
	for _, t := range tracks {
		sub.tracks[t.Index] = subTrack{track: t, enabled: true}
	}
	return sub
}

// push is the producer side: never blocks.
func (s *Subscription) push(i int, pkt *Packet) {
	if i >= len(s.tracks) || !s.tracks[i].enabled || !s.tracks[i].takes(pkt.layer) {
		return
	}
	if s.direct.Load() || !s.running.Load() {
		return // a fan-out worker delivers it (direct.go), or no reader yet
	}
	s.directMu.Lock()
	if s.direct.Load() {
		s.directMu.Unlock()
		return
	}
	pkt.Retain()
	select {
	case s.queueOf(i) <- queued{track: i, pkt: pkt}:
	default:
		pkt.Release()
		s.Dropped.Add(1)
		s.tracks[i].markDrop(pkt)
	}
	s.directMu.Unlock()
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
		s.tracks[i].current().RequestKeyframe()
	}
}

// Run delivers packets to sink until the subscription ends, ctx is done, or
// the sink fails. It must be called from exactly one goroutine.
func (s *Subscription) Run(ctx context.Context, sink Sink) error {
	// Live packets queue from here on (nothing before: push); whatever
	// queued is stale: start live, from the cached GOP or a fresh keyframe
	// (start.go), whose copies of queued packets deliver drops by arrival index.
	s.running.Store(true)
	s.drain()
	defer s.drain()
	if err := s.start(ctx, sink); err != nil {
		return err
	}
	tick, stop := s.layerTicker()
	defer stop()
	nb, ok := sink.(NonBlockingSink)
	direct := ok && nb.NonBlocking()
	for {
		var err error
		if direct {
			err = s.runDirect(ctx, sink, tick)
		} else {
			err = s.runQueued(ctx, sink, tick)
		}
		cs, ok := err.(cacheSwitch)
		if !ok {
			return err
		}
		if err := s.switchFromCache(ctx, int(cs), sink); err != nil {
			return err
		}
	}
}

// deliver writes pkt to the sink with timestamp ts (normally the packet's own).
func (s *Subscription) deliver(i int, pkt *Packet, sink Sink, ts uint32) error {
	return s.deliverTo(i, pkt, sink, nil, ts)
}

// deliverTo is deliver into b when a fan-out worker collects the writes of
// a pass (b is then a batch of s.batchSink's), straight to sink when b is
// nil.
func (s *Subscription) deliverTo(i int, pkt *Packet, sink Sink, b Batch, ts uint32) error {
	st := &s.tracks[i]
	if st.lay != nil && !s.layerGate(st, pkt) {
		return nil
	}
	if pkt.idx != 0 && pkt.idx <= st.lastIdx {
		return nil // already delivered (or skipped) once
	}
	if p := st.pauses.Load(); p != st.seenPauses {
		st.seenPauses = p
		st.resync = st.started
		st.waiting = st.track.Kind == KindVideo
	}
	// Every packet of the track reaches the subscriber or is dropped for
	// it, so a jump in arrival index is a drop: dropAt marks only the first
	// of several that come while it is pending, and a keyframe between two
	// of them would otherwise end the wait before the second gap.
	if st.lastIdx != 0 && pkt.idx > st.lastIdx+1 {
		st.resync = true
		if st.track.Kind == KindVideo && !st.waiting {
			st.waiting = true
			st.src().RequestKeyframe()
		}
	}
	st.lastIdx = max(st.lastIdx, pkt.idx)
	if d := st.dropAt.Load(); d != 0 {
		dl, di := uint8(d>>dropLayerShift), d&(1<<dropLayerShift-1)
		switch {
		case dl == pkt.layer && pkt.idx >= di && st.dropAt.CompareAndSwap(d, 0):
			st.resync = true
			if st.track.Kind == KindVideo && !st.waiting {
				st.waiting = true
				st.src().RequestKeyframe()
			}
		case dl != pkt.layer && (st.lay == nil || int(dl) != st.lay.target):
			st.dropAt.CompareAndSwap(d, 0) // about a layer left behind
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
			// Ask again now and then: a request or its answer can be lost.
			st.src().requestAgain(pkt.at)
			return nil
		}
		st.waiting = false
		st.resync = true
	}
	h := &st.hdr
	*h = pkt.Header
	h.Timestamp = ts
	if st.lay != nil {
		h.Timestamp += st.lay.tsOff
		st.lay.observe(h.Timestamp, pkt.at)
	}
	switch {
	case !st.started:
		st.started = true
		st.resync = false
		st.lastOut = pkt.Header.SequenceNumber - 1
		st.mapFrom = pkt.Header.SequenceNumber
	case st.resync:
		// Close the gap left by skipped packets so the reader does not
		// NACK packets that will never come.
		st.seqOff = st.lastOut + 1 - pkt.Header.SequenceNumber
		st.resync = false
		st.mapFrom = st.lastOut + 1
	}
	h.SequenceNumber += st.seqOff
	prevOut := st.lastOut
	if int16(h.SequenceNumber-st.lastOut) > 0 {
		st.lastOut = h.SequenceNumber
	}
	var err error
	if b != nil {
		err = s.batchSink.WriteRTPBatch(b, i, h, pkt.Payload)
	} else {
		err = sink.WriteRTP(i, h, pkt.Payload)
	}
	switch err {
	case nil:
	case ErrDropped:
		// The sink's own queue was full: as a drop of ours, resume at the
		// next keyframe, the numbering closing over this packet.
		st.lastOut = prevOut
		s.Dropped.Add(1)
		st.markDrop(pkt)
		return nil
	default:
		return err
	}
	if !st.bursting {
		st.publishMap()
	}
	s.Sent.Add(1)
	s.SentBytes.Add(uint64(h.MarshalSize() + len(pkt.Payload)))
	return nil
}

// maxLag bounds every queue in time: a packet that waited longer than this
// for its subscriber (a queued subscriber's goroutine or a fan-out worker
// starved of CPU) is dropped, and the subscriber resumes at the next
// keyframe. Viewers never accumulate seconds of stale media, whatever the
// bitrate; the packet bounds (DefaultQueueSize, workerQueue) only cap memory.
// It must exceed the longest GOP-cache burst (burstDuration, 500 ms), during
// which a new subscriber's live packets wait in its queue.
const maxLag = time.Second

func stale(p *Packet, now time.Time) bool {
	return p.at != 0 && now.UnixNano()-p.at > int64(maxLag)
}

func (st *subTrack) markDrop(pkt *Packet) {
	st.dropAt.CompareAndSwap(0, uint64(pkt.layer)<<dropLayerShift|max(1, pkt.idx))
}

func (st *subTrack) publishMap() {
	layer := uint64(0)
	if st.lay != nil {
		layer = uint64(st.lay.cur)
	}
	st.outMap.Store(layer<<49 | 1<<48 | uint64(st.seqOff)<<32 | uint64(st.mapFrom)<<16 | uint64(st.lastOut))
}

// Retransmit answers a reader's NACK for the packet it knows as seq on track
// i: the packet is looked up in the track's shared history and written to
// sink with this subscriber's numbering. It runs on the reader's RTCP
// goroutine, concurrently with Run, so sink must accept concurrent writes
// (pion's TrackLocalWriter does). Packets sent before the subscriber's
// numbering last changed, or as part of the GOP-cache burst, are not
// answered: their mapping is gone.
func (s *Subscription) Retransmit(i int, seq uint16, sink Sink) bool {
	if i < 0 || i >= len(s.tracks) || !s.tracks[i].enabled {
		return false
	}
	st := &s.tracks[i]
	m := st.outMap.Load()
	if m>>48&1 == 0 {
		return false
	}
	seqOff, from, last := uint16(m>>32), uint16(m>>16), uint16(m)
	if int16(seq-from) < 0 || int16(seq-last) > 0 {
		return false
	}
	src, tsOff := st.track, uint32(0)
	if st.lay != nil {
		// The offset and the map must be of one layer: a switch in
		// between invalidates the map first (switched).
		tsOff = st.lay.outTS.Load()
		if st.outMap.Load()>>16 != m>>16 {
			return false
		}
		src = st.track.layers[m>>49]
	}
	pkt := src.hist.get(seq - seqOff)
	if pkt == nil {
		return false
	}
	defer pkt.Release()
	hdr := pkt.Header
	hdr.SequenceNumber = seq
	hdr.Timestamp += tsOff
	if sink.WriteRTP(i, &hdr, pkt.Payload) != nil {
		return false
	}
	s.Retransmitted.Add(1)
	return true
}

func (s *Subscription) drain() {
	for {
		select {
		case q := <-s.audioQ:
			q.pkt.Release()
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
