// Package auth decides whether a request may publish or read a stream, or
// use the control API: static tokens (this file), JWTs (jwt.go, jwks.go), an
// HTTP callback (callback.go), composed by Chain (chain.go).
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"path"
	"strings"
)

// Action is what a request wants to do to a stream.
type Action string

const (
	ActionPublish Action = "publish"
	ActionRead    Action = "read"
	ActionAdmin   Action = "admin" // the control API; Stream is ""
)

// Protocols a Request can come from.
const (
	ProtocolWHIP = "whip"
	ProtocolWHEP = "whep"
	ProtocolRTSP = "rtsp"
	ProtocolAPI  = "api"
)

// Request is one authorisation question. Token is secret: never log it.
type Request struct {
	Action     Action
	Stream     string
	Token      string
	RemoteAddr string // the client's IP (or IP:port)
	Protocol   string // ProtocolWHIP, ProtocolWHEP, ProtocolRTSP, ProtocolAPI
}

// Authorizer answers Requests with nil or an error wrapping ErrNoToken,
// ErrBadToken (both 401), ErrForbidden (403) or ErrUnavailable (503).
type Authorizer interface {
	Authorize(ctx context.Context, r Request) error
}

var (
	// ErrNoToken: credentials are required and none were given (401).
	ErrNoToken = errors.New("a bearer token is required")
	// ErrBadToken: the token is not known (401).
	ErrBadToken = errors.New("the token is not valid")
	// ErrForbidden: the token is known but not for this stream or action (403).
	ErrForbidden = errors.New("the token does not allow this")
	// ErrUnavailable: an auth back-end (JWKS URL, callback) could not be
	// asked; the request may be retried (503).
	ErrUnavailable = errors.New("the auth service is unavailable")
)

// Rule lets Token act on the streams whose name matches Glob (path.Match
// syntax; "*" or "" is every stream).
type Rule struct {
	Glob  string
	Token string
}

// ParseRule reads "TOKEN" (every stream) or "GLOB=TOKEN".
func ParseRule(s string) (Rule, error) {
	if glob, tok, ok := strings.Cut(s, "="); ok && glob != "" && tok != "" {
		if _, err := path.Match(glob, ""); err != nil {
			return Rule{}, fmt.Errorf("bad stream pattern %q: %w", glob, err)
		}
		return Rule{Glob: glob, Token: tok}, nil
	}
	if s == "" {
		return Rule{}, errors.New("empty token")
	}
	return Rule{Glob: "*", Token: s}, nil
}

func (r Rule) matches(stream string) bool {
	if r.Glob == "" || r.Glob == "*" {
		return true
	}
	ok, _ := path.Match(r.Glob, stream)
	return ok
}

// Static holds fixed tokens per action. An action with no rules is open.
type Static struct {
	rules map[Action][]rule
}

type rule struct {
	Rule
	sum [32]byte
}

// NewStatic builds the checker for publish and read tokens.
func NewStatic(publish, read []Rule) *Static {
	return NewStaticActions(map[Action][]Rule{ActionPublish: publish, ActionRead: read})
}

// NewStaticActions builds the checker from rules per action (admin rules'
// globs are ignored: the control API is not per stream). Tokens are kept as
// SHA-256 digests so that comparisons are constant-time and
// length-independent.
func NewStaticActions(rules map[Action][]Rule) *Static {
	s := &Static{rules: map[Action][]rule{}}
	for a, rs := range rules {
		for _, r := range rs {
			if a == ActionAdmin {
				r.Glob = "*"
			}
			s.rules[a] = append(s.rules[a], rule{r, sha256.Sum256([]byte(r.Token))})
		}
	}
	return s
}

// Authorize is Check with a Request.
func (s *Static) Authorize(_ context.Context, r Request) error {
	return s.Check(r.Action, r.Stream, r.Token)
}

// Open reports whether action needs no token.
func (s *Static) Open(a Action) bool { return len(s.rules[a]) == 0 }

// Check returns nil if token may perform action on stream.
func (s *Static) Check(a Action, stream, token string) error {
	rules := s.rules[a]
	if len(rules) == 0 {
		return nil
	}
	if token == "" {
		return ErrNoToken
	}
	sum := sha256.Sum256([]byte(token))
	allowed, known := 0, 0
	// Walk every rule of every action, whatever matches, so timing does not
	// tell which rule a token hit.
	for act, rs := range s.rules {
		for _, r := range rs {
			eq := subtle.ConstantTimeCompare(sum[:], r.sum[:])
			known |= eq
			if act == a && r.matches(stream) {
				allowed |= eq
			}
		}
	}
	switch {
	case allowed == 1:
		return nil
	case known == 1:
		return ErrForbidden
	}
	return ErrBadToken
}

// BearerToken extracts the token of an "Authorization: Bearer X" header.
func BearerToken(header string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
