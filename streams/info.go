package streams

import "time"

// StreamInfo is a snapshot of a stream for listings.
type StreamInfo struct {
	Name        string
	State       State
	Since       time.Time // when the current publisher attached (live) or the stream was created
	Publisher   *PublisherInfo
	Tracks      []TrackInfo
	Subscribers []SubscriberSnapshot
}

// TrackInfo is a snapshot of a track.
type TrackInfo struct {
	Index            int
	Kind             Kind
	Codec            Codec
	Packets          uint64
	Bytes            uint64
	Keyframes        uint64
	KeyframeRequests uint64
	// KeyframeAnswers: whether the publisher answers keyframe requests
	// (video; keyframes.go).
	KeyframeAnswers KeyframeAnswers
	LastPacket      time.Time
	// Width and Height are the video picture size from the last keyframe
	// that declared it; 0 until then and for audio. For a simulcast track:
	// its best layer's, whose counters above are the sums of its layers'.
	Width, Height int
	// Dropped counts the publishers' packets that never reached the track.
	Dropped IngestDrops
	// Layers describes a simulcast track's layers (nil for a plain track).
	Layers []LayerInfo
	// Conversion describes the track's derived track, if it has one.
	Conversion *ConversionInfo
}

// ConversionInfo describes a track's conversion into its derived track.
type ConversionInfo struct {
	To      Codec
	Running bool   // converting now (the derived track has readers)
	Readers int    // readers of the derived track
	Starts  uint64 // conversions started so far
	// CPU is the processor time the conversion has used, all runs.
	CPU     time.Duration
	Packets uint64 // packets the derived track has carried
	// Error is why the last start failed ("" if it did not).
	Error string
}

// SubscriberSnapshot is a snapshot of a subscriber.
type SubscriberSnapshot struct {
	SubscriberInfo
	Since     time.Time
	Sent      uint64
	SentBytes uint64
	Dropped   uint64
	Skipped   uint64
	// Layers: the subscriber's layer of each simulcast track it reads.
	Layers []SubscriberLayer
	// VideoPaused: an adapter paused the subscriber's video (SetPaused).
	VideoPaused bool
}

// Info returns a snapshot of the stream name.
func (r *Registry) Info(name string) (StreamInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.streams[name]
	if s == nil {
		return StreamInfo{}, false
	}
	return s.infoLocked(), true
}

// List returns snapshots of every stream, sorted by name.
func (r *Registry) List() []StreamInfo {
	names := r.Names()
	out := make([]StreamInfo, 0, len(names))
	for _, n := range names {
		if info, ok := r.Info(n); ok {
			out = append(out, info)
		}
	}
	return out
}

func (s *Stream) infoLocked() StreamInfo {
	info := StreamInfo{Name: s.Name, State: StateWaiting, Since: s.createdAt}
	if p := s.publisher.Load(); p != nil {
		// Live is what viewers get, not what is attached: a publisher
		// whose transport is down or that has sent nothing for the health
		// window (a camera being reconnected, a WHIP peer gone quiet) is
		// waiting, its readers held.
		if p.healthy(s.reg.cfg.HealthWindow, time.Now()) {
			info.State = StateLive
		}
		info.Since = p.since
		pi := p.info
		info.Publisher = &pi
	}
	for _, t := range s.tracks {
		w, h := t.size.get()
		ti := TrackInfo{
			Width: w, Height: h,
			Index: t.Index, Kind: t.Kind, Codec: t.Codec,
			Packets: t.stats.Packets.Load(), Bytes: t.stats.Bytes.Load(),
			Keyframes: t.stats.Keyframes.Load(), KeyframeRequests: t.stats.KeyframeRequests.Load(),
			LastPacket: t.stats.LastPacket(), Dropped: t.stats.dropped.snapshot(),
			KeyframeAnswers: t.Answers(),
		}
		if ti.Layers = t.Layers(); ti.Layers != nil {
			ti.Packets, ti.Bytes, ti.Keyframes, ti.LastPacket = sumLayers(ti.Layers)
			for _, l := range t.layers {
				ti.KeyframeRequests += l.stats.KeyframeRequests.Load()
			}
			if best, ok := Best(ti.Layers); ok {
				ti.Width, ti.Height = best.Width, best.Height
				ti.KeyframeAnswers = t.layers[best.Index].Answers()
			}
		}
		if d := t.derived; d != nil {
			ti.Conversion = d.conv.infoLocked(d)
		}
		info.Tracks = append(info.Tracks, ti)
	}
	for sub := range s.subsSet {
		info.Subscribers = append(info.Subscribers, SubscriberSnapshot{
			SubscriberInfo: sub.info, Since: sub.since,
			Sent: sub.Sent.Load(), SentBytes: sub.SentBytes.Load(), Dropped: sub.Dropped.Load(), Skipped: sub.Skipped.Load(),
			Layers: sub.layerList(), VideoPaused: sub.videoPaused(),
		})
	}
	return info
}
