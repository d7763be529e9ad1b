package signaling

import (
	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/auth"
)

// authorize asks the Checker, with the client's address and the protocol
// when it can take them (auth.Authorizer: the HTTP callback wants both).
func (s *Server) authorize(c echo.Context, a auth.Action, stream string) error {
	if a == auth.ActionRead && s.cfg.Overflow != nil {
		// A viewer another node redirected here, its token checked there.
		if p := c.QueryParam(PassParam); p != "" && s.cfg.Overflow.Admits(stream, p) {
			return nil
		}
	}
	tok := token(c.Request())
	az, ok := s.cfg.Auth.(auth.Authorizer)
	if !ok {
		return s.cfg.Auth.Check(a, stream, tok)
	}
	proto := auth.ProtocolWHEP
	if a == auth.ActionPublish {
		proto = auth.ProtocolWHIP
	}
	return az.Authorize(c.Request().Context(), auth.Request{
		Action: a, Stream: stream, Token: tok, RemoteAddr: c.RealIP(), Protocol: proto,
	})
}

// iceServers are the servers to announce in this response's Link headers.
func (s *Server) iceServers() []ICEServer {
	if s.cfg.Links != nil {
		return s.cfg.Links()
	}
	return s.cfg.ICEServers
}

// origins are the CORS origins allowed now.
func (s *Server) origins() []string {
	if s.cfg.Origins != nil {
		return s.cfg.Origins()
	}
	return s.cfg.AllowOrigins
}
