package signaling

import (
	"context"
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Errors of the edge's limits: 503 (capacity) or 429 (one client's rate),
// both with Retry-After (RFC 9725 §4.5; RFC 6585 §4).
var (
	ErrTooManySessions = errors.New("the gateway has as many sessions as it is configured for")
	ErrTooManyStreams  = errors.New("the gateway has as many streams as it is configured for")
	ErrTooManyViewers  = errors.New("the stream has as many viewers as it is configured for")
	ErrNodeFull        = errors.New("the gateway has as many viewers as it is configured for")
	ErrBusy            = errors.New("too many offers are being negotiated at once")
	ErrRateLimited     = errors.New("too many requests from this address")
)

// Limits bound what strangers can make the gateway hold. Zero means no
// limit for every field.
type Limits struct {
	// MaxSessions caps live WHIP plus WHEP sessions.
	MaxSessions int
	// MaxStreams caps the streams a WHIP POST may create; publishing to an
	// existing stream (a reconnect) is always allowed.
	MaxStreams int
	// MaxViewers caps live WHEP sessions of all streams together.
	MaxViewers int
	// MaxViewersPerStream caps live WHEP sessions of one stream.
	MaxViewersPerStream int
	// MaxPendingOffers caps POSTs negotiating at once (ICE gathering, DTLS
	// and SRTP set-up are the expensive part). A POST waits up to
	// OfferQueueWait for a slot, then gets 503.
	MaxPendingOffers int
	OfferQueueWait   time.Duration
	// Rate and Burst limit POST, PATCH and DELETE per client address (a
	// token bucket per IPv4 address or IPv6 /64); 429 beyond.
	Rate  float64
	Burst int
	// RateExempt addresses are never rate limited (a reverse proxy on the
	// same host, the load tool on loopback).
	RateExempt []netip.Prefix
	// MaxTrackedClients bounds the rate limiter's memory; idle clients are
	// forgotten first.
	MaxTrackedClients int
	// StreamCount and HasStream report the registry's streams, for
	// MaxStreams; nil disables that limit.
	StreamCount func() int
	HasStream   func(name string) bool
}

const (
	defaultOfferQueueWait    = 2 * time.Second
	defaultMaxTrackedClients = 16384
	// clientIdle: a client silent this long has a full bucket again, so
	// forgetting it changes nothing.
	clientIdle = time.Minute
)

// limiter holds the counters behind Limits.
type limiter struct {
	cfg     Limits
	pending chan struct{} // semaphore of MaxPendingOffers; nil: unlimited

	mu       sync.Mutex
	sessions int            // live or being negotiated
	viewers  map[string]int // live or being negotiated WHEP sessions per stream
	allView  int            // the sum of viewers
	clients  map[netip.Prefix]*client
}

type client struct {
	bucket *rate.Limiter
	seen   time.Time
}

func newLimiter(cfg Limits) *limiter {
	if cfg.OfferQueueWait <= 0 {
		cfg.OfferQueueWait = defaultOfferQueueWait
	}
	if cfg.MaxTrackedClients <= 0 {
		cfg.MaxTrackedClients = defaultMaxTrackedClients
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.Rate)))
	}
	l := &limiter{cfg: cfg, viewers: map[string]int{}, clients: map[netip.Prefix]*client{}}
	if cfg.MaxPendingOffers > 0 {
		l.pending = make(chan struct{}, cfg.MaxPendingOffers)
	}
	return l
}

// ticket is an admitted POST's place in the counters; release gives it back
// when the POST fails or, once it became a session, when the session ends.
type ticket struct {
	l       *limiter
	stream  string
	viewer  bool
	release sync.Once
}

// admit reserves a session (and, for WHEP, a viewer slot) or says which
// limit is reached. Reserving before negotiating keeps concurrent POSTs
// from overshooting the limits.
func (l *limiter) admit(prefix, stream string) (*ticket, error) {
	viewer := prefix == "whep"
	if !viewer && l.cfg.MaxStreams > 0 && l.cfg.StreamCount != nil && l.cfg.HasStream != nil &&
		!l.cfg.HasStream(stream) && l.cfg.StreamCount() >= l.cfg.MaxStreams {
		return nil, ErrTooManyStreams
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.MaxSessions > 0 && l.sessions >= l.cfg.MaxSessions {
		return nil, ErrTooManySessions
	}
	if viewer && l.cfg.MaxViewers > 0 && l.allView >= l.cfg.MaxViewers {
		return nil, ErrNodeFull
	}
	if viewer && l.cfg.MaxViewersPerStream > 0 && l.viewers[stream] >= l.cfg.MaxViewersPerStream {
		return nil, ErrTooManyViewers
	}
	l.sessions++
	if viewer {
		l.viewers[stream]++
		l.allView++
	}
	return &ticket{l: l, stream: stream, viewer: viewer}, nil
}

// done releases the ticket; idempotent.
func (t *ticket) done() {
	t.release.Do(func() {
		l := t.l
		l.mu.Lock()
		defer l.mu.Unlock()
		l.sessions--
		if t.viewer {
			l.allView--
			if l.viewers[t.stream]--; l.viewers[t.stream] <= 0 {
				delete(l.viewers, t.stream)
			}
		}
	})
}

// negotiating takes a pending-offer slot, waiting at most OfferQueueWait
// (or until ctx ends). The returned func gives the slot back.
func (l *limiter) negotiating(ctx context.Context) (func(), error) {
	if l.pending == nil {
		return func() {}, nil
	}
	select {
	case l.pending <- struct{}{}:
		return func() { <-l.pending }, nil
	default:
	}
	t := time.NewTimer(l.cfg.OfferQueueWait)
	defer t.Stop()
	select {
	case l.pending <- struct{}{}:
		return func() { <-l.pending }, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ErrBusy
	}
}

// allow takes one token from the client's bucket.
func (l *limiter) allow(addr netip.Addr, now time.Time) bool {
	if l.cfg.Rate <= 0 {
		return true
	}
	addr = addr.Unmap()
	for _, p := range l.cfg.RateExempt {
		if p.Contains(addr) {
			return true
		}
	}
	// One bucket per IPv6 /64: an end site gets a whole /64 and could
	// otherwise rotate addresses to dodge its bucket (RFC 6177).
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	key, _ := addr.Prefix(bits)
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[key]
	if c == nil {
		if len(l.clients) >= l.cfg.MaxTrackedClients {
			l.evictLocked(now)
		}
		c = &client{bucket: rate.NewLimiter(rate.Limit(l.cfg.Rate), l.cfg.Burst)}
		l.clients[key] = c
	}
	c.seen = now
	return c.bucket.AllowN(now, 1)
}

// evictLocked forgets idle clients, or, if none is idle (an address sweep),
// an arbitrary half of them: memory stays bounded either way.
func (l *limiter) evictLocked(now time.Time) {
	for k, c := range l.clients {
		if now.Sub(c.seen) > clientIdle {
			delete(l.clients, k)
		}
	}
	if len(l.clients) < l.cfg.MaxTrackedClients {
		return
	}
	n := len(l.clients) / 2
	for k := range l.clients {
		if n == 0 {
			break
		}
		delete(l.clients, k)
		n--
	}
}

// retryAfter is how long a limited client should wait for one token.
func (l *limiter) retryAfter() int {
	if l.cfg.Rate <= 0 {
		return 1
	}
	return max(1, int(math.Ceil(1/l.cfg.Rate)))
}

// rateLimit guards POST, PATCH and DELETE. The client is the TCP peer, not
// X-Forwarded-For, which any client can write.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
		addr, perr := netip.ParseAddr(host)
		if err != nil || perr != nil {
			return next(c) // not a TCP peer (an in-process test server)
		}
		if !s.lim.allow(addr, time.Now()) {
			return s.writeError(c, ErrRateLimited)
		}
		return next(c)
	}
}
