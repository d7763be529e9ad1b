package whip

import (
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/lifecycle"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// Handler is the WHIP endpoint. Sessions it starts live until they end or
// Close is called.
type Handler struct {
	Engine   *rtc.Engine
	Registry *streams.Registry
	Logger   *slog.Logger

	once     sync.Once
	sessions lifecycle.Group // one goroutine per session
}

func (h *Handler) init() {
	h.once.Do(func() {
		if h.Logger == nil {
			h.Logger = slog.Default()
		}
		h.Logger = h.Logger.With("component", "whip")
	})
}

// Action is what a WHIP POST needs a token for.
func (h *Handler) Action() auth.Action { return auth.ActionPublish }

// Kind is what the endpoint's sessions are (signaling.Endpoint).
func (h *Handler) Kind() streams.SessionKind { return streams.SessionWHIP }

// Offer validates the publisher's offer (one MediaStream, at most one audio
// and one video track, RFC 9725 §4.4.2), answers it and publishes the stream.
func (h *Handler) Offer(req signaling.OfferRequest) (string, signaling.Resource, error) {
	h.init()
	var chosen []rtc.Chosen
	var specs []streams.TrackSpec
	mids := map[string]int{}
	seen := map[string]bool{}
	for _, m := range req.Offer.Media {
		if m.Rejected || (m.Kind != "audio" && m.Kind != "video") {
			continue
		}
		if seen[m.Kind] {
			return "", nil, unsupported("more than one %s track: WHIP carries one audio and one video track", m.Kind)
		}
		seen[m.Kind] = true
		if m.Direction != "sendonly" && m.Direction != "sendrecv" {
			return "", nil, unsupported("the %s m-line is %s: a WHIP offer sends media (sendonly or sendrecv)", m.Kind, m.Direction)
		}
		c, err := rtc.ChooseIngestCodec(m)
		if err != nil {
			return "", nil, err
		}
		kind, skind := webrtc.RTPCodecTypeVideo, streams.KindVideo
		if m.Kind == "audio" {
			kind, skind = webrtc.RTPCodecTypeAudio, streams.KindAudio
		}
		mids[m.Mid] = len(specs)
		chosen = append(chosen, rtc.Chosen{Kind: kind, Codec: c})
		// Every simulcast layer is ingested (RFC 9725 §4.8, RFC 8853).
		specs = append(specs, streams.TrackSpec{Kind: skind, Codec: rtc.StreamCodec(c), Layers: rtc.Layers(m.Simulcast)})
	}
	if len(specs) == 0 {
		return "", nil, unsupported("the offer has no audio or video m-line")
	}
	pc, err := h.Engine.NewPeerConnection(rtc.RoleIngest, req.Offer, chosen)
	if err != nil {
		return "", nil, err
	}
	s := newSession(h, req, pc, specs, chosen, mids)
	answer, err := s.peer.Negotiate(req.Context, req.Offer, rtc.AnswerOptions{Direction: "recvonly", SimulcastFrom: req.Offer})
	if err != nil {
		_ = pc.Close()
		return "", nil, err
	}
	pub, err := h.Registry.Publish(req.Stream, specs, s, streams.PublisherInfo{
		Kind: streams.SessionWHIP, SessionID: req.SessionID, RemoteAddr: req.RemoteAddr,
	})
	if err != nil {
		_ = pc.Close()
		return "", nil, err
	}
	s.pub = pub
	if !h.sessions.Go(s.run) {
		pub.Close()
		_ = pc.Close()
		return "", nil, signaling.ErrShuttingDown
	}
	return answer, s, nil
}

// Close ends every session and waits for them.
func (h *Handler) Close() {
	h.sessions.Close()
}
