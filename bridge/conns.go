package bridge

import (
	"net"
	"net/netip"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/headers"

	"github.com/wishgate/wishgate/internal/connlimit"
)

// An RTSP connection is idle (and closed after Conns.IdleTimeout of
// silence) until it carries a playing or recording session: gortsplib has
// no such timeout of its own, so a client that connects and sends nothing,
// or one OPTIONS, would hold its connection forever. Once media flows, the
// session's own timeouts (ReadTimeout, WriteTimeout, RTCP keep-alives)
// decide, and a reader over UDP may leave its RTSP connection silent.

// holdConn marks the connection of a session that starts playing or
// recording as busy, once per session.
func holdConn(c *gortsplib.ServerConn, d *sessionData) {
	if d == nil || c == nil {
		return
	}
	lc, ok := connlimit.Unwrap(c.NetConn())
	if !ok || !d.conn.CompareAndSwap(nil, lc) {
		return
	}
	lc.SetBusy(true)
}

// releaseConn gives a closed session's connection its idle timeout back.
func releaseConn(d *sessionData) {
	if lc := d.conn.Swap(nil); lc != nil {
		lc.SetBusy(false)
	}
}

// Conns reports the TCP connections of the listener (metrics).
func (s *Server) Conns() *connlimit.Listener { return s.limited }

// holdSession takes the place an RTSP session over UDP (or multicast)
// holds under the listener's caps (max_connections_per_ip, max_connections)
// until it ends: such a session outlives the connection that set it up, so
// without it one client could SETUP, PLAY and hang up again and again, each
// time leaving the gateway sending a stream to it. Past the caps the
// session's first SETUP is answered 503. A session over TCP lives in its
// connection, which holds the place already.
func (s *Server) holdSession(ctx *gortsplib.ServerHandlerOnSetupCtx) (release func(), refused *base.Response) {
	if ctx.Transport == gortsplib.TransportTCP {
		return func() {}, nil
	}
	if a, ok := s.aimedAtSelf(ctx); ok {
		s.log.Warn("rtsp SETUP refused: its client ports are one of the gateway's own sockets",
			"remote", ctx.Conn.NetConn().RemoteAddr().String(), "client_port", a.String())
		return nil, &base.Response{StatusCode: base.StatusBadRequest}
	}
	release, ok := s.limited.Hold(ctx.Conn.NetConn().RemoteAddr())
	if !ok {
		return nil, &base.Response{StatusCode: base.StatusServiceUnavailable}
	}
	return release, nil
}

// aimedAtSelf reports the first client port of a SETUP over UDP that names
// one of the gateway's own sockets. gortsplib sends a reader's RTP (and a
// publisher's receiver reports) to its connection's IP address at the
// ports its SETUP names, so a client on this machine could otherwise have
// the gateway send to its own WebRTC media socket, its RTSP UDP ports or
// any of its listeners. Other ports of the client's own address are its
// own business.
func (s *Server) aimedAtSelf(ctx *gortsplib.ServerHandlerOnSetupCtx) (netip.AddrPort, bool) {
	if s.cfg.OwnSocket == nil {
		return netip.AddrPort{}, false
	}
	tcp, ok := ctx.Conn.NetConn().RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		return netip.AddrPort{}, false
	}
	var ths headers.Transports
	if ths.Unmarshal(ctx.Request.Header["Transport"]) != nil {
		return netip.AddrPort{}, false // gortsplib refuses it (400)
	}
	for _, th := range ths {
		if th.ClientPorts == nil {
			continue
		}
		for _, p := range th.ClientPorts {
			if p <= 0 || p > 65535 {
				continue
			}
			if a := netip.AddrPortFrom(ip.Unmap(), uint16(p)); s.cfg.OwnSocket(a) {
				return a, true
			}
		}
	}
	return netip.AddrPort{}, false
}
