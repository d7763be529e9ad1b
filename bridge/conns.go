package bridge

import (
	"github.com/bluenviron/gortsplib/v4"

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
