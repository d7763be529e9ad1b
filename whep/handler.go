package whep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/internal/lifecycle"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// Handler is the WHEP endpoint.
type Handler struct {
	Engine   *rtc.Engine
	Registry *streams.Registry
	Logger   *slog.Logger
	// Demand, if set, is called before looking a stream up, so that an
	// on-demand source can start and go live (bounded by ctx).
	Demand func(ctx context.Context, stream string) error
	// OnFirstFrame, if set, is called once per session with the time from
	// the offer to the first video packet sent (metrics). It must not block.
	OnFirstFrame func(time.Duration)
	// SessionKind is what its viewers are in listings; zero means
	// streams.SessionWHEP. The cluster's relay endpoint serves
	// streams.SessionRelayRead.
	SessionKind streams.SessionKind
	// NoAdapt sends every viewer the best simulcast layer unless it asks
	// for another (?layer=), instead of the layer its network carries:
	// the cluster's relays, which carry the stream on to other viewers.
	NoAdapt bool

	once     sync.Once
	sessions lifecycle.Group // one goroutine per session
}

func (h *Handler) init() {
	h.once.Do(func() {
		if h.Logger == nil {
			h.Logger = slog.Default()
		}
		h.Logger = h.Logger.With("component", "whep")
	})
}

// Kind is what the endpoint's sessions are (signaling.Endpoint).
func (h *Handler) Kind() streams.SessionKind {
	if h.SessionKind == streams.SessionUnknown {
		return streams.SessionWHEP
	}
	return h.SessionKind
}

// Action is what a WHEP POST needs a token for.
func (h *Handler) Action() auth.Action { return auth.ActionRead }

type match struct {
	media rtc.OfferMedia
	track *streams.Track
	codec rtc.OfferCodec
}

// Offer answers a viewer with the stream's codecs at the viewer's payload
// types. An m-line the stream has no track for (audio on a video-only
// camera) is answered as a bundled inactive section rather than with a
// silent track (see rtc.bundleInactive);
// an m-line whose kind the stream has but in a codec the viewer lacks fails
// the whole request with 422, naming both sides (docs/protocol.md).
func (h *Handler) Offer(req signaling.OfferRequest) (string, signaling.Resource, error) {
	h.init()
	for _, m := range req.Offer.Media {
		if m.Rejected || (m.Kind != "audio" && m.Kind != "video") {
			continue
		}
		if m.Direction != "recvonly" && m.Direction != "sendrecv" {
			return "", nil, fmt.Errorf("%w: the %s m-line is %s: a WHEP offer receives media (recvonly or sendrecv)",
				rtc.ErrUnsupported, m.Kind, m.Direction)
		}
	}
	if h.Demand != nil {
		if err := h.Demand(req.Context, req.Stream); err != nil && !errors.Is(err, streams.ErrNotLive) {
			return "", nil, err
		}
	}
	stream, tracks, err := h.Registry.Lookup(req.Stream)
	if err != nil {
		return "", nil, err
	}
	matches, err := matchTracks(req.Offer, tracks)
	if err != nil {
		return "", nil, err
	}
	layer, err := h.layerChoice(req, matches)
	if err != nil {
		return "", nil, err
	}
	var chosen []rtc.Chosen
	stereoPT := ""
	for _, m := range matches {
		kind := webrtc.RTPCodecTypeVideo
		if m.track.Kind == streams.KindAudio {
			kind = webrtc.RTPCodecTypeAudio
			if rtc.IsStereoOpus(m.track.Codec) {
				stereoPT = strconv.Itoa(int(m.codec.PayloadType))
			}
		}
		chosen = append(chosen, rtc.Chosen{Kind: kind, Codec: m.codec})
	}
	pc, err := h.Engine.NewPeerConnection(rtc.RoleEgress, req.Offer, chosen)
	if err != nil {
		return "", nil, err
	}
	s, err := newSession(h, req, pc, stream, matches)
	if err != nil {
		_ = pc.Close()
		return "", nil, err
	}
	answer, err := s.peer.Negotiate(req.Context, req.Offer, rtc.AnswerOptions{StereoOpusPT: stereoPT, Direction: "sendonly", Offer: req.Offer})
	if err != nil {
		_ = pc.Close()
		return "", nil, err
	}
	var subTracks []*streams.Track
	for _, m := range matches {
		subTracks = append(subTracks, m.track)
	}
	sub, err := h.Registry.Subscribe(stream, streams.SubscribeOptions{
		Tracks: subTracks,
		Layer:  layer,
		Info:   streams.SubscriberInfo{Kind: h.Kind(), SessionID: req.SessionID, RemoteAddr: req.RemoteAddr},
	})
	if err != nil {
		_ = pc.Close()
		return "", nil, err
	}
	s.sub = sub
	s.subClock.Store(sub)
	s.adapt = newAdapter(s, matches, layer)
	s.video = findVideo(matches)
	if !h.sessions.Go(s.run) {
		sub.Close()
		_ = pc.Close()
		return "", nil, signaling.ErrShuttingDown
	}
	return answer, s, nil
}

// layerChoice reads ?layer=low|medium|high|auto|RID (default auto, or
// high with NoAdapt): which simulcast layer of the stream's video the
// viewer gets. A rid the video does not have is refused before any
// negotiation.
func (h *Handler) layerChoice(req signaling.OfferRequest, matches []match) (streams.LayerChoice, error) {
	c := streams.LayerChoice{Mode: streams.LayerAuto}
	if h.NoAdapt {
		c.Mode = streams.LayerHigh
	}
	if v := req.Query.Get("layer"); v != "" {
		var err error
		if c, err = streams.ParseLayerChoice(v); err != nil {
			return c, err
		}
	}
	for _, m := range matches {
		if m.track.Kind == streams.KindVideo {
			if err := c.Check(m.track); err != nil {
				return c, err
			}
		}
	}
	return c, nil
}

func matchTracks(offer *rtc.Offer, tracks []*streams.Track) ([]match, error) {
	var out []match
	var problems []string
	used := map[*streams.Track]bool{}
	for _, m := range offer.Media {
		if m.Rejected || (m.Kind != "audio" && m.Kind != "video") {
			continue
		}
		track := pickTrack(m.Kind, tracks, used)
		if track == nil {
			continue // answered inactive (rtc.bundleInactive)
		}
		c, err := rtc.ChooseEgressCodec(m, track.Codec)
		if err != nil {
			problems = append(problems, strings.TrimPrefix(err.Error(), rtc.ErrUnsupported.Error()+": "))
			continue
		}
		used[track] = true
		out = append(out, match{media: m, track: track, codec: c})
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", rtc.ErrUnsupported, strings.Join(problems, "; "))
	}
	if len(out) == 0 {
		var have []string
		for _, t := range tracks {
			have = append(have, t.Kind.String()+" "+t.Codec.Name())
		}
		return nil, fmt.Errorf("%w: the offer asks for no medium the stream has (stream: %s)",
			rtc.ErrUnsupported, strings.Join(have, ", "))
	}
	return out, nil
}

// pickTrack chooses the stream track an m-line of this kind gets: the
// first unused one WebRTC plays as it is, else the derived track of one it
// does not (a camera's AAC transcoded to Opus, streams/derived.go). A track
// with neither (AAC in a build without the transcoder) is kept for RTSP
// readers only; the m-line is then answered as if the stream had no such
// medium, and the viewer still gets the others.
func pickTrack(kind string, tracks []*streams.Track, used map[*streams.Track]bool) *streams.Track {
	playable := func(t *streams.Track) bool {
		return t.Kind.String() == kind && !used[t] &&
			codec.WebRTCPlayable(t.Codec.MimeType, t.Codec.ClockRate, t.Codec.Channels) == nil
	}
	for _, t := range tracks {
		if playable(t) {
			return t
		}
	}
	for _, t := range tracks {
		if d := t.Derived(); d != nil && playable(d) {
			return d
		}
	}
	return nil
}

// Close ends every session and waits for them.
func (h *Handler) Close() {
	h.sessions.Close()
}
