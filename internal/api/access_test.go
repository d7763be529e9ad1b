package api

import (
	"errors"
	"net/http/httptest"
	"testing"
)

func TestAdminCheck(t *testing.T) {
	open, locked := newAdminCheck(""), newAdminCheck("s3cret")
	for _, tc := range []struct {
		name   string
		check  adminCheck
		remote string
		header string
		query  string
		want   error
	}{
		{"no token, IPv4 loopback", open, "127.0.0.1:5000", "", "", nil},
		{"no token, 127/8", open, "127.8.9.10:5000", "", "", nil},
		{"no token, IPv6 loopback", open, "[::1]:5000", "", "", nil},
		{"no token, elsewhere", open, "192.0.2.4:5000", "", "", ErrLoopbackOnly},
		{"no token, forwarded header is not trusted", open, "192.0.2.4:5000", "", "", ErrLoopbackOnly},
		{"token, none sent, even from loopback", locked, "127.0.0.1:5000", "", "", ErrAdminToken},
		{"token, bearer", locked, "192.0.2.4:5000", "Bearer s3cret", "", nil},
		{"token, query", locked, "192.0.2.4:5000", "", "s3cret", nil},
		{"token, wrong", locked, "192.0.2.4:5000", "Bearer s3cre", "", ErrBadAdminToken},
		{"token, longer", locked, "192.0.2.4:5000", "Bearer s3cret!", "", ErrBadAdminToken},
		{"token, other scheme", locked, "192.0.2.4:5000", "Basic s3cret", "", ErrAdminToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := "/api/v1/streams"
			if tc.query != "" {
				url += "?token=" + tc.query
			}
			r := httptest.NewRequest("GET", url, nil)
			r.RemoteAddr = tc.remote
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
