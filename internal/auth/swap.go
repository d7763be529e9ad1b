package auth

import (
	"context"
	"sync/atomic"
)

// Swappable is the Authorizer the HTTP edge and the RTSP bridge hold: hot
// reload replaces the Chain inside it without touching them or the sessions
// they run.
type Swappable struct {
	p atomic.Pointer[Chain]
}

// NewSwappable starts with c.
func NewSwappable(c *Chain) *Swappable {
	s := &Swappable{}
	s.p.Store(c)
	return s
}

// Swap installs c and releases the previous chain's idle connections
// (requests in flight on it finish).
func (s *Swappable) Swap(c *Chain) {
	if old := s.p.Swap(c); old != nil && old != c {
		old.Close()
	}
}

// Authorize asks the current chain.
func (s *Swappable) Authorize(ctx context.Context, r Request) error {
	return s.p.Load().Authorize(ctx, r)
}

// Check asks the current chain without remote address or protocol.
func (s *Swappable) Check(a Action, stream, token string) error {
	return s.p.Load().Check(a, stream, token)
}

// Open reports whether a needs no credentials under the current chain.
func (s *Swappable) Open(a Action) bool { return s.p.Load().Open(a) }

// Close releases the current chain's idle connections.
func (s *Swappable) Close() { s.p.Load().Close() }
