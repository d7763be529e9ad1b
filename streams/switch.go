package streams

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// How a subscriber moves between the layers of a simulcast track.
//
// The subscriber sends one layer (cur) on one outgoing numbering: one SSRC
// (the sink's), sequence numbers without a gap and timestamps that keep
// running. To change layers it names a target; from then on the producer
// hands it the packets of both layers (want), it keeps sending cur, and it
// switches on the first packet of a keyframe of the target (Packet.keyStart:
// the SPS, not the IDR after it, since a new size comes with a new SPS). At
// that packet the sequence offset is reset so the numbering continues, and
// the timestamp offset is chosen so the target's keyframe lands on the
// outgoing timeline where it belongs: each layer has its own random RTP
// timestamp base, but all layers are pictures of one capture clock, sent
// together, so the keyframe goes right where its arrival time says, after
// the last picture of the old layer. The packets of the old layer stop at
// that same instant. No picture of one layer ever follows one of another
// that it does not start from, so a decoder never sees a broken picture.
//
// Publishers that ignore keyframe requests (OBS, FFmpeg) would keep a
// subscriber waiting for up to a whole GOP. An urgent switch (the reader
// chose a layer, or its network needs a lower one) that no keyframe ends
// within keyframeAnswerWindow is made from the target's cached GOP instead,
// sent fast right after the old layer's last picture, exactly as a new
// viewer starts (startFromCache), within the bounds a start burst has
// (Config.StartBurstMaxAge and StartBurstMaxBytes); at once when the layer
// is known to ignore requests (keyframes.go). An adapter's switch down is
// paced to what it measured the path to carry (burstPace). A switch up that an adapter tries on its
// own is never made from the cache: a burst of the larger layer is the
// worst probe of a network that has only just recovered.

// reselectEvery: how often a subscriber re-evaluates its layers (a layer
// falling silent, a size becoming known, an adapter's new pick are also
// applied at once when signalled).
const reselectEvery = 500 * time.Millisecond

// layerState is one subscriber's view of one simulcast track.
type layerState struct {
	// set from any goroutine (SetLayer, SetAutoLayer), under choiceMu
	choiceMu sync.Mutex
	choice   LayerChoice
	auto     string
	autoBps  float64 // what the adapter says the path carries; 0 unknown

	// consumer state: the reader's goroutine, or the track's st.mu in
	// direct delivery
	cur, target int
	urgent      bool      // the switch to target may use its cached GOP
	since       time.Time // when target was named
	tsOff       uint32    // added to cur's timestamps
	lastTS      uint32    // newest outgoing timestamp
	lastAt      int64     // arrival (unix nanos) of the packet that had it
	haveTS      bool

	joined uint32 // layers whose fan-out workers the subscription is on (Run's goroutine)

	want    atomic.Uint32 // layers the producer hands over: cur | target
	active  atomic.Int32  // cur, for other goroutines
	pending atomic.Int32  // target, for other goroutines
	outTS   atomic.Uint32 // tsOff, for Retransmit
	// Switches counts completed layer changes.
	Switches atomic.Uint64
}

func newLayerState(t *Track, c LayerChoice) *layerState {
	ls := &layerState{choice: c}
	ls.cur = pick(c, "", t.Layers(), -1)
	ls.target = ls.cur
	ls.publish()
	return ls
}

// publish makes cur and target visible to the producer and other readers.
func (ls *layerState) publish() {
	ls.want.Store(1<<ls.cur | 1<<ls.target)
	ls.active.Store(int32(ls.cur))
	ls.pending.Store(int32(ls.target))
}

// observe remembers the newest outgoing timestamp and when its packet came.
func (ls *layerState) observe(ts uint32, at int64) {
	if !ls.haveTS || int32(ts-ls.lastTS) > 0 {
		ls.lastTS, ls.lastAt, ls.haveTS = ts, at, true
	}
}

// alignedOffset is the timestamp offset that puts a packet of the new
// layer with timestamp ts, arrived at at, on the outgoing timeline: the
// last outgoing timestamp plus the time since its packet arrived, and
// always after it.
func (ls *layerState) alignedOffset(ts uint32, at int64, clockRate uint32) uint32 {
	if !ls.haveTS {
		return 0 // nothing sent yet: the layer's own timeline
	}
	elapsed := max(at-ls.lastAt, 0)
	out := ls.lastTS + uint32(float64(elapsed)*float64(clockRate)/1e9)
	if int32(out-ls.lastTS) <= 0 {
		out = ls.lastTS + 1
	}
	return out - ts
}

// src is the track whose packets the subscriber sends now: the track
// itself, or its current layer. Consumer side only.
func (st *subTrack) src() *Track {
	if st.lay == nil {
		return st.track
	}
	return st.track.layers[st.lay.cur]
}

// current is src for any goroutine (a viewer's keyframe request).
func (st *subTrack) current() *Track {
	if st.lay == nil {
		return st.track
	}
	return st.track.layers[st.lay.active.Load()]
}

// takes reports whether the subscriber wants a packet of that layer now
// (any, for a plain track), unless the track is paused. The producer asks
// before queueing.
func (st *subTrack) takes(layer uint8) bool {
	return !st.paused.Load() && (st.lay == nil || st.lay.want.Load()&(1<<layer) != 0)
}

// layerGate decides, on the consumer side, whether a packet of a
// simulcast track goes out, and makes the switch at the target's first
// keyframe packet.
func (s *Subscription) layerGate(st *subTrack, pkt *Packet) bool {
	ls := st.lay
	l := int(pkt.layer)
	if l == ls.cur {
		return true
	}
	if l != ls.target {
		return false // a layer left behind, still in a queue
	}
	if !pkt.keyStart {
		st.track.layers[l].RequestKeyframe() // throttled per layer
		return false
	}
	ls.cur = l
	ls.publish()
	ls.tsOff = ls.alignedOffset(pkt.Header.Timestamp, pkt.at, st.track.Codec.ClockRate)
	s.switched(st, l)
	return true
}

// switched resets what the old layer's numbering left behind: the
// retransmission map (the old layer's packets are not in the new layer's
// history), the arrival-index guard (each layer counts its own arrivals),
// a pending resync that was about the old layer, and the sequence offset,
// recomputed at the next packet so the numbering runs on.
func (s *Subscription) switched(st *subTrack, l int) {
	ls := st.lay
	st.outMap.Store(0)
	ls.outTS.Store(ls.tsOff)
	st.lastIdx = 0
	if d := st.dropAt.Load(); d != 0 && int(d>>dropLayerShift) != l {
		st.dropAt.CompareAndSwap(d, 0)
	}
	if st.started {
		st.resync = true
	}
	st.waiting = false
	ls.Switches.Add(1)
	s.kickLayers()
}

// placeBurst: a switch from the cache sends the target's cached GOP with
// its keyframe one tick after the old layer's last picture. keyBelow is how
// many ticks stampBurst stamps the keyframe below newest, the burst's newest
// picture's timestamp, to which this offset adds.
func (st *subTrack) placeBurst(keyBelow int64, newest uint32) {
	ls := st.lay
	if ls == nil || !ls.haveTS {
		return
	}
	ls.tsOff = ls.lastTS + 1 + uint32(keyBelow) - newest
	ls.outTS.Store(ls.tsOff)
}

// dropLayerShift: Subscription.dropAt holds the layer of the dropped packet
// above its arrival index (indexes count per layer).
const dropLayerShift = 56

// kickLayers asks the subscription's goroutine to re-evaluate its layers
// now rather than at its next tick.
func (s *Subscription) kickLayers() {
	select {
	case s.layerKick <- struct{}{}:
	default:
	}
}

// layerTicker returns the reselection tick, nil for a subscription without
// simulcast tracks.
func (s *Subscription) layerTicker() (<-chan time.Time, func()) {
	if s.layerKick == nil {
		return nil, func() {}
	}
	t := time.NewTicker(reselectEvery)
	return t.C, t.Stop
}

// reselect names each simulcast track's target from its choice and the
// layers' state now, and returns a track whose urgent switch should now be
// made from the cache, or -1. It runs on the subscription's goroutine.
func (s *Subscription) reselect(now time.Time) int {
	cache := -1
	for i := range s.tracks {
		st := &s.tracks[i]
		ls := st.lay
		if ls == nil {
			continue
		}
		layers := st.track.Layers()
		ls.choiceMu.Lock()
		c, auto := ls.choice, ls.auto
		ls.choiceMu.Unlock()
		st.mu.Lock()
		want := pick(c, auto, layers, ls.cur)
		if want != ls.target && s.direct.Load() && ls.joined&(1<<want) == 0 {
			// On the target's workers before the producer is told to hand
			// its packets over: none of them falls between.
			if !st.track.layers[want].fan.join(st.track.layers[want], s) {
				st.mu.Unlock()
				continue
			}
			ls.joined |= 1 << want
		}
		if want != ls.target {
			ls.target = want
			ls.since = now
			ranked := Ranked(layers)
			ls.urgent = c.Mode != LayerAuto || rankOf(ranked, want) < rankOf(ranked, ls.cur)
			ls.publish()
			if want != ls.cur {
				st.track.layers[want].RequestKeyframe()
			}
		}
		// A publisher known to ignore requests is not waited for.
		if t := st.track.layers[ls.target]; ls.target != ls.cur && ls.urgent && cache < 0 {
			t.kf.expire(now.UnixNano())
			if (now.Sub(ls.since) >= keyframeAnswerWindow || t.Answers() == AnswersNo) && t.usableGOP(now) {
				cache = i
			}
		}
		st.mu.Unlock()
	}
	return cache
}

// switchFromCache makes track i's pending switch at once, from the target
// layer's cached GOP. The subscription is not in direct delivery.
func (s *Subscription) switchFromCache(ctx context.Context, i int, sink Sink) error {
	st := &s.tracks[i]
	ls := st.lay
	st.mu.Lock()
	if ls.target == ls.cur {
		st.mu.Unlock()
		return nil
	}
	ls.cur = ls.target
	ls.publish()
	s.switched(st, ls.cur)
	// The burst starts at the cached keyframe; should the cache have
	// emptied meanwhile, the subscriber waits for the layer's next one.
	st.waiting = true
	st.mu.Unlock()
	err := s.startFromCache(ctx, i, sink)
	if st.waiting {
		st.src().RequestKeyframe()
	}
	return err
}

// syncFans puts a subscription in direct delivery on the fan-out workers
// of exactly the layers it wants, and on nothing else.
func (s *Subscription) syncFans() bool {
	for i := range s.tracks {
		st := &s.tracks[i]
		if st.lay == nil || !st.enabled {
			continue
		}
		want := st.lay.want.Load()
		for l, t := range st.track.layers {
			bit := uint32(1) << l
			switch {
			case want&bit != 0 && st.lay.joined&bit == 0:
				if !t.fan.join(t, s) {
					return false
				}
				st.lay.joined |= bit
			case want&bit == 0 && st.lay.joined&bit != 0:
				t.fan.leave(s)
				st.lay.joined &^= bit
			}
		}
	}
	return true
}

// leaveFans takes the subscription off every fan-out worker it is on.
func (s *Subscription) leaveFans() {
	for i := range s.tracks {
		st := &s.tracks[i]
		if !st.enabled {
			continue
		}
		if st.lay == nil {
			st.track.fan.leave(s)
			continue
		}
		for l, t := range st.track.layers {
			if st.lay.joined&(1<<l) != 0 {
				t.fan.leave(s)
			}
		}
		st.lay.joined = 0
	}
}

// burstPace stretches a cached-GOP burst of total bytes to fit the path an
// adapter measured (at 80 % of it): a switch down on a congested path must
// not send the smaller layer's GOP faster than the path takes it. Never
// longer than the span of media it carries, or the viewer would fall behind.
func (st *subTrack) burstPace(pace, span time.Duration, total int) time.Duration {
	ls := st.lay
	if ls == nil {
		return pace
	}
	ls.choiceMu.Lock()
	bps := ls.autoBps
	auto := ls.choice.Mode == LayerAuto
	ls.choiceMu.Unlock()
	if !auto || bps <= 0 {
		return pace
	}
	fit := time.Duration(float64(total) * 8 / (0.8 * bps) * float64(time.Second))
	return max(pace, min(fit, span))
}
