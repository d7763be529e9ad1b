package bridge

import (
	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"

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
	release, ok := s.limited.Hold(ctx.Conn.NetConn().RemoteAddr())
	if !ok {
		return nil, &base.Response{StatusCode: base.StatusServiceUnavailable}
	}
	return release, nil
}
