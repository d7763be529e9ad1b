package whep

import (
	"errors"
	"io"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/rtc"
)

// localTrack is a pion TrackLocal fed by one subscription. Unlike pion's
// TrackLocalStaticRTP it serves exactly one peer, so its writer (the
// publisher's goroutine for a UDP viewer, the subscriber's own goroutine
// otherwise; see sink.NonBlocking) writes into the peer's SRTP path with no
// lock shared between viewers.
type localTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	bound        atomic.Pointer[binding]
	// what reached pion's SRTP path, for the API and metrics (stats.go)
	packets, bytes atomic.Uint64
	// udp: the selected ICE pair is UDP, so a write never waits for the
	// viewer (set by the session when it connects; see sink.NonBlocking).
	udp atomic.Bool
	// clock is the stream track's media clock, registered with clocks
	// for the sender reports under the SSRC pion binds (rtc.SenderClocks).
	clocks *rtc.SenderClocks
	clock  rtc.Clock
}

type binding struct {
	ssrc uint32
	pt   uint8
	w    webrtc.TrackLocalWriter
}

func (t *localTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codecs := ctx.CodecParameters()
	if len(codecs) == 0 {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	// The media engine holds exactly the codec chosen for this viewer.
	c := codecs[0]
	if t.clocks != nil {
		t.clocks.Set(uint32(ctx.SSRC()), t.clock)
	}
	t.bound.Store(&binding{ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), w: ctx.WriteStream()})
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

// write sends one packet; before the peer is bound the packet is dropped
// (the subscription starts at a keyframe once it is).
func (t *localTrack) write(h *rtp.Header, payload []byte) error {
	b := t.bound.Load()
	if b == nil {
		return nil
	}
	h.SSRC = b.ssrc
	h.PayloadType = b.pt
	_, err := b.w.WriteRTP(h, payload)
	if errors.Is(err, io.ErrClosedPipe) {
		return err
	}
	if err == nil {
		t.packets.Add(1)
		t.bytes.Add(uint64(len(payload)))
	}
	return nil
}

// sink adapts a viewer's tracks (by stream track index) to streams.Sink.
type sink []*localTrack

func (s sink) WriteRTP(i int, h *rtp.Header, payload []byte) error {
	if i < len(s) && s[i] != nil {
		return s[i].write(h, payload)
	}
	return nil
}

// NonBlocking reports whether every track goes over UDP: then a write is
// SRTP plus one sendto on the shared socket and never waits for the viewer,
// and the fan-out writes this viewer from the publisher's goroutine
// (streams.NonBlockingSink). An ICE-TCP viewer keeps its own goroutine and
// queue: a full TCP window would otherwise stall every viewer of the stream.
func (s sink) NonBlocking() bool {
	for _, t := range s {
		if t != nil && !t.udp.Load() {
			return false
		}
	}
	return true
}
