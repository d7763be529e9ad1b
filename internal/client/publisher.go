package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// ErrNoTrack is returned when an operation needs a track of a kind the
// session did not negotiate (or has not received yet).
var ErrNoTrack = errors.New("client: no track of that kind")

// KeyframeRequest is one PLI or FIR the gateway sent to the publisher.
type KeyframeRequest struct {
	FIR       bool   // false: PLI
	MediaSSRC uint32 // the SSRC the request targets
	At        time.Time
}

// RTCPStats counts RTCP feedback the publisher received.
type RTCPStats struct {
	PLI, FIR, NACK uint64
}

// Publisher is a WHIP session sending at most one video and one audio track.
type Publisher struct {
	*session

	video, audio *webrtc.TrackLocalStaticRTP
	sent         kindCounters
	sim          simulcast // the video track's layers (simulcast.go)

	pli, fir, nack atomic.Uint64
	keyframes      chan KeyframeRequest

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Publish creates a WHIP session at endpoint (e.g.
// http://127.0.0.1:PORT/whip/NAME). ctx bounds only the negotiation; the
// session lives until Close. ICE/DTLS complete asynchronously: call
// WaitConnected before expecting media to flow.
func Publish(ctx context.Context, endpoint string, opts PublishOptions) (*Publisher, error) {
	var video, audio []webrtc.RTPCodecParameters
	var videoExplicit, audioExplicit bool
	var err error
	if !opts.NoVideo {
		if video, videoExplicit, err = opts.codecsFor(webrtc.RTPCodecTypeVideo, []CodecID{CodecH264}); err != nil {
			return nil, err
		}
	}
	if !opts.NoAudio {
		if audio, audioExplicit, err = opts.codecsFor(webrtc.RTPCodecTypeAudio, []CodecID{CodecOpus}); err != nil {
			return nil, err
		}
	}
	if video == nil && audio == nil {
		return nil, fmt.Errorf("client: publisher with neither video nor audio")
	}
	streamID := opts.StreamID
	if streamID == "" {
		streamID = "wishgate"
	}

	s, err := openSession(endpoint, &opts.Options, append(append([]webrtc.RTPCodecParameters(nil), video...), audio...))
	if err != nil {
		return nil, err
	}
	p := &Publisher{session: s, keyframes: make(chan KeyframeRequest, 64)}
	var senders []*webrtc.RTPSender
	addTrack := func(kind webrtc.RTPCodecType, codecs []webrtc.RTPCodecParameters, explicit bool) (*webrtc.TrackLocalStaticRTP, error) {
		if kind == webrtc.RTPCodecTypeVideo && len(opts.Simulcast) > 0 {
			snd, err := p.sim.add(s.pc, codecs[0].RTPCodecCapability, streamID, opts.Simulcast)
			if err != nil {
				return nil, err
			}
			senders = append(senders, snd)
			return nil, nil
		}
		track, err := webrtc.NewTrackLocalStaticRTP(codecs[0].RTPCodecCapability, kind.String(), streamID)
		if err != nil {
			return nil, err
		}
		tr, err := s.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, fmt.Errorf("client: add %s track: %w", kind, err)
		}
		if explicit && opts.API != nil {
			if err := tr.SetCodecPreferences(codecs); err != nil {
				return nil, fmt.Errorf("client: %s codec preferences: %w", kind, err)
			}
		}
		senders = append(senders, tr.Sender())
		return track, nil
	}
	if video != nil {
		if p.video, err = addTrack(webrtc.RTPCodecTypeVideo, video, videoExplicit); err != nil {
			s.abort()
			return nil, err
		}
	}
	if audio != nil {
		if p.audio, err = addTrack(webrtc.RTPCodecTypeAudio, audio, audioExplicit); err != nil {
			s.abort()
			return nil, err
		}
	}
	if err := s.negotiate(ctx); err != nil {
		s.abort()
		return nil, err
	}
	if err := p.sim.negotiated(s.pc.RemoteDescription().SDP); err != nil {
		_ = p.closeSession()
		return nil, err
	}
	for _, snd := range senders {
		if p.sim.sender == snd {
			for _, rid := range p.sim.rids {
				p.wg.Add(1)
				go p.readRTCP(func(b []byte) (int, error) { n, _, err := snd.ReadSimulcast(b, rid); return n, err })
			}
			continue
		}
		p.wg.Add(1)
		go p.readRTCP(func(b []byte) (int, error) { n, _, err := snd.Read(b); return n, err })
	}
	return p, nil
}

// openSession builds the API (unless supplied), the signaler and the
// PeerConnection shared by Publish and Play.
func openSession(endpoint string, o *Options, codecs []webrtc.RTPCodecParameters) (*session, error) {
	api := o.API
	if api == nil {
		var err error
		if api, err = NewAPI(codecs, o.NetworkTypes, o.ConfigureSettingEngine); err != nil {
			return nil, fmt.Errorf("client: build API: %w", err)
		}
	}
	sig, err := newSignaler(endpoint, o)
	if err != nil {
		return nil, err
	}
	s, err := newSession(api, sig, o.closeTimeout())
	if err != nil {
		sig.close()
		return nil, err
	}
	return s, nil
}

// readRTCP drains a sender's RTCP. Reading is what feeds pion's
// interceptors (NACK responder, sender reports), and it is where keyframe
// requests become visible. It ends when the sender stops (Close).
func (p *Publisher) readRTCP(read func([]byte) (int, error)) {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, err := read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue // a malformed compound packet must not stop feedback handling
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication:
				p.pli.Add(1)
				p.offerKeyframeRequest(KeyframeRequest{MediaSSRC: pkt.MediaSSRC, At: time.Now()})
			case *rtcp.FullIntraRequest:
				p.fir.Add(1)
				p.offerKeyframeRequest(KeyframeRequest{FIR: true, MediaSSRC: pkt.MediaSSRC, At: time.Now()})
			case *rtcp.TransportLayerNack:
				p.nack.Add(1)
			}
		}
	}
}

// offerKeyframeRequest never blocks: the counters stay exact even when no
// one drains the channel.
func (p *Publisher) offerKeyframeRequest(r KeyframeRequest) {
	select {
	case p.keyframes <- r:
	default:
	}
}

// WriteRTP sends pkt on the track of kind. SSRC and payload type are
// rewritten by pion to the negotiated ones; sequence numbers and timestamps
// are sent as given. Before the connection is up packets are dropped
// silently (pion has no binding yet). Safe for concurrent use.
func (p *Publisher) WriteRTP(kind webrtc.RTPCodecType, pkt *rtp.Packet) error {
	track := p.video
	if kind == webrtc.RTPCodecTypeAudio {
		track = p.audio
	}
	if track == nil {
		return ErrNoTrack
	}
	if err := track.WriteRTP(pkt); err != nil {
		return err
	}
	p.sent.add(kind, len(pkt.Payload))
	return nil
}

// Sent returns what WriteRTP accepted for kind.
func (p *Publisher) Sent(kind webrtc.RTPCodecType) Counters { return p.sent.get(kind) }

// Track returns the local track of kind (nil if none).
func (p *Publisher) Track(kind webrtc.RTPCodecType) *webrtc.TrackLocalStaticRTP {
	if kind == webrtc.RTPCodecTypeAudio {
		return p.audio
	}
	return p.video
}

// KeyframeRequests delivers PLIs and FIRs from the gateway. The channel is
// buffered (64) and requests beyond that are dropped from it, never from
// the counters (RTCPStats, KeyframeRequestCount).
func (p *Publisher) KeyframeRequests() <-chan KeyframeRequest { return p.keyframes }

// KeyframeRequestCount returns PLIs + FIRs received so far.
func (p *Publisher) KeyframeRequestCount() uint64 { return p.pli.Load() + p.fir.Load() }

// RTCPStats returns the RTCP feedback counters.
func (p *Publisher) RTCPStats() RTCPStats {
	return RTCPStats{PLI: p.pli.Load(), FIR: p.fir.Load(), NACK: p.nack.Load()}
}

// Close DELETEs the session (unless Delete already succeeded), closes the
// PeerConnection and waits for the RTCP readers. Idempotent; every call
// returns the first call's result. A non-200 DELETE yields an *HTTPError.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.closeErr = p.closeSession()
		p.wg.Wait()
	})
	return p.closeErr
}
