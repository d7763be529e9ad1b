package rtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"golang.org/x/net/ipv4"
)

// EngineConfig configures the WebRTC transport.
type EngineConfig struct {
	// UDPAddr is the one UDP socket all WebRTC media flows through
	// (":8189"). When it names one IP, only that IP is advertised.
	UDPAddr string
	// TCPAddr, if set, is the one TCP socket for ICE-TCP (RFC 6544 passive
	// candidates), for clients whose network blocks UDP.
	TCPAddr string
	// PublicIPs replace the host candidates' addresses (NAT 1:1): IPs, or
	// DNS names resolved at start and every NAT1To1Refresh.
	PublicIPs      []string
	NAT1To1Refresh time.Duration
	// Interfaces and HostNetworks (CIDRs) restrict which local addresses
	// become host candidates; empty means all.
	Interfaces   []string
	HostNetworks []string
	// STUNServers (host:port) are asked for the media socket's public
	// address every STUNRefresh, unless PublicIPs are set.
	STUNServers []string
	STUNRefresh time.Duration
	// ICE timeouts: a peer silent for FailedTimeout is gone.
	DisconnectedTimeout, FailedTimeout time.Duration
	// RemoteNetworks narrow or widen the remote candidate policy
	// (policy.go); MaxRemoteCandidates caps a session's remote candidates
	// (default DefaultMaxRemoteCandidates).
	RemoteNetworks      []RemoteNetwork
	MaxRemoteCandidates int
	// DisableGSO sends every RTP datagram on its own even where the kernel
	// offers UDP GSO (tests of the plain batch path).
	DisableGSO bool
	Logger     *slog.Logger
}

// Engine owns the media sockets and builds peer connections on them.
type Engine struct {
	cfg       EngineConfig
	conn      net.PacketConn
	universal *ice.UniversalUDPMuxDefault
	tcpLn     net.Listener
	tcpMux    ice.TCPMux
	// The egress side of the media socket (egress.go, batch.go).
	udp       *net.UDPConn
	batchConn *ipv4.PacketConn
	gso       atomic.Bool // UDP GSO works on this socket
	single    sync.Pool   // *Batch of one packet, for Egress.Write
	tcpConns  tcpConns
	stats     egressStats
	se        webrtc.SettingEngine
	log       *slog.Logger

	adv    atomic.Pointer[advertised]
	policy *candidatePolicy
	// learnt holds each new peer connection's learnBudget until NewPeer
	// takes it (learnt.go).
	learnt sync.Map
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
	once   sync.Once
}

// Role says which way media flows for a session.
type Role int

const (
	RoleIngest Role = iota // WHIP: we receive
	RoleEgress             // WHEP: we send
)

// NewEngine binds the media sockets and resolves the advertised names.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.DisconnectedTimeout == 0 {
		cfg.DisconnectedTimeout = 5 * time.Second
	}
	if cfg.FailedTimeout == 0 {
		cfg.FailedTimeout = 20 * time.Second
	}
	if cfg.NAT1To1Refresh <= 0 {
		cfg.NAT1To1Refresh = time.Minute
	}
	if cfg.STUNRefresh <= 0 {
		cfg.STUNRefresh = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var filter hostFilter
	filter.ifaces = cfg.Interfaces
	for _, n := range cfg.HostNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("host_networks %q: %w", n, err)
		}
		filter.nets = append(filter.nets, p.Masked())
	}
	// NAT 1:1 names must resolve once before the first answer: an answer
	// with only private addresses fails in a way users cannot see.
	names := resolve(context.Background(), cfg.PublicIPs, nil)
	for _, n := range names {
		if len(n.Resolved) == 0 {
			return nil, fmt.Errorf("nat_1to1 %q: cannot resolve: %s", n.Configured, n.Error)
		}
	}

	conn, err := net.ListenPacket("udp", cfg.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("udp_addr %q: %w", cfg.UDPAddr, err)
	}
	e := &Engine{cfg: cfg, conn: conn, log: cfg.Logger.With("component", "rtc")}
	e.initEgress()
	e.adv.Store(&advertised{Names: names, NAT1To1: flatten(names)})
	// Loopback candidates are only reachable, and only wanted, when the
	// media socket itself is on loopback (tests, a same-host proxy).
	e.policy = newCandidatePolicy(cfg.RemoteNetworks, e.UDPAddr().IP.IsLoopback())
	e.policy.advertised = func() []netip.Addr { return e.adv.Load().addrs() }
	e.Protect(conn.LocalAddr())
	// The universal mux answers our own STUN requests on the media socket;
	// the cache TTL is short so each refresh really asks again.
	e.universal = ice.NewUniversalUDPMuxDefault(ice.UniversalUDPMuxParams{UDPConn: conn, XORMappedAddrCacheTTL: time.Second})

	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(&hostUDPMux{UDPMux: e.universal, conn: conn, filter: filter})
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if cfg.TCPAddr != "" {
		e.tcpLn, err = net.Listen("tcp", cfg.TCPAddr)
		if err != nil {
			e.universal.Close()
			return nil, fmt.Errorf("tcp_addr %q: %w", cfg.TCPAddr, err)
		}
		// 8 packets of read buffer per connection, as pion's ICE-TCP example.
		e.Protect(e.tcpLn.Addr())
		e.tcpMux = webrtc.NewICETCPMux(nil, trackingListener{Listener: e.tcpLn, conns: &e.tcpConns}, 8)
		se.SetICETCPMux(e.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
		if ip := e.tcpLn.Addr().(*net.TCPAddr).IP; ip.IsLoopback() {
			se.SetIncludeLoopbackCandidate(true)
		}
		// We only accept (passive); never dial clients' active candidates.
		se.DisableActiveTCP(true)
	}
	se.SetNetworkTypes(networks)
	// Host candidates of the TCP listener (pion enumerates interfaces for
	// it itself, applying these filters; the UDP side is hostUDPMux's).
	se.SetInterfaceFilter(filter.keepIface)
	se.SetIPFilter(filter.keepIP)
	// No mDNS: the server advertises real addresses, and resolving a
	// client's .local names is neither possible nor needed (it reaches us,
	// we learn it as peer-reflexive).
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Signalled candidates are screened before pion sees them (remote.go);
	// this filter also screens peer-reflexive addresses, learnt from
	// checks that arrive; each session's peer connection gets its own,
	// which caps them too (learnt.go).
	se.SetRemoteIPFilter(e.policy.keepIP)
	se.SetICETimeouts(cfg.DisconnectedTimeout, cfg.FailedTimeout, 2*time.Second)
	// RFC 9725 §4.4.4: answer actpass with passive; pion answers
	// active by default. A passive offer (FFmpeg 8.0) still gets active.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		e.closeSockets()
		return nil, err
	}
	e.se = se

	if len(cfg.STUNServers) > 0 && len(cfg.PublicIPs) > 0 {
		e.log.Warn("stun_servers are not asked: nat_1to1 already says what to advertise")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(1)
	go e.refreshLoop(ctx)
	return e, nil
}

func (e *Engine) stunEnabled() bool {
	return len(e.cfg.STUNServers) > 0 && len(e.cfg.PublicIPs) == 0
}

// UDPAddr is the bound media address (the port is real even for ":0").
func (e *Engine) UDPAddr() *net.UDPAddr { return e.conn.LocalAddr().(*net.UDPAddr) }

// TCPAddr is the bound ICE-TCP address, or nil when ICE-TCP is off.
func (e *Engine) TCPAddr() *net.TCPAddr {
	if e.tcpLn == nil {
		return nil
	}
	return e.tcpLn.Addr().(*net.TCPAddr)
}

// Close stops the refresh loop and releases the media sockets; idempotent.
func (e *Engine) Close() error {
	var err error
	e.once.Do(func() {
		e.closed.Store(true)
		e.cancel()
		e.wg.Wait()
		err = e.closeSockets()
	})
	return err
}

func (e *Engine) closeSockets() error {
	var errs []error
	if e.tcpMux != nil {
		errs = append(errs, e.tcpMux.Close())
	}
	errs = append(errs, e.universal.Close())
	return errors.Join(errs...)
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
		// No interceptors: a viewer's RTP never goes through pion's write
		// path. Its egress seals and sends it (egress.go), whep answers
		// NACKs from the stream track's history, shared by all viewers
		// (streams/history.go), and sends the sender reports itself
		// (whep/reports.go).
	}
	se := e.se
	if rules := e.adv.Load().rewriteRules(); len(rules) > 0 {
		if err := se.SetICEAddressRewriteRules(rules...); err != nil {
			return nil, err
		}
	}
	if offer.Setup == "passive" {
		// FFmpeg 8.0 offers to be the DTLS server (outside RFC 9725 §4.4.4,
		// which wants actpass); the only working answer is active.
		if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleClient); err != nil {
			return nil, err
		}
	}
	budget := newLearnBudget(e.policy, e.cfg.MaxRemoteCandidates)
	se.SetRemoteIPFilter(budget.keep)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir))
	pcfg := webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	}
	if role == RoleEgress {
		// The egress's SRTP contexts do not encrypt header extensions
		// (RFC 9335), so the answer must not offer to.
		pcfg.RTPHeaderEncryptionPolicy = webrtc.RTPHeaderEncryptionPolicyDisable
	}
	pc, err := api.NewPeerConnection(pcfg)
	if err == nil {
		e.learnt.Store(pc, budget)
	}
	return pc, err
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
