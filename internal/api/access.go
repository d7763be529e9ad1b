package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/auth"
)

// AdminAuthorizer is the gateway's auth chain (static tokens, JWT, callback)
// as the API uses it.
type AdminAuthorizer interface {
	auth.Authorizer
	// Open reports whether an action needs no credentials at all.
	Open(auth.Action) bool
}

// adminCheck holds the admin token as a SHA-256 digest, so the comparison is
// constant-time whatever the lengths (as internal/auth does for stream
// tokens), and the auth chain for JWT or callback admins.
type adminCheck struct {
	set   bool
	sum   [32]byte
	authz AdminAuthorizer
}

func newAdminCheck(token string, authz AdminAuthorizer) adminCheck {
	a := adminCheck{authz: authz}
	if token != "" {
		a.set, a.sum = true, sha256.Sum256([]byte(token))
	}
	return a
}

// allow returns nil if r may use the control API: the admin token, or a
// token the auth chain grants admin (a JWT with "admin": true, the callback
// allowing action "admin"). With neither configured, loopback clients only.
func (a adminCheck) allow(r *http.Request) error {
	tok := auth.BearerToken(r.Header.Get("Authorization"))
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	if a.set && tok != "" {
		sum := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(sum[:], a.sum[:]) == 1 {
			return nil
		}
	}
	delegated := a.authz != nil && !a.authz.Open(auth.ActionAdmin)
	if !a.set && !delegated {
		// The TCP peer, not X-Forwarded-For: a header is no proof of
		// where a request comes from.
		if isLoopback(r.RemoteAddr) {
			return nil
		}
		return ErrLoopbackOnly
	}
	if tok == "" {
		return ErrAdminToken
	}
	if !delegated {
		return ErrBadAdminToken
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	err = a.authz.Authorize(r.Context(), auth.Request{Action: auth.ActionAdmin, Token: tok, RemoteAddr: host, Protocol: auth.ProtocolAPI})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrUnavailable), errors.Is(err, auth.ErrForbidden):
		return err
	}
	return ErrBadAdminToken
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
