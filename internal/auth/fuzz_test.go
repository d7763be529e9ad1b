package auth

import (
	"errors"
	"path"
	"strings"
	"testing"
)

// FuzzBearerToken: the Authorization header is the first thing a stranger
// controls. The token is what follows "Bearer " (any case), trimmed; any
// other scheme yields no token, never part of the header.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  abc ", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", " Bearer\tx",
		"BEARER a b c", "", "Bearer\x00x", "Bearerx y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok := BearerToken(header)
		if tok == "" {
			return
		}
		if tok != strings.TrimSpace(tok) {
			t.Fatalf("token %q is not trimmed", tok)
		}
		scheme, rest, ok := strings.Cut(strings.TrimSpace(header), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(rest) != tok {
			t.Fatalf("header %q gave token %q", header, tok)
		}
	})
}

// FuzzStaticCheck: a token is accepted exactly when it equals a configured
// token of the requested action whose glob matches the stream; a token of
// the other action is 403, anything else 401. In particular a read token
// can never publish.
func FuzzStaticCheck(f *testing.F) {
	f.Add("pub-cam", "cam1", true)
	f.Add("viewer", "cam1", true)
	f.Add("viewer", "show", false)
	f.Add("pub-cam\x00", "cam1", true)
	f.Add("", "x", false)
	s := NewStatic(
		[]Rule{{Glob: "cam*", Token: "pub-cam"}, {Glob: "*", Token: "pub-all"}},
		[]Rule{{Glob: "*", Token: "viewer"}, {Glob: "cam?", Token: "pub-cam-read"}},
	)
	publish := map[string]string{"pub-cam": "cam*", "pub-all": "*"}
	read := map[string]string{"viewer": "*", "pub-cam-read": "cam?"}
	f.Fuzz(func(t *testing.T, token, stream string, wantPublish bool) {
		act, own, other := ActionRead, read, publish
		if wantPublish {
			act, own, other = ActionPublish, publish, read
		}
		err := s.Check(act, stream, token)
		glob, mine := own[token]
		_, theirs := other[token]
		matched, _ := path.Match(glob, stream)
		want := ErrBadToken
		switch {
		case token == "":
			want = ErrNoToken
		case mine && (glob == "*" || matched):
			want = nil
		case mine || theirs:
			want = ErrForbidden
		}
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Fatalf("Check(%s, %q, %q) = %v, want %v", act, stream, token, err, want)
		}
	})
}

// FuzzParseRule: a rule either parses to a usable glob and a non-empty
// token, or is refused; matching never panics.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"tok", "cam*=tok", "[=tok", "=tok", "a=", "a=b=c", "\\=x"} {
		f.Add(s, "cam1")
	}
	f.Fuzz(func(t *testing.T, spec, stream string) {
		r, err := ParseRule(spec)
		if err != nil {
			return
		}
		if r.Token == "" {
			t.Fatalf("rule %q has an empty token", spec)
		}
		_ = r.matches(stream)
	})
}
