package whip

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

var errDeleted = errors.New("deleted by the client")

// session is one WHIP publisher. pion's callbacks only post to channels; the
// session goroutine (run) owns every state change.
type session struct {
	h            *Handler
	req          signaling.OfferRequest
	peer         *rtc.Peer
	pc           *webrtc.PeerConnection
	pub          *streams.Publication
	specs        []streams.TrackSpec
	payloadTypes []uint8 // negotiated per track
	mids         map[string]int
	log          *slog.Logger
	start        time.Time

	tracks  chan *webrtc.TrackRemote
	states  chan webrtc.PeerConnectionState
	kick    chan error
	deleted chan struct{}
	delOnce sync.Once
	done    chan struct{}

	connected atomic.Bool
	// Per track, then per simulcast layer (one for a plain track): the
	// SSRC to send PLIs to, and the ingest loss for the API (stats.go).
	ssrcs   [][]atomic.Uint32
	loss    [][]seqLoss
	readers sync.WaitGroup
	badRTP  atomic.Uint64
}

func newSession(h *Handler, req signaling.OfferRequest, pc *webrtc.PeerConnection,
	specs []streams.TrackSpec, chosen []rtc.Chosen, mids map[string]int) *session {
	s := &session{
		h: h, req: req, pc: pc, peer: h.Engine.NewPeer(pc), specs: specs, mids: mids,
		log:     h.Logger.With("stream", req.Stream, "session", req.SessionID),
		start:   time.Now(),
		tracks:  make(chan *webrtc.TrackRemote, len(specs)),
		states:  make(chan webrtc.PeerConnectionState, 8),
		kick:    make(chan error, 1),
		deleted: make(chan struct{}),
		done:    make(chan struct{}),
		ssrcs:   make([][]atomic.Uint32, len(specs)),
		loss:    make([][]seqLoss, len(specs)),
	}
	for i, sp := range specs {
		n := max(1, len(sp.Layers))
		s.ssrcs[i] = make([]atomic.Uint32, n)
		s.loss[i] = make([]seqLoss, n)
	}
	for _, c := range chosen {
		s.payloadTypes = append(s.payloadTypes, c.Codec.PayloadType)
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		select {
		case s.tracks <- t:
		case <-s.done:
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		select {
		case s.states <- st:
		case <-s.done:
		}
	})
	return s
}

// Peer implements signaling.Resource.
func (s *session) Peer() *rtc.Peer { return s.peer }

// Done implements signaling.Resource.
func (s *session) Done() <-chan struct{} { return s.done }

// Close implements signaling.Resource (DELETE).
func (s *session) Close() {
	s.delOnce.Do(func() { close(s.deleted) })
	<-s.done
}

// Connected implements streams.Publisher.
func (s *session) Connected() bool { return s.connected.Load() }

// Kick implements streams.Publisher.
func (s *session) Kick(reason error) {
	select {
	case s.kick <- reason:
	default:
	}
}

// RequestKeyframe implements streams.Publisher: a PLI for the track's SSRC
// (each layer's, for a simulcast track). OBS and FFmpeg ignore it; browsers
// and GStreamer answer with an IDR.
func (s *session) RequestKeyframe(track int) {
	if track < 0 || track >= len(s.ssrcs) {
		return
	}
	for j := range s.ssrcs[track] {
		s.RequestLayerKeyframe(track, j)
	}
}

// RequestLayerKeyframe implements streams.LayerKeyframer: a PLI for one
// simulcast layer's SSRC (RFC 8853 §5: each encoding is its own RTP stream).
func (s *session) RequestLayerKeyframe(track, layer int) {
	if track < 0 || track >= len(s.ssrcs) || layer < 0 || layer >= len(s.ssrcs[track]) {
		return
	}
	if ssrc := s.ssrcs[track][layer].Load(); ssrc != 0 {
		_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

func (s *session) run(ctx context.Context) {
	s.log.Info("publish started", "remote", s.req.RemoteAddr, "tracks", describe(s.specs), "user_agent", s.req.UserAgent)
	for i, sp := range s.specs {
		if err := codec.BrowserDecodable(sp.Codec.MimeType, sp.Codec.Fmtp); err != nil {
			s.log.Warn("track published, but browsers cannot play it", "track", i, "codec", sp.Codec.String(), "reason", err.Error())
		}
	}
	reason := s.loop(ctx)
	s.pub.Close()
	_ = s.pc.Close()
	close(s.done)
	s.readers.Wait()
	var pkts uint64
	for _, t := range s.pub.Tracks() {
		pkts += t.PacketCount()
	}
	s.log.Info("publish ended", "reason", reason.Error(), "duration", time.Since(s.start).Round(time.Millisecond),
		"packets", pkts, "malformed_rtp", s.badRTP.Load())
}

func (s *session) loop(ctx context.Context) error {
	for {
		select {
		case t := <-s.tracks:
			s.startReader(t)
		case st := <-s.states:
			switch st {
			case webrtc.PeerConnectionStateConnected:
				s.connected.Store(true)
			case webrtc.PeerConnectionStateDisconnected:
				s.connected.Store(false)
			case webrtc.PeerConnectionStateFailed:
				return errors.New("ICE/DTLS failed (peer gone)")
			case webrtc.PeerConnectionStateClosed:
				return errors.New("peer closed the connection")
			}
		case err := <-s.kick:
			return err
		case <-s.deleted:
			return errDeleted
		case <-ctx.Done():
			return errors.New("server shutting down")
		}
	}
}

func (s *session) trackIndex(t *webrtc.TrackRemote) int {
	// Match by payload type first: clients without a MID extension
	// (OBS, FFmpeg) are demuxed by SSRC, and the PT is what we negotiated.
	for i, pt := range s.payloadTypes {
		if uint8(t.PayloadType()) == pt && kindOf(t.Kind()) == s.specs[i].Kind {
			return i
		}
	}
	for i, spec := range s.specs {
		if kindOf(t.Kind()) == spec.Kind {
			return i
		}
	}
	return -1
}

func kindOf(k webrtc.RTPCodecType) streams.Kind {
	if k == webrtc.RTPCodecTypeAudio {
		return streams.KindAudio
	}
	return streams.KindVideo
}

func (s *session) startReader(t *webrtc.TrackRemote) {
	i := s.trackIndex(t)
	if i < 0 {
		s.log.Warn("ignoring unexpected track", "kind", t.Kind().String(), "ssrc", uint32(t.SSRC()))
		s.discard(t)
		return
	}
	// A simulcast publisher (RFC 8853; browsers, OBS 32.1+) sends one
	// TrackRemote per layer on the same m-line, named by its rid (RFC
	// 8852): each feeds its own layer of the stream track.
	j := 0
	if layers := s.specs[i].Layers; len(layers) > 0 {
		j = slices.Index(layers, t.RID())
	}
	if j < 0 || !s.ssrcs[i][j].CompareAndSwap(0, uint32(t.SSRC())) {
		// Not a layer the answer accepted, or a second stream for one
		// already fed: read and drop it, so its buffers never fill.
		s.log.Info("RTP stream not forwarded", "rid", t.RID(), "ssrc", uint32(t.SSRC()))
		s.discard(t)
		return
	}
	pt := s.payloadTypes[i]
	loss := &s.loss[i][j]
	s.readers.Add(1)
	go func() {
		defer s.readers.Done()
		for {
			pkt := streams.NewPacket()
			n, _, err := t.Read(pkt.Buffer())
			if err != nil {
				pkt.Release()
				return
			}
			if err := pkt.Unmarshal(pkt.Buffer()[:n]); err != nil || pkt.Header.PayloadType != pt {
				pkt.Release()
				s.badRTP.Add(1)
				s.pub.Drop(i, streams.DropMalformed)
				continue
			}
			loss.observe(pkt.Header.SequenceNumber)
			s.pub.WriteLayer(i, j, pkt, time.Now())
		}
	}()
	if video := kindOf(t.Kind()) == streams.KindVideo; video {
		// Viewers may already be waiting: ask for a keyframe as soon as the
		// track exists instead of waiting for the next GOP.
		s.RequestLayerKeyframe(i, j)
	}
}

// discard reads a track nobody forwards until the session ends.
func (s *session) discard(t *webrtc.TrackRemote) {
	s.readers.Add(1)
	go func() {
		defer s.readers.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
		}
	}()
}

func describe(specs []streams.TrackSpec) []string {
	out := make([]string, len(specs))
	for i, sp := range specs {
		out[i] = sp.Kind.String() + ":" + sp.Codec.String()
		if len(sp.Layers) > 0 {
			out[i] += " simulcast " + strings.Join(sp.Layers, ";")
		}
	}
	return out
}
