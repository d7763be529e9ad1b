package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	rtspauth "github.com/bluenviron/gortsplib/v4/pkg/auth"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/headers"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/connlimit"
	"github.com/wishgate/wishgate/streams"
)

// Checker authorises a token for an action on a stream (internal/auth).
// The gateway's auth chain is an auth.Authorizer too: then the request's
// remote address and protocol reach the operator's auth callback.
type Checker interface {
	Check(a auth.Action, stream, token string) error
}

// ServerConfig configures the RTSP server.
type ServerConfig struct {
	// Addr is the TCP listen address, e.g. ":8554".
	Addr string
	// UDPRTPAddr and UDPRTCPAddr enable RTP/RTCP over UDP for readers
	// (":8000" and ":8001": an even port and the next one). Empty means
	// TCP-interleaved only; so does a pair that cannot be bound (taken by
	// another program), which is logged and not an error.
	UDPRTPAddr  string
	UDPRTCPAddr string
	// MulticastIPRange (an IPv4 multicast CIDR, e.g. "239.10.0.0/16") with
	// MulticastRTPPort and MulticastRTCPPort (even and next) enables
	// UDP-multicast delivery to readers: each stream read over multicast
	// gets a group from the range. Empty: off.
	MulticastIPRange  string
	MulticastRTPPort  int
	MulticastRTCPPort int
	// TLSConfig, if set, makes this an RTSPS server (RTSP over TLS; media
	// interleaved in the TLS connection, or SRTP over UDP).
	TLSConfig *tls.Config
	Registry  *streams.Registry
	Auth      Checker
	// Demand starts an on-demand source before a reader looks it up.
	Demand func(ctx context.Context, stream string) error
	Logger *slog.Logger
	// ReadyTimeout bounds how long DESCRIBE waits for a WHIP stream's
	// parameter sets to describe it. Default 2s.
	ReadyTimeout time.Duration
	// Linger keeps an outlet without readers this long. Default 5s.
	Linger time.Duration
	// DemandTimeout bounds Demand. Default 10s.
	DemandTimeout time.Duration
	// Conns caps the TCP connections and closes idle ones (conns.go).
	Conns connlimit.Config
	// ReadTimeout closes a publisher that sends nothing, WriteTimeout a
	// reader that takes nothing, for that long. Default 10s each.
	ReadTimeout, WriteTimeout time.Duration
	// Self, if set, is the gateway's own credential: camera sources that
	// pull this gateway's streams present it instead of a user's token.
	Self *Self
	// OwnSocket, if set, reports whether an address is one of the
	// gateway's listening sockets: a session over UDP may not name one as
	// its client ports (conns.go).
	OwnSocket func(netip.AddrPort) bool
}

// Server serves every registry stream over RTSP and accepts RTSP publishers.
// Its reader side (DESCRIBE, SETUP, PLAY) is in server_read.go.
type Server struct {
	cfg     ServerConfig
	log     *slog.Logger
	rtsp    *gortsplib.Server
	ln      net.Listener
	limited *connlimit.Listener
	udp     []net.PacketConn // RTP, RTCP; nil when RTSP over UDP is off

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

// NewServer binds the listeners and starts serving.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.NewStatic(nil, nil)
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 2 * time.Second
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 5 * time.Second
	}
	if cfg.DemandTimeout <= 0 {
		cfg.DemandTimeout = 10 * time.Second
	}
	component := "rtsp"
	if cfg.TLSConfig != nil {
		component = "rtsps"
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", component)}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("rtsp-addr %q: %w", cfg.Addr, err)
	}
	if cfg.Conns.Name == "" {
		cfg.Conns.Name = component
	}
	cfg.Self.listening(ln.Addr(), cfg.TLSConfig != nil)
	s.limited = connlimit.New(ln, cfg.Conns)
	s.ln = s.limited
	s.rtsp = &gortsplib.Server{
		Handler:           s,
		RTSPAddress:       ln.Addr().String(),
		TLSConfig:         cfg.TLSConfig,
		MulticastIPRange:  cfg.MulticastIPRange,
		MulticastRTPPort:  cfg.MulticastRTPPort,
		MulticastRTCPPort: cfg.MulticastRTCPPort,
		// Basic only: the read/publish token is the password and there is
		// no per-user secret to build a Digest response from.
		AuthMethods:  []rtspauth.VerifyMethod{rtspauth.VerifyMethodBasic},
		Listen:       func(string, string) (net.Listener, error) { return s.limited, nil },
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
	}
	s.bindUDP()
	// Before Start: a client may connect at once, and the handlers
	// (authorize) derive their contexts from s.ctx (a data race, or a nil
	// context, otherwise; seen under -race in test/bridge).
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.rtsp.Start(); err != nil {
		s.cancel()
		s.limited.Close()
		for _, pc := range s.udp {
			pc.Close()
		}
		return nil, fmt.Errorf("rtsp server: %w", err)
	}
	return s, nil
}

// bindUDP binds the RTP/RTCP pair for readers over UDP and hands it to
// gortsplib. A pair another program holds (MediaMTX uses the same defaults)
// leaves RTSP on TCP only, with a warning: UDP readers are then refused with
// 461 Unsupported Transport and fall back to TCP, as ffmpeg and VLC do.
func (s *Server) bindUDP() {
	if s.cfg.UDPRTPAddr == "" || s.cfg.UDPRTCPAddr == "" {
		return
	}
	rtp, err := net.ListenPacket("udp", s.cfg.UDPRTPAddr)
	if err != nil {
		s.log.Warn("RTSP over UDP is off, readers get TCP only: the RTP port is taken", "rtsp_udp_rtp_addr", s.cfg.UDPRTPAddr, "error", err.Error())
		return
	}
	rtcp, err := net.ListenPacket("udp", s.cfg.UDPRTCPAddr)
	if err != nil {
		rtp.Close()
		s.log.Warn("RTSP over UDP is off, readers get TCP only: the RTCP port is taken", "rtsp_udp_rtcp_addr", s.cfg.UDPRTCPAddr, "error", err.Error())
		return
	}
	s.udp = []net.PacketConn{rtp, rtcp}
	s.rtsp.UDPRTPAddress, s.rtsp.UDPRTCPAddress = rtp.LocalAddr().String(), rtcp.LocalAddr().String()
	s.rtsp.ListenPacket = func(network, address string) (net.PacketConn, error) {
		switch address {
		case s.rtsp.UDPRTPAddress:
			return rtp, nil
		case s.rtsp.UDPRTCPAddress:
			return rtcp, nil
		}
		return net.ListenPacket(network, address)
	}
}

// UDPAddrs are the bound RTP and RTCP addresses for readers over UDP, or
// nil when RTSP over UDP is off.
func (s *Server) UDPAddrs() []net.Addr {
	var out []net.Addr
	for _, pc := range s.udp {
		out = append(out, pc.LocalAddr())
	}
	return out
}

// Addr is the bound TCP address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close disconnects every RTSP client and waits for the server's goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.rtsp.Close()
	_ = s.rtsp.Wait()
}

// streamName turns an RTSP path ("/cam1", "/a/b/") into a stream name.
func streamName(path string) string {
	return strings.Trim(path, "/")
}

// token reads a token from "?token=" or the password of Basic credentials
// (rtsp://any:TOKEN@host/name, which players turn into Basic auth).
func token(req *base.Request, query string) string {
	if q, err := url.ParseQuery(query); err == nil {
		if t := q.Get("token"); t != "" {
			return t
		}
	}
	var a headers.Authorization
	if err := a.Unmarshal(req.Header["Authorization"]); err == nil && a.Method == headers.AuthMethodBasic {
		return a.BasicPass
	}
	return ""
}

// authorize checks the token; the response carries the RTSP status.
func (s *Server) authorize(act auth.Action, name string, req *base.Request, query string, c *gortsplib.ServerConn) (*base.Response, error) {
	if act == auth.ActionRead && s.cfg.Self.authorizes(token(req, query)) {
		return nil, nil // the gateway pulling its own stream (self.go)
	}
	var err error
	if az, ok := s.cfg.Auth.(auth.Authorizer); ok {
		host, _, _ := net.SplitHostPort(remoteOf(c))
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		err = az.Authorize(ctx, auth.Request{Action: act, Stream: name, Token: token(req, query),
			RemoteAddr: host, Protocol: auth.ProtocolRTSP})
		cancel()
	} else {
		err = s.cfg.Auth.Check(act, name, token(req, query))
	}
	switch {
	case err == nil:
		return nil, nil
	case errors.Is(err, auth.ErrForbidden):
		return &base.Response{StatusCode: base.StatusForbidden}, err
	case errors.Is(err, auth.ErrUnavailable):
		// The JWKS URL or the auth callback is down: not the client's fault.
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, err
	default:
		// gortsplib adds "WWW-Authenticate: Basic" when no credentials
		// were sent, and closes the connection after wrong ones.
		return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}
}

// sessionData is what an RTSP session is: a reader of an outlet, or a publisher.
type sessionData struct {
	outlet *outlet
	pub    *streams.Publication
	in     *ingest
	p      *rtspPublisher
	conn   atomic.Pointer[connlimit.Conn] // busy while playing or recording (conns.go)
	place  func()                         // gives back the place a session over UDP holds (conns.go)
	decode decodeErrors                   // rtsperrors.go
}

// OnAnnounce implements gortsplib.ServerHandlerOnAnnounce: an RTSP client
// publishes NAME, under the same replace rule as WHIP.
func (s *Server) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	name := streamName(ctx.Path)
	if err := streams.ValidName(name); err != nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	if res, err := s.authorize(auth.ActionPublish, name, ctx.Request, ctx.Query, ctx.Conn); res != nil {
		return res, err
	}
	log := s.log.With("stream", name, "remote", ctx.Conn.NetConn().RemoteAddr().String())
	in, err := newIngest(ctx.Description, log, s.cfg.Registry.ConversionTarget)
	if err != nil {
		log.Warn("rtsp publish refused", "error", err)
		return &base.Response{StatusCode: base.StatusUnsupportedMediaType}, err
	}
	ss := ctx.Session
	p := &rtspPublisher{kick: func(error) { ss.Close() }}
	p.connected.Store(true)
	pub, err := s.cfg.Registry.Publish(name, in.specs, p, streams.PublisherInfo{
		Kind: streams.SessionRTSPPublish, SessionID: newSessionID(), RemoteAddr: ctx.Conn.NetConn().RemoteAddr().String(),
	})
	if err != nil {
		log.Warn("rtsp publish refused", "error", err)
		if errors.Is(err, streams.ErrConflict) {
			// RTSP has no 409; 455 is "not valid in this state" of the stream.
			return &base.Response{StatusCode: base.StatusMethodNotValidInThisState}, err
		}
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, err
	}
	in.pub = pub
	in.logNotes(log)
	ss.SetUserData(&sessionData{pub: pub, in: in, p: p})
	log.Info("rtsp publisher announced")
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnRecord implements gortsplib.ServerHandlerOnRecord.
func (s *Server) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	d, ok := ctx.Session.UserData().(*sessionData)
	if !ok || d.in == nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("RECORD without ANNOUNCE")
	}
	holdConn(ctx.Conn, d)
	in := d.in
	ctx.Session.OnPacketRTPAny(func(_ *description.Media, f format.Format, pkt *rtp.Packet) { in.handle(f, pkt) })
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose.
func (s *Server) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	d, ok := ctx.Session.UserData().(*sessionData)
	if !ok {
		return
	}
	releaseConn(d)
	if d.place != nil {
		d.place()
	}
	if d.outlet != nil {
		d.outlet.removeReader(ctx.Session)
	}
	if d.pub != nil {
		d.p.connected.Store(false)
		d.pub.Close()
		s.log.Info("rtsp publisher left", "stream", d.pub.Stream().Name, "reason", ctx.Error)
	}
}
