package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/auth"
)

// adminCheck holds the admin token as a SHA-256 digest, so the comparison is
// constant-time whatever the lengths (as internal/auth does for stream
// tokens).
type adminCheck struct {
	set bool
	sum [32]byte
}

func newAdminCheck(token string) adminCheck {
	if token == "" {
		return adminCheck{}
	}
	return adminCheck{set: true, sum: sha256.Sum256([]byte(token))}
}

// allow returns nil if r may use the control API.
func (a adminCheck) allow(r *http.Request) error {
	if !a.set {
		// The TCP peer, not X-Forwarded-For: a header is no proof of
		// where a request comes from.
		if isLoopback(r.RemoteAddr) {
			return nil
		}
		return ErrLoopbackOnly
	}
	tok := auth.BearerToken(r.Header.Get("Authorization"))
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	if tok == "" {
		return ErrAdminToken
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], a.sum[:]) != 1 {
		return ErrBadAdminToken
	}
	return nil
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (a *API) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := a.admin.allow(c.Request()); err != nil {
			return a.writeError(c, err)
		}
		// The API's answers describe live state: never cache them.
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}
