package streams

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
)

// Track is one medium of a stream. It outlives a publisher that is replaced by
// one with the same codec, so its subscribers keep their negotiated session.
type Track struct {
	Index int
	Kind  Kind
	Codec Codec

	// codec is Codec.MimeType resolved once, for the per-packet path.
	codecID codec.ID

	stream *Stream
	ssrc   uint32

	// norm rewrites sequence numbers and timestamps so that, across publisher
	// changes, the track's output is one continuous RTP stream.
	normMu   sync.Mutex
	norm     normalizer
	arrivals uint64 // packets written so far (Packet.idx), under normMu
	// auTS/auKey: the newest access unit's timestamp and whether it held
	// a keyframe packet yet, under normMu (keyframe starts, keyframes.go).
	auTS  uint32
	auKey bool
	// clockTS and clockAt, under normMu: the newest timestamp written and
	// when it arrived (unix nanos), for RTPTimeAt.
	clockTS uint32
	clockAt int64

	// kf learns whether the publisher answers keyframe requests (keyframes.go).
	kf    keyframeLearner
	stats TrackStats

	// gop holds the current GOP of a video track for instant start (gop.go).
	gop gopCache
	// hist answers subscribers' NACKs for all of them (history.go).
	hist history
	// fan writes the track's direct subscribers (direct.go).
	fan fanout

	// size is the picture size from the last keyframe that declared one.
	size videoSize

	// A simulcast group has layers and carries no packets itself; a layer
	// has its group, its position in it and its rid (layers.go).
	layers []*Track
	group  *Track
	layer  int
	RID    string
	rate   rateMeter

	// derived is the track's converted counterpart; conv is set on a
	// derived track, linking it to its source (derived.go).
	derived *Track
	conv    *conversion
}

// TrackStats are the track's counters; all fields are read atomically.
type TrackStats struct {
	Packets           atomic.Uint64
	Bytes             atomic.Uint64
	Keyframes         atomic.Uint64
	KeyframeRequests  atomic.Uint64
	lastPacketUnixNan atomic.Int64
	// lastMediaUnixNano: the last packet with a payload. Padding-only
	// packets (a browser probing its bandwidth on a layer it paused) do not
	// make a simulcast layer active.
	lastMediaUnixNano atomic.Int64
	// dropped counts the publisher's packets that never reached the track
	// (Publication.Drop).
	dropped ingestDrops
}

func newTrack(s *Stream, i int, spec TrackSpec) *Track {
	t := &Track{Index: i, Kind: spec.Kind, Codec: spec.Codec, codecID: codec.Parse(spec.Codec.MimeType),
		stream: s, ssrc: rand.Uint32()}
	switch {
	case len(spec.Layers) > 0:
		t.newLayers(s, spec) // the group itself caches nothing
	case spec.Kind == KindVideo:
		t.gop.maxBytes = s.reg.cfg.GOPCacheBytes
		t.hist = newHistory(videoHistory)
	default:
		t.hist = newHistory(audioHistory)
	}
	return t
}

// Stats returns the track's live counters.
func (t *Track) Stats() *TrackStats { return &t.stats }

// LastPacket is when the track last received a packet (zero if never).
func (t *TrackStats) LastPacket() time.Time {
	n := t.lastPacketUnixNan.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// write publishes pkt to every subscriber. It takes over the caller's reference.
func (t *Track) write(pkt *Packet, gen uint32, now time.Time) {
	h := &pkt.Header
	// Header extensions carry ids negotiated with the publisher; each reader
	// negotiates its own, so forward none (RFC 8285 ids are per session).
	h.Extension = false
	h.Extensions = h.Extensions[:0]
	h.SSRC = t.ssrc

	pkt.Keyframe = t.codecID.Keyframe(pkt.Payload)
	t.normMu.Lock()
	t.norm.apply(h, gen, now, t.Codec.ClockRate)
	if t.clockAt == 0 || int32(h.Timestamp-t.clockTS) > 0 {
		t.clockTS, t.clockAt = h.Timestamp, now.UnixNano()
	}
	t.arrivals++
	pkt.idx = t.arrivals
	if pkt.idx == 1 || h.Timestamp != t.auTS {
		t.auTS, t.auKey = h.Timestamp, false
	}
	// The first keyframe packet of an access unit starts a new picture a
	// viewer can begin at (the SPS; its IDR follows under the same timestamp).
	keyStart := pkt.Keyframe && !t.auKey && t.Kind == KindVideo
	pkt.keyStart = keyStart
	t.auKey = t.auKey || pkt.Keyframe
	t.normMu.Unlock()

	pkt.gen = gen
	pkt.at = now.UnixNano()
	pkt.layer = uint8(t.layer)
	if t.kf.gen.Load() != gen {
		t.kf.reset(gen)
	}
	if keyStart {
		t.kf.keyframe(pkt.at)
	} else if t.Kind == KindVideo {
		t.probe(pkt.at)
	}
	if keyStart {
		// Once per picture: SPS, PPS and the IDR's slices (often FU-A
		// fragments) are all keyframe packets of one access unit.
		t.stats.Keyframes.Add(1)
	}
	if pkt.Keyframe && t.Kind == KindVideo {
		t.size.observe(t.codecID, pkt.Payload)
	}
	t.stats.Packets.Add(1)
	t.stats.Bytes.Add(uint64(len(pkt.Payload)))
	t.stats.lastPacketUnixNan.Store(now.UnixNano())
	if len(pkt.Payload) > 0 {
		t.stats.lastMediaUnixNano.Store(now.UnixNano())
	}

	// Cache before fanning out: a subscriber that snapshots the cache in
	// between sees the packet twice and drops the queued copy by its
	// arrival index (Subscription.deliver), so it can never miss one.
	if t.Kind == KindVideo {
		t.gop.add(pkt)
	}
	t.hist.put(pkt)
	if subs := t.stream.subs.Load(); subs != nil {
		for _, s := range *subs {
			s.push(t.Index, pkt)
		}
	}
	// Queues first, workers second: see Subscription.runDirect.
	t.fan.dispatch(pkt)
	pkt.Release()
}

// LayerKeyframer is implemented by publishers of simulcast tracks that can
// ask one layer for a keyframe (a PLI for that layer's SSRC). Without it, a
// layer's request goes to the whole track.
type LayerKeyframer interface {
	RequestLayerKeyframe(track, layer int)
}

// RTPTimeAt is the track's RTP timestamp for the wall-clock instant now:
// the newest timestamp written, advanced by the time since it arrived. It
// is what the track's sender reports tell readers (lip sync across
// tracks), so each track's timestamps map to when the gateway received
// them. A derived track answers through its source's clock and the
// conversion's timestamp mapping: the same instant of the source's media
// has the same wall clock in both. ok is false before the first packet.
func (t *Track) RTPTimeAt(now time.Time) (uint32, bool) {
	// A simulcast group has no timeline of its own: its viewers' are
	// their current layer's, shifted per viewer (Subscription.RTPTimeAt).
	if t.Layered() {
		return 0, false
	}
	if t.conv != nil {
		return t.conv.rtpTimeAt(now)
	}
	t.normMu.Lock()
	ts, at := t.clockTS, t.clockAt
	t.normMu.Unlock()
	if at == 0 {
		return 0, false
	}
	return ts + uint32(int64(float64(now.UnixNano()-at)/float64(time.Second)*float64(t.Codec.ClockRate))), true
}

// normalizer maps each publisher's sequence numbers and timestamps onto the
// track's continuous numbering. The first publisher passes through unchanged;
// a successor continues where its predecessor stopped, its timestamps advanced
// by the wall-clock time in between, so readers see one stream (as an SFU
// does on a simulcast switch) instead of a discontinuity they must renegotiate.
type normalizer struct {
	started bool
	gen     uint32
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16
	lastTS  uint32
	lastAt  time.Time
}

func (n *normalizer) apply(h *rtp.Header, gen uint32, now time.Time, clockRate uint32) {
	switch {
	case !n.started:
		n.started = true
		n.gen = gen
	case gen != n.gen:
		n.gen = gen
		n.seqOff = n.lastSeq + 1 - h.SequenceNumber
		delta := uint32(now.Sub(n.lastAt).Seconds() * float64(clockRate))
		if delta == 0 {
			delta = 1
		}
		n.tsOff = n.lastTS + delta - h.Timestamp
		h.SequenceNumber += n.seqOff
		h.Timestamp += n.tsOff
		n.lastSeq, n.lastTS, n.lastAt = h.SequenceNumber, h.Timestamp, now
		return
	}
	h.SequenceNumber += n.seqOff
	h.Timestamp += n.tsOff
	if int16(h.SequenceNumber-n.lastSeq) > 0 || n.lastAt.IsZero() {
		n.lastSeq, n.lastTS, n.lastAt = h.SequenceNumber, h.Timestamp, now
	}
}
