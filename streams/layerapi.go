package streams

import "time"

// What other packages read and change of a subscriber's simulcast layers
// (switch.go does the switching).

// SetLayer changes how the subscriber's layer of simulcast track i is
// chosen; the switch happens at the target's next keyframe (or from its
// cache). ErrNoLayer for a rid the track does not have; a plain track
// accepts any other choice and stays as it is.
func (s *Subscription) SetLayer(i int, c LayerChoice) error {
	if i < 0 || i >= len(s.tracks) || !s.tracks[i].enabled {
		return ErrNoLayer
	}
	st := &s.tracks[i]
	if err := c.Check(st.track); err != nil {
		return err
	}
	if st.lay == nil {
		return nil
	}
	st.lay.choiceMu.Lock()
	st.lay.choice = c
	st.lay.choiceMu.Unlock()
	s.kickLayers()
	return nil
}

// SetAutoLayer is an adapter's pick for a subscriber in LayerAuto: the rid
// its network carries now, and what it carries in bits per second (0:
// not known). A switch made from the cache is paced to fit in that.
// Ignored in other modes.
func (s *Subscription) SetAutoLayer(i int, rid string, bps float64) {
	if i < 0 || i >= len(s.tracks) || s.tracks[i].lay == nil {
		return
	}
	ls := s.tracks[i].lay
	ls.choiceMu.Lock()
	changed := ls.auto != rid && ls.choice.Mode == LayerAuto
	ls.auto, ls.autoBps = rid, bps
	ls.choiceMu.Unlock()
	if changed {
		s.kickLayers()
	}
}

// SubscriberLayer describes a subscriber's layer of a simulcast track.
type SubscriberLayer struct {
	Track    int
	Choice   LayerChoice
	RID      string // the layer being sent
	Target   string // the layer being switched to; "" when settled
	Switches uint64
}

// Layer describes the subscriber's layer of track i; ok is false for a
// plain track.
func (s *Subscription) Layer(i int) (SubscriberLayer, bool) {
	if i < 0 || i >= len(s.tracks) || s.tracks[i].lay == nil {
		return SubscriberLayer{}, false
	}
	st := &s.tracks[i]
	ls := st.lay
	ls.choiceMu.Lock()
	c := ls.choice
	ls.choiceMu.Unlock()
	out := SubscriberLayer{Track: i, Choice: c, Switches: ls.Switches.Load(),
		RID: st.track.layers[ls.active.Load()].RID}
	if p := ls.pending.Load(); p != ls.active.Load() {
		out.Target = st.track.layers[p].RID
	}
	return out, true
}

// Layers describes the layers of the subscribed track i (nil for a plain
// track).
func (s *Subscription) Layers(i int) []LayerInfo {
	if i < 0 || i >= len(s.tracks) || !s.tracks[i].enabled {
		return nil
	}
	return s.tracks[i].track.Layers()
}

func (s *Subscription) layerList() []SubscriberLayer {
	var out []SubscriberLayer
	for i := range s.tracks {
		if l, ok := s.Layer(i); ok {
			out = append(out, l)
		}
	}
	return out
}

// SetPaused stops (or resumes) sending track i to the subscriber: an
// adapter whose viewer's path does not carry even the lowest video layer
// pauses the video so that the audio keeps flowing. Video resumes at a
// keyframe, which it requests.
func (s *Subscription) SetPaused(i int, paused bool) {
	if i < 0 || i >= len(s.tracks) || !s.tracks[i].enabled {
		return
	}
	st := &s.tracks[i]
	if paused {
		if !st.paused.Swap(true) {
			st.pauses.Add(1)
		}
		return
	}
	if st.paused.Swap(false) {
		st.current().RequestKeyframe()
	}
}

// Paused reports whether track i is paused (SetPaused).
func (s *Subscription) Paused(i int) bool {
	return i >= 0 && i < len(s.tracks) && s.tracks[i].paused.Load()
}

func (s *Subscription) videoPaused() bool {
	for i := range s.tracks {
		if st := &s.tracks[i]; st.enabled && st.track.Kind == KindVideo && st.paused.Load() {
			return true
		}
	}
	return false
}

// Bitrate is the ingest bitrate of the subscribed track i (0 for a track
// not subscribed).
func (s *Subscription) Bitrate(i int) float64 {
	if i < 0 || i >= len(s.tracks) || !s.tracks[i].enabled {
		return 0
	}
	return s.tracks[i].track.Bitrate()
}

// RTPTimeAt is track i's RTP timestamp for the instant now on this
// subscriber's timeline (Track.RTPTimeAt): for a simulcast track, its
// current layer's clock with the offset that layer is sent with, so the
// sender reports a viewer gets follow its layer switches.
func (s *Subscription) RTPTimeAt(i int, now time.Time) (uint32, bool) {
	if i < 0 || i >= len(s.tracks) || !s.tracks[i].enabled {
		return 0, false
	}
	st := &s.tracks[i]
	if st.lay == nil {
		return st.track.RTPTimeAt(now)
	}
	ts, ok := st.current().RTPTimeAt(now)
	return ts + st.lay.outTS.Load(), ok
}
