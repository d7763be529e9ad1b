package signaling

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Overflow lets a gateway in a cluster hand a viewer it cannot take to a
// node that can (RFC 9725 §4.5: a WHEP client follows 307 for POST).
type Overflow interface {
	// Overloaded reports whether this node takes no new viewers even below
	// its limits (CPU over the threshold).
	Overloaded() bool
	// Redirect returns the base URL (scheme://host:port) of another node
	// with room for a viewer of stream, or false when none has.
	Redirect(ctx context.Context, stream string) (string, bool)
	// Pass signs a short-lived pass for one viewer of stream, put in the
	// redirect's Location; Admits checks one that arrived with a POST.
	Pass(stream string) string
	Admits(stream, pass string) bool
}

// PassParam is the query parameter of a redirect's Location that carries
// the pass: clients drop Authorization when they follow a redirect to
// another host (net/http; fetch for a cross-origin one), so the viewer's
// token, checked here, does not reach the node with room.
const PassParam = "cluster_pass"

// SetOverflow installs o (Config.Overflow) before the server is used: a
// cluster node exists only after the edge it redirects for.
func (s *Server) SetOverflow(o Overflow) { s.cfg.Overflow = o }

// full reports whether err says this node has no room for one more viewer.
func full(err error) bool {
	return errors.Is(err, ErrTooManySessions) || errors.Is(err, ErrNodeFull) ||
		errors.Is(err, ErrTooManyViewers) || errors.Is(err, ErrOverloaded)
}

// overflow answers a WHEP POST this node has no room for: 307 to the same
// path and query on a node with room, plus a pass for the stream (the
// viewer's token was checked here), or the error (503 + Retry-After).
func (s *Server) overflow(c echo.Context, name string, cause error) error {
	if s.cfg.Overflow == nil || !full(cause) {
		return s.writeError(c, cause)
	}
	base, ok := s.cfg.Overflow.Redirect(c.Request().Context(), name)
	if !ok {
		return s.writeError(c, cause)
	}
	u := *c.Request().URL
	q := u.Query()
	q.Set(PassParam, s.cfg.Overflow.Pass(name))
	u.RawQuery = q.Encode()
	c.Response().Header().Set("Location", base+u.RequestURI())
	return WriteProblem(c, http.StatusTemporaryRedirect, cause.Error()+"; another node has room")
}
