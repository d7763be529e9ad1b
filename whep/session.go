package whep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// session is one WHEP viewer. pion's callbacks post to channels; run owns
// the session's life. The subscription's start burst is written by a
// goroutine of its own, then the stream's fan-out workers write the viewer
// (streams/direct.go) through its egress (rtc.Egress).
type session struct {
	h      *Handler
	req    signaling.OfferRequest
	peer   *rtc.Peer
	pc     *webrtc.PeerConnection
	stream *streams.Stream
	sub    *streams.Subscription
	sink   *viewerSink
	egress *rtc.Egress
	tracks []*streams.Track // by stream track index, nil where not sent
	log    *slog.Logger
	start  time.Time

	states  chan webrtc.PeerConnectionState
	repath  chan struct{} // the selected candidate pair changed
	deleted chan struct{}
	delOnce sync.Once
	done    chan struct{}
	workers sync.WaitGroup
	senders []*webrtc.RTPSender // by position in sendersTrack
	rr      []rrStats           // by stream track index, from receiver reports (stats.go)
	sendIdx []int
	resend  *rate.Limiter // NACK retransmission budget (nack.go)
	adapt   *adapter      // the video's bandwidth adaptation, nil without video (adapt.go)
	video   videoMedia    // the video m-line, for the layer extension (ext.go)
	// subClock is sub for the sender reports' clock, which the report
	// goroutine reads (reports.go).
	subClock atomic.Pointer[streams.Subscription]
}

func newSession(h *Handler, req signaling.OfferRequest, pc *webrtc.PeerConnection,
	stream *streams.Stream, matches []match) (*session, error) {
	s := &session{
		h: h, req: req, pc: pc, peer: h.Engine.NewPeer(pc), stream: stream,
		log:     h.Logger.With("stream", req.Stream, "session", req.SessionID),
		start:   time.Now(),
		states:  make(chan webrtc.PeerConnectionState, 8),
		repath:  make(chan struct{}, 1),
		deleted: make(chan struct{}),
		done:    make(chan struct{}),
		resend:  newResendBudget(),
	}
	maxIdx := 0
	for _, m := range matches {
		maxIdx = max(maxIdx, m.track.Index+1)
	}
	s.egress = h.Engine.NewEgress(pc, maxIdx)
	s.sink = &viewerSink{tracks: make([]*localTrack, maxIdx), egress: s.egress, engine: h.Engine,
		start: s.start, onFirst: h.OnFirstFrame, firstTrack: -1}
	s.tracks = make([]*streams.Track, maxIdx)
	s.rr = make([]rrStats, maxIdx)
	// One MediaStream id for every track (WHEP "Single MediaStream").
	for _, m := range matches {
		kind := webrtc.RTPCodecTypeVideo
		if m.track.Kind == streams.KindAudio {
			kind = webrtc.RTPCodecTypeAudio
		}
		clock := m.track.RTPTimeAt
		if m.track.Layered() {
			// The viewer's timeline: its current layer's, shifted. The
			// report goroutine may ask before the subscription exists.
			i := m.track.Index
			clock = func(now time.Time) (uint32, bool) {
				if sub := s.subClock.Load(); sub != nil {
					return sub.RTPTimeAt(i, now)
				}
				return 0, false
			}
		}
		lt := &localTrack{id: m.track.Kind.String(), streamID: "wishgate", kind: kind, clock: clock}
		tr, err := pc.AddTransceiverFromTrack(lt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, fmt.Errorf("add %s track: %w", kind, err)
		}
		s.sink.tracks[m.track.Index] = lt
		s.tracks[m.track.Index] = m.track
		if s.sink.firstTrack < 0 || kind == webrtc.RTPCodecTypeVideo && s.tracks[s.sink.firstTrack].Kind != streams.KindVideo {
			s.sink.firstTrack = m.track.Index
		}
		s.rr[m.track.Index].clockRate = m.track.Codec.ClockRate
		s.senders = append(s.senders, tr.Sender())
		s.sendIdx = append(s.sendIdx, m.track.Index)
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		select {
		case s.states <- st:
		case <-s.done:
		}
	})
	// An ICE restart or a move to another candidate pair (UDP or TCP):
	// the egress follows it (rtc.Egress.Repath).
	pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(*webrtc.ICECandidatePair) {
		select {
		case s.repath <- struct{}{}:
		default: // one pending re-evaluation reads the newest pair
		}
	})
	return s, nil
}

// readRTCP turns a viewer's PLI/FIR into a throttled keyframe request,
// answers its NACKs from the track's shared history and files its receiver
// reports.
func (s *session) readRTCP(sender *webrtc.RTPSender, track int) {
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		buf := make([]byte, 1500)
		for {
			n, _, err := sender.Read(buf)
			if err != nil {
				return
			}
			s.handleRTCP(track, buf[:n])
		}
	}()
}

// handleRTCP dispatches one RTCP datagram a viewer sent about the stream
// track track; undecodable datagrams are ignored (FuzzViewerRTCP).
func (s *session) handleRTCP(track int, b []byte) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			s.sub.RequestKeyframe(track)
		case *rtcp.ReceiverReport:
			s.observeRR(track, p)
		case *rtcp.TransportLayerNack:
			s.answerNACK(track, p)
		}
	}
}

func (s *session) Peer() *rtc.Peer       { return s.peer }
func (s *session) Done() <-chan struct{} { return s.done }

// Close implements signaling.Resource (DELETE).
func (s *session) Close() {
	s.delOnce.Do(func() { close(s.deleted) })
	<-s.done
}

func (s *session) run(ctx context.Context) {
	s.log.Info("play started", "remote", s.req.RemoteAddr, "user_agent", s.req.UserAgent)
	for i, snd := range s.senders {
		s.readRTCP(snd, s.sendIdx[i])
	}
	runCtx, stop := context.WithCancel(ctx)
	writerDone := make(chan error, 1)
	started := false
	reason := func() error {
		for {
			select {
			case st := <-s.states:
				switch st {
				case webrtc.PeerConnectionStateConnected:
					if !started {
						started = true
						if err := s.egress.Start(); err != nil {
							return fmt.Errorf("egress: %w", err)
						}
						s.log.Debug("egress", "path", s.egress.Path())
						s.workers.Add(2)
						go func() {
							defer s.workers.Done()
							writerDone <- s.sub.Run(runCtx, s.sink)
						}()
						go func() {
							defer s.workers.Done()
							s.sendReports(runCtx)
						}()
					}
				case webrtc.PeerConnectionStateFailed:
					return errors.New("ICE/DTLS failed (peer gone)")
				case webrtc.PeerConnectionStateClosed:
					return errors.New("peer closed the connection")
				}
			case <-s.repath:
				if started {
					if err := s.egress.Repath(); err != nil {
						s.log.Warn("egress keeps its path", "error", err)
					} else {
						s.log.Debug("egress", "path", s.egress.Path())
					}
				}
			case err := <-writerDone:
				return fmt.Errorf("writer: %w", err)
			case <-s.sub.Done():
				return s.sub.Err()
			case <-s.deleted:
				return errors.New("deleted by the client")
			case <-ctx.Done():
				return errors.New("server shutting down")
			}
		}
	}()
	stop()
	s.sub.Close()
	_ = s.pc.Close()
	s.egress.Close()
	close(s.done)
	s.workers.Wait()
	s.egress.Wait()
	s.log.Info("play ended", "reason", reason.Error(), "duration", time.Since(s.start).Round(time.Millisecond),
		"sent", s.sub.Sent.Load(), "dropped", s.sub.Dropped.Load())
}
