package signaling

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// sessionMarker separates a stream name from a session secret in a
// resource URL: /whep/site/cam1/-/SECRET. Stream names may contain '/'
// (streams.ValidName), but no part of a name is "-", so the endpoint
// /whep/NAME and its sessions can never be confused, whatever the name.
const sessionMarker = "/-/"

// handler serves one method of an endpoint or of a session resource.
type handler func(c echo.Context, name, secret string) error

// Mount registers the endpoint at /{prefix}/NAME and its sessions at
// /{prefix}/NAME/-/SECRET. Echo cannot match a path parameter that spans
// segments, so one wildcard route per method takes everything under the
// prefix and the split happens here. OPTIONS is ours, not a CORS
// middleware's, so that it carries Accept-Post and Link (RFC 9725 §4.6).
func (s *Server) Mount(e *echo.Echo, prefix string, ep Endpoint) {
	const onEndpoint, onSession = "OPTIONS, GET, HEAD, POST", "OPTIONS, GET, HEAD, PATCH, DELETE"
	endpoint := map[string]handler{
		http.MethodPost:    s.limited(s.post(prefix, ep)),
		http.MethodOptions: s.optionsEndpoint(ep),
		http.MethodGet:     s.emptyOK(false),
		http.MethodHead:    s.emptyOK(true),
		http.MethodPut:     s.notAllowed(onEndpoint),
		http.MethodPatch:   s.notAllowed(onEndpoint),
		http.MethodDelete:  s.notAllowed(onEndpoint),
	}
	session := map[string]handler{
		http.MethodPatch:   s.limited(s.patch(prefix)),
		http.MethodDelete:  s.limited(s.delete(prefix)),
		http.MethodOptions: s.optionsSession,
		http.MethodGet:     s.emptyOK(false),
		http.MethodHead:    s.emptyOK(false),
		http.MethodPut:     s.notAllowed(onSession),
		http.MethodPost:    s.notAllowed(onSession),
	}
	base := "/" + prefix + "/"
	serve := func(c echo.Context) error {
		name, secret, isSession := splitTarget(c.Request().URL.Path, base)
		if secret, sub, ok := strings.Cut(secret, "/"); isSession && ok {
			return s.extension(c, prefix, name, secret, sub) // ext.go
		}
		h := endpoint[c.Request().Method]
		if isSession {
			h = session[c.Request().Method]
		}
		return h(c, name, secret)
	}
	g := e.Group("", s.cors)
	for m := range endpoint {
		g.Add(m, base+"*", serve)
	}
}

// splitTarget reads the stream name and, for a session resource, the
// secret from a decoded request path: a name written with %2F for its
// slashes is the same name.
func splitTarget(path, base string) (name, secret string, isSession bool) {
	rest := strings.TrimPrefix(path, base)
	name, secret, isSession = strings.Cut(rest, sessionMarker)
	return name, secret, isSession
}

// SessionPath is the resource URL path of a session.
func SessionPath(prefix, name, secret string) string {
	return "/" + prefix + "/" + name + sessionMarker + secret
}

// limited applies the per-client rate limit to one handler.
func (s *Server) limited(h handler) handler {
	return func(c echo.Context, name, secret string) error {
		return s.rateLimit(func(c echo.Context) error { return h(c, name, secret) })(c)
	}
}
