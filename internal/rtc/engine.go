package rtc

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// EngineConfig configures the WebRTC transport.
type EngineConfig struct {
	// UDPAddr is the one UDP socket all WebRTC media flows through
	// (":8189"). When it names one IP, only that IP is advertised.
	UDPAddr string
	// PublicIPs replace the host candidates' addresses (NAT 1:1).
	PublicIPs []string
	// ICE timeouts: a peer silent for FailedTimeout is gone.
	DisconnectedTimeout, FailedTimeout time.Duration
	Logger                             *slog.Logger
}

// Engine owns the media socket and builds peer connections on it.
type Engine struct {
	cfg  EngineConfig
	conn net.PacketConn
	mux  ice.UDPMux
	se   webrtc.SettingEngine
	log  *slog.Logger
}

// Role says which way media flows for a session.
type Role int

const (
	RoleIngest Role = iota // WHIP: we receive
	RoleEgress             // WHEP: we send
)

// NewEngine binds the media socket.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.DisconnectedTimeout == 0 {
		cfg.DisconnectedTimeout = 5 * time.Second
	}
	if cfg.FailedTimeout == 0 {
		cfg.FailedTimeout = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	conn, err := net.ListenPacket("udp", cfg.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("udp-addr %q: %w", cfg.UDPAddr, err)
	}
	e := &Engine{cfg: cfg, conn: conn, log: cfg.Logger}
	e.mux = webrtc.NewICEUDPMux(nil, conn)

	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(e.mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// No mDNS: the server advertises real addresses, and resolving a
	// client's .local names is neither possible nor needed (it reaches us,
	// we learn it as peer-reflexive).
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(cfg.DisconnectedTimeout, cfg.FailedTimeout, 2*time.Second)
	// RFC 9725 §4.4.4 / W-10: answer actpass with passive; pion answers
	// active by default. A passive offer (FFmpeg 8.0) still gets active.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		conn.Close()
		return nil, err
	}
	if host := boundIP(conn); host != nil {
		if host.IsLoopback() {
			se.SetIncludeLoopbackCandidate(true)
		}
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(host) })
	}
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	e.se = se
	return e, nil
}

func boundIP(conn net.PacketConn) net.IP {
	a, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok || a.IP == nil || a.IP.IsUnspecified() {
		return nil
	}
	return a.IP
}

// UDPAddr is the bound media address (the port is real even for ":0").
func (e *Engine) UDPAddr() *net.UDPAddr { return e.conn.LocalAddr().(*net.UDPAddr) }

// Close releases the media socket.
func (e *Engine) Close() error {
	return e.mux.Close()
}

// Chosen is a codec to register for one kind, at the offer's payload type.
type Chosen struct {
	Kind  webrtc.RTPCodecType
	Codec OfferCodec
}

// NewPeerConnection builds a peer connection whose media engine knows exactly
// the chosen codecs, so the answer names them with the offer's payload types
// and nothing else.
func (e *Engine) NewPeerConnection(role Role, offer *Offer, chosen []Chosen) (*webrtc.PeerConnection, error) {
	me := &webrtc.MediaEngine{}
	for _, c := range chosen {
		if err := me.RegisterCodec(codecParameters(c.Codec, role), c.Kind); err != nil {
			return nil, err
		}
	}
	ir := &interceptor.Registry{}
	switch role {
	case RoleIngest:
		// Transport-wide CC feedback lets browser and GStreamer publishers
		// run their congestion control; mid lets them demux by MID; the
		// rid extensions identify simulcast layers (RFC 8852), which
		// arrive without a=ssrc lines.
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
			uris := []string{sdp.TransportCCURI, sdp.SDESMidURI}
			if kind == webrtc.RTPCodecTypeVideo {
				uris = append(uris, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI)
			}
			for _, uri := range uris {
				if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, kind); err != nil {
					return nil, err
				}
			}
		}
		gen, err := nack.NewGeneratorInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(gen)
		rr, err := report.NewReceiverInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(rr)
		tw, err := twcc.NewSenderInterceptor(twcc.SendInterval(100 * time.Millisecond))
		if err != nil {
			return nil, err
		}
		ir.Add(tw)
	case RoleEgress:
		// No NACK responder here: whep answers NACKs from the stream
		// track's history, shared by all viewers (streams/history.go),
		// instead of pion keeping a copy of every packet per viewer.
		sr, err := report.NewSenderInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(sr)
	}
	se := e.se
	if offer.Setup == "passive" {
		// FFmpeg 8.0 offers to be the DTLS server (outside RFC 9725 §4.4.4,
		// which wants actpass); the only working answer is active.
		if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleClient); err != nil {
			return nil, err
		}
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir))
	return api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
}

func codecParameters(c OfferCodec, role Role) webrtc.RTPCodecParameters {
	var fb []webrtc.RTCPFeedback
	video := strings.HasPrefix(c.MimeType, "video/")
	for _, want := range []string{"nack", "nack pli", "ccm fir", "transport-cc"} {
		if !c.HasFeedback(want) || (!video && want != "transport-cc" && want != "nack") {
			continue
		}
		if want == "transport-cc" && role != RoleIngest {
			continue // we never act on TWCC from viewers: don't make them send it
		}
		typ, param, _ := strings.Cut(want, " ")
		fb = append(fb, webrtc.RTCPFeedback{Type: typ, Parameter: param})
	}
	return webrtc.RTPCodecParameters{
		PayloadType: webrtc.PayloadType(c.PayloadType),
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: c.MimeType, ClockRate: c.ClockRate, Channels: c.Channels,
			SDPFmtpLine: c.Fmtp, RTCPFeedback: fb,
		},
	}
}
