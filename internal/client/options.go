package client

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Options are the settings shared by publishers and viewers.
type Options struct {
	// Token, if set, is sent as "Authorization: Bearer <Token>" on every
	// request of the session (POST, PATCH, DELETE).
	Token string
	// Header holds extra request headers sent on every request.
	Header http.Header
	// HTTPClient performs the signaling requests. Nil means a private client
	// whose idle connections are closed by Close, so sessions do not leave
	// keep-alive goroutines behind.
	HTTPClient *http.Client
	// AcceptWeakETag accepts any ETag on the answer, where RFC 9725 §4.3.1
	// wants a strong quoted entity tag: the load tool drives servers that
	// answer "*" (MediaMTX). Conformance tests leave it off.
	AcceptWeakETag bool
	// CloseTimeout bounds the DELETE sent by Close. Default 5s.
	CloseTimeout time.Duration

	// API builds the PeerConnection. Nil means NewAPI(codecs, NetworkTypes,
	// ConfigureSettingEngine): loopback only, exactly the chosen codecs.
	// With a caller-supplied API, explicitly set codec lists are applied with
	// SetCodecPreferences and must be registered in that API's MediaEngine.
	API *webrtc.API
	// NetworkTypes the ICE agent may use (ignored with API). Default UDP4;
	// pass {webrtc.NetworkTypeTCP4} for ICE-TCP only.
	NetworkTypes []webrtc.NetworkType
	// ConfigureSettingEngine, if set, runs after the loopback defaults are
	// applied (ignored with API), e.g. to shorten ICE timeouts.
	ConfigureSettingEngine func(*webrtc.SettingEngine)

	// NoVideo / NoAudio omit that m-line from the offer entirely.
	NoVideo bool
	NoAudio bool
	// VideoCodecs / AudioCodecs are exactly the codecs the offer carries, in
	// preference order. Nil means the role's default (see PublishOptions and
	// PlayOptions). See Codecs and the Codec* catalog.
	VideoCodecs []webrtc.RTPCodecParameters
	AudioCodecs []webrtc.RTPCodecParameters
}

// PublishOptions configure Publish. The publisher's track for a kind sends
// the first codec of that kind's list; further entries are only offered.
// Defaults: video [CodecH264], audio [CodecOpus].
type PublishOptions struct {
	Options
	// StreamID is the msid stream of both tracks. Default "wishgate".
	StreamID string
	// Simulcast, if set, sends the video track as these simulcast layers
	// (RFC 8853 rids, in this order; WriteLayer). Each layer is its own RTP
	// stream, named by the rid header extension (RFC 8852).
	Simulcast []string
}

// PlayOptions configure Play. Defaults: every catalog codec of each kind,
// like a browser would offer (see VideoCodecIDs, AudioCodecIDs).
type PlayOptions struct {
	Options
	// OnPacket, if set, receives every RTP packet read, from one goroutine
	// per track (so video and audio calls may run concurrently). The packet
	// is owned by the callback. A slow callback stalls that track's reading.
	OnPacket func(kind webrtc.RTPCodecType, codec webrtc.RTPCodecParameters, pkt *rtp.Packet)
	// OnRTP, if set, receives every packet as read instead of OnPacket,
	// without a copy: raw is valid only during the call (a relay copies it
	// into its own pooled buffer). Received counts whole packets' bytes.
	OnRTP func(kind webrtc.RTPCodecType, raw []byte)
	// StartPaused makes the viewer start as if Pause had been called.
	StartPaused bool
	// OnSenderReport, if set, receives the RTCP sender reports of each
	// track (lip sync: they map its RTP timestamps to the sender's clock).
	OnSenderReport func(kind webrtc.RTPCodecType, sr *rtcp.SenderReport)
}

const defaultCloseTimeout = 5 * time.Second

// codecsFor returns the codecs of kind to offer: the explicit list, or def.
// explicit reports whether the caller chose them (which matters only with a
// caller-supplied API).
func (o *Options) codecsFor(kind webrtc.RTPCodecType, def []CodecID) (codecs []webrtc.RTPCodecParameters, explicit bool, err error) {
	list := o.AudioCodecs
	if kind == webrtc.RTPCodecTypeVideo {
		list = o.VideoCodecs
	}
	if list == nil {
		return Codecs(def...), false, nil
	}
	if len(list) == 0 {
		return nil, false, fmt.Errorf("client: empty %s codec list (set No%s to omit the m-line)", kind, kindTitle(kind))
	}
	for _, c := range list {
		if kindOfMime(c.MimeType) != kind {
			return nil, false, fmt.Errorf("client: codec %q in %s codec list", c.MimeType, kind)
		}
	}
	return append([]webrtc.RTPCodecParameters(nil), list...), true, nil
}

func kindTitle(kind webrtc.RTPCodecType) string {
	if kind == webrtc.RTPCodecTypeVideo {
		return "Video"
	}
	return "Audio"
}

func (o *Options) closeTimeout() time.Duration {
	if o.CloseTimeout > 0 {
		return o.CloseTimeout
	}
	return defaultCloseTimeout
}
