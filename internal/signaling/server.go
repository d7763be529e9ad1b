package signaling

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/streams"
)

// Resource is a live WHIP or WHEP session addressed by its resource URL.
type Resource interface {
	// Peer is the session's WebRTC peer, for PATCH.
	Peer() *rtc.Peer
	// Close ends the session (DELETE) and returns once it has ended.
	Close()
	// Done is closed when the session ended, for whatever reason.
	Done() <-chan struct{}
}

// OfferRequest is a validated POST.
type OfferRequest struct {
	Context    context.Context
	Stream     string
	Offer      *rtc.Offer
	SessionID  string // public id for logs and the API, never the secret
	RemoteAddr string
	UserAgent  string
	// Header is the POST's request header (read-only).
	Header http.Header
	// Query is the POST's URL query (read-only): WHEP's ?layer=.
	Query url.Values
}

// Endpoint turns an offer into an answer and a running session.
type Endpoint interface {
	Action() auth.Action
	// Kind is what the endpoint's sessions are in listings and metrics.
	Kind() streams.SessionKind
	Offer(req OfferRequest) (answer string, res Resource, err error)
}

// Checker authorises a token for an action on a stream.
type Checker interface {
	Check(a auth.Action, stream, token string) error
}

// ICEServer is a STUN/TURN server announced in Link headers (RFC 9725 §4.6).
type ICEServer struct {
	URL        string
	Username   string
	Credential string
}

// Config tunes the HTTP edge.
type Config struct {
	// MaxBodyBytes caps offers and sdpfrags (413 above it).
	MaxBodyBytes int64
	// StrictETag answers 428 to a PATCH without If-Match (RFC 9725
	// §4.3.1); off by default because several clients send none.
	StrictETag bool
	// RetryAfterSeconds goes with 409 (stream not live) and 503.
	RetryAfterSeconds int
	// OfferTimeout bounds answer creation, candidate gathering included.
	OfferTimeout time.Duration
	// Tombstone keeps the URL of a session that ended without a DELETE
	// answering DELETE with 200: OBS closes DTLS before it sends DELETE.
	// After an explicit DELETE the URL is gone: a second one is 404
	// (RFC 9725 §4.3.1).
	Tombstone    time.Duration
	ICEServers   []ICEServer
	AllowOrigins []string // CORS; empty or "*" means any
	// Links and Origins, if set, replace ICEServers and AllowOrigins and
	// are asked on every request: hot reload changes them, and TURN REST
	// credentials are minted per response (live.go).
	Links   func() []ICEServer
	Origins func() []string
	Auth    Checker
	Logger  *slog.Logger
	// Limits bound sessions, streams, viewers, concurrent negotiations and
	// each client's request rate (limits.go).
	Limits Limits
	// Overflow, if set, redirects WHEP POSTs this node has no room for to
	// another node of the cluster (overflow.go).
	Overflow Overflow
}

// Server holds every session resource of the HTTP edge.
type Server struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]*entry       // by secret
	sse      map[string]*eventStream // by id (sse.go)
	closing  bool
	quit     chan struct{}
	wg       sync.WaitGroup
	lim      *limiter
}

type entry struct {
	res    Resource
	stream string
	prefix string
	kind   streams.SessionKind
	ended  bool
	// deleted: a DELETE was answered 200; any later one is 404.
	deleted bool
	// public description for the control API (sessions.go)
	id     string
	remote string
	since  time.Time
}

// New creates the edge.
func New(cfg Config) *Server {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 128 << 10
	}
	if cfg.RetryAfterSeconds == 0 {
		cfg.RetryAfterSeconds = 2
	}
	if cfg.OfferTimeout == 0 {
		cfg.OfferTimeout = 5 * time.Second
	}
	if cfg.Tombstone == 0 {
		cfg.Tombstone = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.NewStatic(nil, nil)
	}
	return &Server{cfg: cfg, log: cfg.Logger.With("component", "signaling"), sessions: map[string]*entry{}, sse: map[string]*eventStream{}, quit: make(chan struct{}),
		lim: newLimiter(cfg.Limits)}
}

// add registers a new session; the ticket is released when it ends. It
// reports false, leaving res to the caller, if the server is closing: a
// POST that finished negotiating while Close ran must not outlive it.
func (s *Server) add(secret, prefix string, kind streams.SessionKind, stream string, res Resource, req OfferRequest, tk *ticket) bool {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return false
	}
	s.sessions[secret] = &entry{res: res, stream: stream, prefix: prefix, kind: kind,
		id: req.SessionID, remote: req.RemoteAddr, since: time.Now()}
	s.wg.Add(1) // under mu: Close's Wait comes after it sets closing
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		<-res.Done()
		tk.done()
		s.endEventStreams(secret)
		s.mu.Lock()
		if e := s.sessions[secret]; e != nil {
			e.ended = true
		}
		s.mu.Unlock()
		t := time.NewTimer(s.cfg.Tombstone)
		select {
		case <-t.C:
		case <-s.quit:
			t.Stop()
		}
		s.mu.Lock()
		delete(s.sessions, secret)
		s.mu.Unlock()
	}()
	return true
}

// claimDelete looks the session up for a DELETE and marks it deleted, so
// that of two DELETEs, concurrent or not, exactly one is answered 200.
func (s *Server) claimDelete(prefix, stream, secret string) (*entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sessions[secret]
	if e == nil || e.prefix != prefix || e.stream != stream || e.deleted {
		return nil, ErrNotFound
	}
	e.deleted = true
	return e, nil
}

func (s *Server) lookup(prefix, stream, secret string) (*entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.sessions[secret]
	if e == nil || e.prefix != prefix || e.stream != stream {
		return nil, ErrNotFound
	}
	return e, nil
}

// Count returns the number of sessions that have not ended.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.sessions {
		if !e.ended {
			n++
		}
	}
	return n
}

// Close refuses new sessions, ends every session and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.closing = true
	close(s.quit)
	var live []Resource
	for _, e := range s.sessions {
		if !e.ended {
			live = append(live, e.res)
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Close()
		}()
	}
	wg.Wait()
	s.wg.Wait()
}
