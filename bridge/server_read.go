package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/streams"
)

// The reader side of Server: each RTSP reader gets an outlet of its own
// (outlet.go), made at DESCRIBE and claimed by the SETUP that follows on the
// same connection; a connection remembers the streams it was authorised to
// read. The publisher side (ANNOUNCE, RECORD) is in server.go.

// newOutlet subscribes a new RTSP reader to the stream. Each reader session
// has its own subscription and ServerStream, so that it starts at a keyframe
// (or the cached GOP) like a WHEP viewer, whenever it joins.
func (s *Server) newOutlet(name string, remote string) (*outlet, error) {
	if s.cfg.Demand != nil {
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.DemandTimeout)
		err := s.cfg.Demand(ctx, name)
		cancel()
		if err != nil && !errors.Is(err, streams.ErrNotLive) {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, streams.ErrClosed
	}
	st, tracks, err := s.cfg.Registry.Lookup(name)
	if err != nil {
		return nil, err
	}
	sub, err := s.cfg.Registry.Subscribe(st, streams.SubscribeOptions{
		Tracks: tracks,
		Info:   streams.SubscriberInfo{Kind: streams.SessionRTSPRead, SessionID: newSessionID(), RemoteAddr: remote},
	})
	if err != nil {
		return nil, err
	}
	o := newOutlet(s, name, sub, tracks)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := sub.Run(s.ctx, o)
		o.close()
		s.log.Debug("rtsp reader's subscription ended", "stream", name, "remote", remote, "reason", err)
	}()
	return o, nil
}

func notFound(err error) *base.Response {
	if errors.Is(err, streams.ErrNotLive) {
		return &base.Response{StatusCode: base.StatusNotFound}
	}
	return &base.Response{StatusCode: base.StatusServiceUnavailable}
}

// connAuth remembers, per connection, the streams a reader was authorised
// for at DESCRIBE, so SETUP URLs without the query still pass.
type connAuth struct {
	mu   sync.Mutex
	read map[string]bool
	// pending: outlets created by DESCRIBE, claimed by the SETUP that follows
	// on the same connection.
	pending map[string]*outlet
}

func (s *Server) connData(c *gortsplib.ServerConn) *connAuth {
	if d, ok := c.UserData().(*connAuth); ok {
		return d
	}
	return nil
}

// OnConnOpen implements gortsplib.ServerHandlerOnConnOpen.
func (s *Server) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	ctx.Conn.SetUserData(&connAuth{read: map[string]bool{}, pending: map[string]*outlet{}})
}

// OnConnClose implements gortsplib.ServerHandlerOnConnClose: outlets a
// DESCRIBE created but no SETUP claimed are released now.
func (s *Server) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	d := s.connData(ctx.Conn)
	if d == nil {
		return
	}
	d.mu.Lock()
	pending := d.pending
	d.pending = map[string]*outlet{}
	d.mu.Unlock()
	for _, o := range pending {
		o.sub.Close()
	}
}

func remoteOf(c *gortsplib.ServerConn) string { return c.NetConn().RemoteAddr().String() }

func (s *Server) authorizeRead(c *gortsplib.ServerConn, name string, req *base.Request, query string) (*base.Response, error) {
	d := s.connData(c)
	if d != nil {
		d.mu.Lock()
		ok := d.read[name]
		d.mu.Unlock()
		if ok {
			return nil, nil
		}
	}
	if res, err := s.authorize(auth.ActionRead, name, req, query, c); res != nil {
		return res, err
	}
	if d != nil {
		d.mu.Lock()
		d.read[name] = true
		d.mu.Unlock()
	}
	return nil, nil
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (s *Server) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	name := streamName(ctx.Path)
	if res, err := s.authorizeRead(ctx.Conn, name, ctx.Request, ctx.Query); res != nil {
		return res, nil, err
	}
	o, err := s.newOutlet(name, remoteOf(ctx.Conn))
	if err != nil {
		return notFound(err), nil, nil
	}
	st := o.waitReady(s.cfg.ReadyTimeout)
	if st == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	if d := s.connData(ctx.Conn); d != nil {
		d.mu.Lock()
		old := d.pending[name]
		d.pending[name] = o
		d.mu.Unlock()
		if old != nil {
			old.sub.Close() // a second DESCRIBE of the same stream
		}
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (s *Server) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		if d, ok := ctx.Session.UserData().(*sessionData); ok && d.place == nil {
			place, res := s.holdSession(ctx)
			if res != nil {
				return res, nil, nil
			}
			d.place = place
		}
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	name := streamName(ctx.Path)
	if res, err := s.authorizeRead(ctx.Conn, name, ctx.Request, ctx.Query); res != nil {
		return res, nil, err
	}
	if d, ok := ctx.Session.UserData().(*sessionData); ok && d.outlet != nil {
		if d.outlet.name != name {
			return &base.Response{StatusCode: base.StatusBadRequest}, nil, fmt.Errorf("one session cannot read two streams")
		}
		return &base.Response{StatusCode: base.StatusOK}, d.outlet.stream, nil
	}
	place, res := s.holdSession(ctx)
	if res != nil {
		return res, nil, nil
	}
	var o *outlet
	if d := s.connData(ctx.Conn); d != nil {
		d.mu.Lock()
		o = d.pending[name]
		delete(d.pending, name)
		d.mu.Unlock()
	}
	if o == nil {
		// SETUP without DESCRIBE on this connection (the client knew the
		// description, or described on another connection).
		var err error
		if o, err = s.newOutlet(name, remoteOf(ctx.Conn)); err != nil {
			place()
			return notFound(err), nil, nil
		}
	}
	st := o.waitReady(s.cfg.ReadyTimeout)
	if st == nil {
		place()
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	o.addReader(ctx.Session)
	ctx.Session.SetUserData(&sessionData{outlet: o, place: place})
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (s *Server) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	if d, ok := ctx.Session.UserData().(*sessionData); ok && d.outlet != nil {
		holdConn(ctx.Conn, d)
		d.outlet.requestKeyframes()
		s.log.Info("rtsp reader playing", "stream", d.outlet.name, "remote", ctx.Conn.NetConn().RemoteAddr().String(),
			"transport", transportName(ctx.Session))
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func transportName(ss *gortsplib.ServerSession) string {
	if t := ss.SetuppedTransport(); t != nil {
		return t.String()
	}
	return ""
}
