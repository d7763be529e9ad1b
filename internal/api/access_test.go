package api

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wishgate/wishgate/internal/auth"
)

func signHS256(t *testing.T, secret string, admin bool) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"exp":      time.Now().Add(time.Hour).Unix(),
		"wishgate": map[string]any{"read": []string{"*"}, "admin": admin},
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAdminCheck(t *testing.T) {
	open, locked := newAdminCheck("", nil), newAdminCheck("s3cret", nil)
	// A JWT back-end covers admin: JWT admins get in, from anywhere; the
	// admin token still works beside it.
	chain := &auth.Chain{Static: auth.NewStatic(nil, nil), JWT: auth.NewJWT(auth.JWTConfig{Secret: []byte("k")})}
	viaJWT, both := newAdminCheck("", chain), newAdminCheck("s3cret", chain)
	admin, reader := signHS256(t, "k", true), signHS256(t, "k", false)
	for _, tc := range []struct {
		name   string
		check  adminCheck
		remote string
		host   string // default 127.0.0.1:8080
		header string
		query  string
		want   error
	}{
		{"no token, IPv4 loopback", open, "127.0.0.1:5000", "", "", "", nil},
		{"no token, 127/8", open, "127.8.9.10:5000", "", "", "", nil},
		{"no token, IPv6 loopback", open, "[::1]:5000", "", "", "", nil},
		{"no token, elsewhere", open, "192.0.2.4:5000", "", "", "", ErrLoopbackOnly},
		// DNS rebinding: a page of evil.example re-resolved to 127.0.0.1.
		{"no token, a foreign Host", open, "127.0.0.1:5000", "evil.example:8080", "", "", ErrHostNotAllowed},
		{"no token, a foreign Host without port", open, "127.0.0.1:5000", "evil.example", "", "", ErrHostNotAllowed},
		{"no token, a private address as Host", open, "127.0.0.1:5000", "192.168.1.2:8080", "", "", ErrHostNotAllowed},
		{"no token, localhost", open, "127.0.0.1:5000", "localhost:8080", "", "", nil},
		{"no token, LOCALHOST.", open, "127.0.0.1:5000", "LOCALHOST.:8080", "", "", nil},
		{"no token, a .localhost name", open, "127.0.0.1:5000", "gw.localhost", "", "", nil},
		{"no token, [::1]", open, "[::1]:5000", "[::1]:8080", "", "", nil},
		{"no token, a listed name", open.withHosts([]string{"gw.lan"}), "127.0.0.1:5000", "GW.lan:8080", "", "", nil},
		{"admin token, any Host", locked, "127.0.0.1:5000", "evil.example", "Bearer s3cret", "", nil},
		{"no token, forwarded header is not trusted", open, "192.0.2.4:5000", "", "", "", ErrLoopbackOnly},
		{"token, none sent, even from loopback", locked, "127.0.0.1:5000", "", "", "", ErrAdminToken},
		{"token, bearer", locked, "192.0.2.4:5000", "", "Bearer s3cret", "", nil},
		{"token, query", locked, "192.0.2.4:5000", "", "", "s3cret", nil},
		{"token, wrong", locked, "192.0.2.4:5000", "", "Bearer s3cre", "", ErrBadAdminToken},
		{"token, longer", locked, "192.0.2.4:5000", "", "Bearer s3cret!", "", ErrBadAdminToken},
		{"token, other scheme", locked, "192.0.2.4:5000", "", "Basic s3cret", "", ErrAdminToken},
		{"jwt admin", viaJWT, "192.0.2.4:5000", "", "Bearer " + admin, "", nil},
		{"jwt admin in query", viaJWT, "192.0.2.4:5000", "", "", admin, nil},
		{"jwt without admin claim", viaJWT, "192.0.2.4:5000", "", "Bearer " + reader, "", auth.ErrForbidden},
		{"jwt configured, none sent, even from loopback", viaJWT, "127.0.0.1:5000", "", "", "", ErrAdminToken},
		{"jwt configured, garbage", viaJWT, "192.0.2.4:5000", "", "Bearer nope", "", ErrBadAdminToken},
		{"jwt forged with another key", viaJWT, "192.0.2.4:5000", "", "Bearer " + signHS256(t, "other", true), "", ErrBadAdminToken},
		{"admin token beside jwt", both, "192.0.2.4:5000", "", "Bearer s3cret", "", nil},
		{"jwt admin beside admin token", both, "192.0.2.4:5000", "", "Bearer " + admin, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := "/api/v1/streams"
			if tc.query != "" {
				url += "?token=" + tc.query
			}
			r := httptest.NewRequest("GET", url, nil)
			r.RemoteAddr = tc.remote
			r.Host = tc.host
			if r.Host == "" {
				r.Host = "127.0.0.1:8080"
			}
			r.Header.Set("X-Forwarded-For", "127.0.0.1")
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if err := tc.check.allow(r); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("allow = %v, want %v", err, tc.want)
			}
		})
	}
}
