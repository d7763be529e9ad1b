package app

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/connlimit"
	"github.com/wishgate/wishgate/internal/metrics"
)

// protectSockets names every listening socket of the gateway to the media
// engine, so that no client can make it send ICE checks to its own HTTP,
// RTSP or pprof port (the media sockets it protects itself).
func (a *App) protectSockets() {
	addrs := []net.Addr{a.ln.Addr()}
	if a.rtsp != nil {
		addrs = append(addrs, a.rtsp.Addr())
		addrs = append(addrs, a.rtsp.UDPAddrs()...) // as bound; none if UDP is off
	}
	if a.rtsps != nil {
		addrs = append(addrs, a.rtsps.Addr())
	}
	if p := a.PprofAddr(); p != nil {
		addrs = append(addrs, p)
	}
	a.engine.Protect(addrs...)
}

// httpRefusal answers a connection refused for a connection limit: a
// complete HTTP response, so that a client sees why rather than a reset.
var httpRefusal = func() []byte {
	body := `{"type":"about:blank","title":"Service Unavailable","status":503,` +
		`"detail":"too many connections (max_connections, max_connections_per_ip)"}`
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n" +
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// connLimits are one listener's connection limits. Clients exempt from the
// rate limit (a reverse proxy on this host) are exempt from the per-client
// cap too, not from the total.
func connLimits(cfg config.Config, name string, idle time.Duration, log *slog.Logger) connlimit.Config {
	c := connlimit.Config{Name: name, MaxConns: cfg.MaxConnections, MaxPerClient: cfg.MaxConnectionsPerIP,
		IdleTimeout: idle, Logger: log}
	for _, p := range cfg.RateLimitExempt {
		if pfx, err := netip.ParsePrefix(p); err == nil { // Validate checked them
			c.Exempt = append(c.Exempt, pfx.Masked())
		}
	}
	return c
}

// serveHTTP serves the handler on the HTTP listener, within the connection
// limits and with a deadline for every phase of a connection: the request
// (headers and body) within http_read_timeout, its response within
// http_write_timeout (a streaming handler extends its own deadline with
// http.ResponseController), an idle keep-alive connection http_idle_timeout.
func (a *App) serveHTTP(cfg config.Config, h http.Handler) {
	warnFDLimit(cfg, a.log)
	lc := connLimits(cfg, "http", 0, a.log)
	// Written through the accepted connection: over a TLS listener it is
	// sent after the handshake, like any response.
	lc.Refusal = httpRefusal
	var ln net.Listener
	if a.tls != nil {
		// TLS above the limits, so that net/http sees its *tls.Conn
		// (HTTP/2, Request.TLS); a refused connection gets its 503 over
		// TLS from the limiter.
		lc.Wrap = func(c net.Conn) net.Conn { return tls.Server(c, a.tls) }
	}
	a.httpConns = connlimit.New(a.ln, lc)
	ln = a.httpConns
	if a.tls != nil {
		ln = tls.NewListener(a.httpConns, a.tls)
	}
	a.http = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.HTTPReadTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
	}
	a.serveDone = make(chan error, 1)
	go func() { a.serveDone <- a.http.Serve(ln) }()
}

// metricListeners are the connection-limited listeners.
func (a *App) metricListeners() []metrics.Listener {
	out := []metrics.Listener{a.httpConns}
	for _, s := range []*bridge.Server{a.rtsp, a.rtsps} {
		if s != nil {
			out = append(out, s.Conns())
		}
	}
	return out
}
