package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"

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
	hosts []string // Host names accepted besides loopback ones (api_allowed_hosts)
}

// withHosts adds Host names the open, loopback-only API accepts.
func (a adminCheck) withHosts(hosts []string) adminCheck {
	a.hosts = hosts
	return a
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
		if !isLoopback(r.RemoteAddr) {
			return ErrLoopbackOnly
		}
		// A page on any site can reach a loopback port by DNS rebinding
		// (its name re-resolved to 127.0.0.1): the browser then sends that
		// name as Host. Only names that are loopback by definition pass.
		if !a.loopbackHost(r.Host) {
			return ErrHostNotAllowed
		}
		return nil
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

// loopbackHost: a loopback IP literal, localhost or a name under
// .localhost (RFC 6761 §6.3, which browsers resolve to loopback themselves),
// or a name the operator listed.
func (a adminCheck) loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	for _, h := range a.hosts {
		if strings.EqualFold(strings.TrimSuffix(h, "."), host) {
			return true
		}
	}
	return false
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
