// Package connlimit bounds the TCP connections strangers can hold open on a
// listener: in total, per client address, and (optionally) how long a
// connection may sit without sending anything. Refused connections are
// answered and closed at once, without a goroutine or a file descriptor
// outliving a short, bounded farewell.
package connlimit

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Config tunes a Listener. Zero values disable each bound.
type Config struct {
	// Name identifies the listener in logs and metrics ("http", "rtsp").
	Name string
	// MaxConns caps the connections open at once.
	MaxConns int
	// MaxPerClient caps the connections of one client: an IPv4 address or
	// an IPv6 /64 (an end site's usual allocation, RFC 6177, which it
	// could otherwise rotate through).
	MaxPerClient int
	// Exempt clients are not subject to MaxPerClient (a reverse proxy on
	// the same host carries everyone's connections).
	Exempt []netip.Prefix
	// IdleTimeout, if set, closes a connection that sends nothing for this
	// long while it is not marked busy (Conn.SetBusy).
	IdleTimeout time.Duration
	// Refusal is written to a refused connection before it is closed
	// (an HTTP 503, say); nil closes it without a word.
	Refusal []byte
	// Wrap, if set, is the layer the Refusal is written through when the
	// server speaks it above this listener (a TLS server: admitted
	// connections get their TLS from the server, which must see its own
	// *tls.Conn; a refused one from here).
	Wrap   func(net.Conn) net.Conn
	Logger *slog.Logger
}

// Refusals count refused connections by reason.
type Refusals struct {
	Total, PerClient uint64
}

// farewells bounds the refused connections being answered at once; past
// it, refused connections are closed without the answer.
const farewells = 16

// farewellTime bounds one refusal's write and drain.
const farewellTime = time.Second

// logEvery spaces the warnings about refused connections.
const logEvery = 10 * time.Second

// Listener is a net.Listener that enforces Config.
type Listener struct {
	net.Listener
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	open    int
	clients map[netip.Prefix]int
	lastLog time.Time

	total, perClient            atomic.Uint64
	readTimeouts, writeTimeouts atomic.Uint64 // deadline.go
	bye                         chan struct{} // farewell slots
	wg                          sync.WaitGroup
}

// New wraps ln.
func New(ln net.Listener, cfg Config) *Listener {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Listener{Listener: ln, cfg: cfg, log: cfg.Logger.With("component", "connlimit", "listener", cfg.Name),
		clients: map[netip.Prefix]int{}, bye: make(chan struct{}, farewells)}
}

// Accept returns the next connection within the limits; connections past
// them are refused here and never reach the server.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, keyed := clientKey(c.RemoteAddr())
		if reason := l.admit(key, keyed); reason != "" {
			l.refuse(c, reason)
			continue
		}
		return newConn(c, l, key, keyed), nil
	}
}

// Close stops accepting and waits for the refusals being answered.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.wg.Wait()
	return err
}

// Open is the number of connections open now, with the places held (Hold).
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Refused counts the connections refused so far.
func (l *Listener) Refused() Refusals {
	return Refusals{Total: l.total.Load(), PerClient: l.perClient.Load()}
}

// Name is Config.Name.
func (l *Listener) Name() string { return l.cfg.Name }

func clientKey(a net.Addr) (netip.Prefix, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

func (l *Listener) exempt(key netip.Prefix) bool {
	for _, p := range l.cfg.Exempt {
		if p.Contains(key.Addr()) {
			return true
		}
	}
	return false
}

// admit counts a new connection in, or says why not.
func (l *Listener) admit(key netip.Prefix, keyed bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.MaxConns > 0 && l.open >= l.cfg.MaxConns {
		l.total.Add(1)
		return "total"
	}
	if keyed && l.cfg.MaxPerClient > 0 && l.clients[key] >= l.cfg.MaxPerClient && !l.exempt(key) {
		l.perClient.Add(1)
		return "per_client"
	}
	l.open++
	if keyed {
		l.clients[key]++
	}
	return ""
}

func (l *Listener) release(key netip.Prefix, keyed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if keyed {
		if l.clients[key]--; l.clients[key] <= 0 {
			delete(l.clients, key)
		}
	}
}

// Hold takes a place for the client at addr as if it opened a connection,
// for something of its own that outlives its connections: an RTSP session
// over UDP, set up on a connection the client may close at once. Past
// either cap it reports false and counts the refusal. release gives the
// place back; calling it again does nothing.
func (l *Listener) Hold(addr net.Addr) (release func(), ok bool) {
	key, keyed := clientKey(addr)
	if reason := l.admit(key, keyed); reason != "" {
		l.warnRefusal(reason, addr)
		return nil, false
	}
	var once sync.Once
	return func() { once.Do(func() { l.release(key, keyed) }) }, true
}

// warnRefusal logs a refusal, at most once per logEvery.
func (l *Listener) warnRefusal(reason string, remote net.Addr) {
	l.mu.Lock()
	now := time.Now()
	warn := now.Sub(l.lastLog) >= logEvery
	if warn {
		l.lastLog = now
	}
	l.mu.Unlock()
	if warn {
		r := l.Refused()
		l.log.Warn("refusing connections", "reason", reason, "remote", remote.String(),
			"max_connections", l.cfg.MaxConns, "max_connections_per_ip", l.cfg.MaxPerClient,
			"refused_total", r.Total, "refused_per_ip", r.PerClient)
	}
}

// refuse answers and closes c. The answer is written, then the client's
// request drained, so that closing does not reset the connection before the
// client read the answer; all bounded in time and in concurrent refusals.
func (l *Listener) refuse(c net.Conn, reason string) {
	l.warnRefusal(reason, c.RemoteAddr())
	if l.cfg.Refusal == nil {
		c.Close()
		return
	}
	select {
	case l.bye <- struct{}{}:
	default:
		c.Close() // too many farewells at once: no answer
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer func() { <-l.bye }()
		if l.cfg.Wrap != nil {
			c = l.cfg.Wrap(c)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(farewellTime))
		if _, err := c.Write(l.cfg.Refusal); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// Conn is an admitted connection; closing it gives its place back.
type Conn struct {
	net.Conn
	l     *Listener
	key   netip.Prefix
	keyed bool
	once  sync.Once
	busy  atomic.Int32
	// deadline.go
	readAbort, timedOut atomic.Bool
}

func newConn(c net.Conn, l *Listener, key netip.Prefix, keyed bool) *Conn {
	return &Conn{Conn: c, l: l, key: key, keyed: keyed}
}

// Read applies the idle timeout while the connection is not busy.
func (c *Conn) Read(p []byte) (int, error) {
	if d := c.l.cfg.IdleTimeout; d > 0 && c.busy.Load() == 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(d))
	}
	n, err := c.Conn.Read(p)
	c.readTimedOut(err)
	return n, err
}

// SetBusy marks the connection as carrying a session (an RTSP PLAY or
// RECORD) whose own timeouts apply, or, once the last session ended, as idle
// again: it then has IdleTimeout from now to send something. Becoming busy
// lifts the idle deadline the last Read set: without that, the request that
// started the session would still close the connection IdleTimeout later
// (an RTSP session over UDP, whose connection then carries nothing).
func (c *Conn) SetBusy(busy bool) {
	if busy {
		if c.busy.Add(1) == 1 && c.l.cfg.IdleTimeout > 0 {
			_ = c.Conn.SetReadDeadline(time.Time{})
		}
		return
	}
	if c.busy.Add(-1) <= 0 {
		c.busy.Store(0)
		if d := c.l.cfg.IdleTimeout; d > 0 {
			_ = c.Conn.SetReadDeadline(time.Now().Add(d))
		}
	}
}

// Close releases the connection's place, then closes it; idempotent. The
// place goes first: a client that sees the close and connects again at once
// (a reconnecting RTSP camera or player at its per-client cap) must find its
// place free, not race the release.
func (c *Conn) Close() error {
	c.once.Do(func() { c.l.release(c.key, c.keyed) })
	return c.Conn.Close()
}

// Unwrap finds the *Conn under c (a TLS connection, say), if any.
func Unwrap(c net.Conn) (*Conn, bool) {
	for range 4 {
		switch x := c.(type) {
		case *Conn:
			return x, true
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil, false
		}
	}
	return nil, false
}
