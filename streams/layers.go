package streams

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// A simulcast publisher (RFC 8853: OBS 32.1+, browsers with sendEncodings)
// sends one video medium as several independent encodings of the same
// picture, its layers, told apart by their rids. The stream keeps the
// medium as one Track, a group, whose layers are each a full Track of their
// own: own header normalizer, keyframe detection, GOP cache, retransmission
// history, fan-out workers, picture size and counters. The group carries no
// packets itself; Publication.WriteLayer writes a layer.
//
// A subscriber of the group receives exactly one layer at a time on one
// outgoing numbering (switch.go). Readers that know nothing of layers (RTSP,
// a relay to another node) get the best one, as if the group were a plain
// track of the best layer.

// MaxLayers bounds the layers of one track.
const MaxLayers = 8

// activeWindow: a layer that sent nothing for this long is inactive (a
// browser stops its top layer when its uplink is short, OBS a layer whose
// encoder stalled); no subscriber is moved to it.
const activeWindow = 2 * time.Second

// LayerInfo is a snapshot of one layer of a simulcast track.
type LayerInfo struct {
	Index int    // position in the publisher's order (the offer's a=simulcast)
	RID   string // RFC 8851 rid
	// Width and Height are the picture size from the layer's last keyframe
	// that declared it, 0 until then.
	Width, Height int
	BitrateBps    float64 // payload bits per second over the last seconds
	Packets       uint64
	Bytes         uint64
	Keyframes     uint64
	LastPacket    time.Time
	// Active: the layer sent media within the last two seconds (padding
	// alone does not count: a browser probes on a layer it paused).
	Active bool
}

// Layered reports whether the track is a group of simulcast layers.
func (t *Track) Layered() bool { return len(t.layers) > 0 }

// Layers describes the track's layers in the publisher's order; nil for a
// plain track.
func (t *Track) Layers() []LayerInfo {
	if len(t.layers) == 0 {
		return nil
	}
	now := time.Now()
	out := make([]LayerInfo, len(t.layers))
	for i, l := range t.layers {
		out[i] = l.layerInfo(now)
	}
	return out
}

func (l *Track) layerInfo(now time.Time) LayerInfo {
	w, h := l.size.get()
	media := l.stats.lastMediaUnixNano.Load()
	bytes := l.stats.Bytes.Load()
	return LayerInfo{
		Index: l.layer, RID: l.RID, Width: w, Height: h,
		BitrateBps: l.rate.bitrate(now, bytes),
		Packets:    l.stats.Packets.Load(), Bytes: bytes, Keyframes: l.stats.Keyframes.Load(),
		LastPacket: l.stats.LastPacket(), Active: media != 0 && now.UnixNano()-media < int64(activeWindow),
	}
}

// Ranked returns layers sorted from the lowest quality to the highest:
// by picture size, then by bitrate, then by the publisher's order. The
// publisher's order says nothing by itself: browsers list the smallest
// first by habit ("q;h;f"), OBS the largest ("0" is full size).
func Ranked(layers []LayerInfo) []LayerInfo {
	out := append([]LayerInfo(nil), layers...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if pa, pb := a.Width*a.Height, b.Width*b.Height; pa != pb {
			return pa < pb
		}
		if a.BitrateBps != b.BitrateBps {
			return a.BitrateBps < b.BitrateBps
		}
		return a.Index > b.Index
	})
	return out
}

// Best returns the highest ranked active layer, or the highest ranked one
// when none is active; ok is false for no layers.
func Best(layers []LayerInfo) (LayerInfo, bool) {
	r := Ranked(layers)
	for i := len(r) - 1; i >= 0; i-- {
		if r[i].Active {
			return r[i], true
		}
	}
	if len(r) == 0 {
		return LayerInfo{}, false
	}
	return r[len(r)-1], true
}

// Sum adds the layers' counters up, for listings of the group as a whole:
// the stream's ingest is all of its layers.
func sumLayers(layers []LayerInfo) (packets, bytes, keyframes uint64, last time.Time) {
	for _, l := range layers {
		packets += l.Packets
		bytes += l.Bytes
		keyframes += l.Keyframes
		if l.LastPacket.After(last) {
			last = l.LastPacket
		}
	}
	return
}

// newLayers makes the layer tracks of group g, one per rid.
func (g *Track) newLayers(s *Stream, spec TrackSpec) {
	for j, rid := range spec.Layers {
		l := newTrack(s, g.Index, TrackSpec{Kind: spec.Kind, Codec: spec.Codec})
		l.group, l.layer, l.RID = g, j, rid
		g.layers = append(g.layers, l)
	}
}

// rids lists a group's layer names (nil for a plain track).
func (t *Track) rids() []string {
	var out []string
	for _, l := range t.layers {
		out = append(out, l.RID)
	}
	return out
}

// checkLayers: layers are for video, at most MaxLayers, named uniquely.
func (sp TrackSpec) checkLayers() error {
	if len(sp.Layers) == 0 {
		return nil
	}
	if sp.Kind != KindVideo || len(sp.Layers) > MaxLayers {
		return fmt.Errorf("%d %s layers: at most %d video layers", len(sp.Layers), sp.Kind, MaxLayers)
	}
	seen := map[string]bool{}
	for _, rid := range sp.Layers {
		if rid == "" || seen[rid] {
			return fmt.Errorf("layer names %q are not unique and non-empty", sp.Layers)
		}
		seen[rid] = true
	}
	return nil
}

// Bitrate is the track's ingest bitrate (payload bits per second over the
// last seconds); for a simulcast track, its layers' together.
func (t *Track) Bitrate() float64 {
	now := time.Now()
	var bps float64
	t.each(func(t *Track) {
		if t.group != nil || !t.Layered() {
			bps += t.rate.bitrate(now, t.stats.Bytes.Load())
		}
	})
	return bps
}

// PacketCount is the packets the track received, its layers' together.
func (t *Track) PacketCount() uint64 {
	var n uint64
	t.each(func(t *Track) { n += t.stats.Packets.Load() })
	return n
}

// lastPacket is when the track, or any of its layers, last got a packet.
func (t *Track) lastPacket() time.Time {
	var last time.Time
	t.each(func(t *Track) {
		if l := t.stats.LastPacket(); l.After(last) {
			last = l
		}
	})
	return last
}

// each calls fn for the track and every one of its layers.
func (t *Track) each(fn func(*Track)) {
	fn(t)
	for _, l := range t.layers {
		fn(l)
	}
}

// rateMeter turns a byte counter into a bitrate over the last few seconds,
// computed when asked (listings, layer choice): nothing per packet.
type rateMeter struct {
	mu    sync.Mutex
	at    [rateSamples]int64
	bytes [rateSamples]uint64
	n     int // samples held
	head  int // index of the newest
}

const (
	rateSamples = 12                     // × rateStep: the window
	rateStep    = 250 * time.Millisecond // minimum time between samples
)

// bitrate records total at now (at most once per rateStep) and returns
// the bits per second since the oldest sample kept, 0 before a second of
// history.
func (m *rateMeter) bitrate(now time.Time, total uint64) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	ns := now.UnixNano()
	if m.n == 0 || ns-m.at[m.head] >= int64(rateStep) {
		m.head = (m.head + 1) % rateSamples
		m.at[m.head], m.bytes[m.head] = ns, total
		m.n = min(m.n+1, rateSamples)
	}
	oldest := (m.head - m.n + 1 + rateSamples) % rateSamples
	dt := time.Duration(ns - m.at[oldest])
	if dt < time.Second || total < m.bytes[oldest] {
		return 0
	}
	return float64(total-m.bytes[oldest]) * 8 / dt.Seconds()
}
