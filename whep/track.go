package whep

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/streams"
)

// localTrack is the pion TrackLocal of one viewer track. pion binds it
// (choosing the SSRC and the negotiated payload type, and announcing them in
// the answer) but never writes it: the viewer's packets go out through its
// rtc.Egress, which seals and sends them itself.
type localTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	bound        atomic.Pointer[binding]
	// clock is the media clock of what the viewer gets on this track,
	// for its sender reports (reports.go).
	clock rtc.Clock
}

type binding struct {
	ssrc uint32
	pt   uint8
}

func (t *localTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codecs := ctx.CodecParameters()
	if len(codecs) == 0 {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	// The media engine holds exactly the codec chosen for this viewer.
	c := codecs[0]
	t.bound.Store(&binding{ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType)})
	return c, nil
}

func (t *localTrack) Unbind(webrtc.TrackLocalContext) error {
	t.bound.Store(nil)
	return nil
}

func (t *localTrack) ID() string                { return t.id }
func (t *localTrack) RID() string               { return "" }
func (t *localTrack) StreamID() string          { return t.streamID }
func (t *localTrack) Kind() webrtc.RTPCodecType { return t.kind }

// viewerSink is a viewer's streams.Sink: the header gets the viewer's SSRC
// and payload type, and the packet goes to its Egress. It never blocks,
// whatever the transport (UDP: a batch on the media socket; ICE-TCP: a
// bounded queue with a writer of its own), so every viewer is written by the
// fan-out workers once its start burst is out (streams.BatchSink), and a
// viewer that moves between UDP and TCP (an ICE restart) stays where it is:
// only its egress path changes (rtc.Egress.Repath).
type viewerSink struct {
	tracks []*localTrack // by stream track index; nil where not negotiated
	egress *rtc.Egress
	engine *rtc.Engine

	// The viewer's time to first frame: the first packet written on
	// firstTrack (its video, else its audio) is reported once.
	firstTrack int
	firstDone  atomic.Bool
	start      time.Time
	onFirst    func(time.Duration)
}

func (s *viewerSink) header(i int, h *rtp.Header) bool {
	if i >= len(s.tracks) || s.tracks[i] == nil {
		return false
	}
	b := s.tracks[i].bound.Load()
	if b == nil {
		return false // not bound yet: dropped (the viewer starts at a keyframe)
	}
	h.SSRC = b.ssrc
	h.PayloadType = b.pt
	return true
}

// WriteRTP sends one packet at once (the start burst, NACK answers).
func (s *viewerSink) WriteRTP(i int, h *rtp.Header, payload []byte) error {
	if !s.header(i, h) {
		return nil
	}
	err := s.egress.Write(i, h, payload)
	s.sent(i, err)
	return err
}

// WriteRTPBatch queues one packet in a fan-out worker's batch.
func (s *viewerSink) WriteRTPBatch(b streams.Batch, i int, h *rtp.Header, payload []byte) error {
	if !s.header(i, h) {
		return nil
	}
	err := s.egress.WriteBatch(b.(*rtc.Batch), i, h, payload)
	s.sent(i, err)
	return err
}

func (s *viewerSink) NonBlocking() bool       { return true }
func (s *viewerSink) BatchKey() any           { return s.engine }
func (s *viewerSink) NewBatch() streams.Batch { return s.engine.NewBatch() }

func (s *viewerSink) sent(i int, err error) {
	if err == nil && i == s.firstTrack && !s.firstDone.Load() && !s.firstDone.Swap(true) && s.onFirst != nil {
		s.onFirst(time.Since(s.start))
	}
}
