// Package app wires the gateway's components together. cmd/gateway only
// parses configuration and calls it; the end-to-end tests start it in-process.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/auth"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/connlimit"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/internal/tlscert"
	"github.com/wishgate/wishgate/streams"
	"github.com/wishgate/wishgate/web"
	"github.com/wishgate/wishgate/whep"
	"github.com/wishgate/wishgate/whip"
)

// App is a running gateway.
type App struct {
	Registry *streams.Registry

	log       *slog.Logger
	engine    *rtc.Engine
	edge      *signaling.Server
	whip      *whip.Handler
	whep      *whep.Handler
	ops       ops             // control API, metrics, pprof, readiness (ops.go)
	sources   *bridge.Sources // RTSP cameras
	srcState  *sourceState    // a.sources from the config file and the API, kept across restarts (sourcestate.go)
	rtsp      *bridge.Server  // nil when rtsp_addr is empty
	rtsps     *bridge.Server  // nil when rtsps_addr is empty
	self      *bridge.Self    // the gateway's credential for pulling its own streams
	http      *http.Server
	ln        net.Listener
	scheme    string              // "http", or "https" with tls_cert
	tls       *tls.Config         // HTTPS on ln (exposure.go); nil for plain HTTP
	httpConns *connlimit.Listener // a.ln within the connection limits (exposure.go)
	cluster   clusterParts        // cluster.go; empty on a single node
	serveDone chan error
	closeOnce sync.Once

	// Hot reload (reload.go): the settings that change live, read per
	// request through holder and authz.
	holder   *config.Holder
	authz    *auth.Swappable
	reloadMu sync.Mutex
}

// New builds and starts the gateway: listeners are bound when it returns.
// When a step fails, what the steps before it started is closed again.
func New(cfg config.Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{log: log, scheme: "http"}
	if err := a.start(cfg); err != nil {
		a.Close() // tolerates a partial start
		return nil, err
	}
	return a, nil
}

// start builds the components in order, each step assigning its part of
// a as soon as it exists, so that Close finds everything to stop.
func (a *App) start(cfg config.Config) error {
	log := a.log
	a.Registry = streams.NewRegistry(streams.Config{
		Replace:      streams.ReplacePolicy(cfg.Replace),
		HealthWindow: 2 * time.Second,
		GracePeriod:  cfg.GracePeriod,
		// 0 in the config turns the burst off; 0 in streams means default.
		StartBurstMaxAge:        orNegative(cfg.StartBurstMaxAge),
		StartBurstMaxBytes:      int(orNegative(time.Duration(cfg.StartBurstMaxBytes))),
		KeyframeRequestInterval: cfg.KeyframeRetry,
		Conversions:             conversions(cfg, log),
	})
	var err error
	if a.engine, err = rtc.NewEngine(engineConfig(cfg, log)); err != nil {
		return err
	}
	a.holder = config.NewHolder(cfg)
	chain := authChain(cfg, log)
	logAuth(log, chain)
	a.authz = auth.NewSwappable(chain)
	a.self = bridge.NewSelf()
	a.edge = signaling.New(signaling.Config{
		MaxBodyBytes: cfg.MaxBodyBytes,
		StrictETag:   cfg.StrictETag,
		Links:        func() []signaling.ICEServer { return iceLinks(a.holder.Load(), time.Now()) },
		Origins:      func() []string { return a.holder.Load().AllowOrigins },
		Auth:         a.authz,
		Logger:       log,
		Limits:       limits(cfg, a.Registry),
	})
	// Bound early: a cluster node advertises the port it got.
	if a.ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return fmt.Errorf("http-addr %q: %w", cfg.HTTPAddr, err)
	}
	if cfg.TLSCert != "" {
		certs, err := tlscert.New(cfg.TLSCert, cfg.TLSKey, log.With("component", "http"))
		if err != nil {
			return err
		}
		a.tls, a.scheme = certs.Config(), "https"
	}
	if err := a.joinCluster(cfg); err != nil {
		return err
	}
	scfg := bridge.SourcesConfig{
		Registry: a.Registry, Logger: log, CloseDelay: cfg.SourceCloseDelay,
		BackoffBase: cfg.SourceBackoffBase, BackoffMax: cfg.SourceBackoffMax, StallTimeout: cfg.SourceStallTimeout,
		Self: a.self,
	}
	demand := func(ctx context.Context, name string) error { return a.sources.Demand(ctx, name) }
	if n := a.cluster.node; n != nil {
		a.edge.SetOverflow(n)
		scfg.Arbiter, scfg.StandbyPoll = n, cfg.ClusterLeaseTTL/3
		demand = n.Demand
	}
	a.sources = bridge.NewSources(scfg)
	a.srcState = newSourceState(a.sources, cfg.SourcesStatePath(), log)
	a.whip = &whip.Handler{Engine: a.engine, Registry: a.Registry, Logger: log}
	a.whep = &whep.Handler{Engine: a.engine, Registry: a.Registry, Logger: log, Demand: demand}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Client addresses (logs, the API, the auth callback) are the TCP peer:
	// X-Forwarded-For and X-Real-IP are written by whoever sends the
	// request, so echo's default RealIP would let anyone pose as any address.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = signaling.EchoErrorHandler
	a.edge.Mount(e, "whip", a.whip)
	a.edge.Mount(e, "whep", a.whep)
	a.mountCluster(cfg, e)
	ctl, err := a.startOps(cfg, e, a.sources, a.RTSPAddr)
	if err != nil {
		return err
	}
	ctl.MountDiagnostics(e, a.engine, func() []string { return iceURLs(a.holder.Load()) })
	pages, err := web.New()
	if err != nil {
		return fmt.Errorf("web pages: %w", err)
	}
	pages.Mount(e)

	if err := a.startRTSP(cfg, a.authz, demand); err != nil {
		return err
	}

	a.protectSockets()
	a.serveHTTP(cfg, e)
	a.ops.ready.Store(true)
	a.logListening(log)
	return nil
}

// orNegative maps 0 ("off" in the config) to -1 ("off" in streams.Config).
func orNegative(v time.Duration) time.Duration {
	if v == 0 {
		return -1
	}
	return v
}

func hostPort(addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// HTTPAddr is the bound HTTP address.
func (a *App) HTTPAddr() net.Addr { return a.ln.Addr() }

// URL is the base URL clients on this machine can use.
func (a *App) URL() string { return a.scheme + "://" + hostPort(a.ln.Addr()) }

// startRTSP starts the RTSP server (unless rtsp_addr is empty) and the
// declared camera sources. On an error, what it started is left for
// stopRTSP (Close).
func (a *App) startRTSP(cfg config.Config, authz bridge.Checker, demand func(context.Context, string) error) error {
	if cfg.RTSPAddr != "" {
		sc := bridge.ServerConfig{
			Addr: cfg.RTSPAddr, UDPRTPAddr: cfg.RTSPUDPRTPAddr, UDPRTCPAddr: cfg.RTSPUDPRTCPAddr,
			Registry: a.Registry, Auth: authz, Demand: demand, Logger: a.log, Self: a.self,
			Conns: connLimits(cfg, "rtsp", cfg.RTSPIdleTimeout, a.log), ReadTimeout: cfg.RTSPReadTimeout, WriteTimeout: cfg.RTSPWriteTimeout,
			OwnSocket: a.engine.OwnSocket,
		}
		if cfg.RTSPMulticastRange != "" {
			sc.MulticastIPRange, sc.MulticastRTPPort, sc.MulticastRTCPPort = cfg.RTSPMulticastRange, cfg.RTSPMulticastRTP, cfg.RTSPMulticastRTCP
		}
		srv, err := bridge.NewServer(sc)
		if err != nil {
			return err
		}
		a.rtsp = srv
		udp, multicast := "off", "off"
		if u := srv.UDPAddrs(); len(u) == 2 {
			udp = u[0].String() + "," + u[1].String()
		}
		if cfg.RTSPMulticastRange != "" {
			multicast = fmt.Sprintf("%s ports %d,%d", cfg.RTSPMulticastRange, cfg.RTSPMulticastRTP, cfg.RTSPMulticastRTCP)
		}
		a.log.Info("rtsp listening", "rtsp", "rtsp://"+hostPort(srv.Addr())+"/{name}", "udp", udp, "multicast", multicast)
	}
	if tlsCfg, err := cfg.RTSPSTLS(); err != nil || tlsCfg != nil {
		var srv *bridge.Server
		if err == nil {
			srv, err = bridge.NewServer(bridge.ServerConfig{
				Addr: cfg.RTSPSAddr, TLSConfig: tlsCfg,
				Registry: a.Registry, Auth: authz, Demand: demand, Logger: a.log, Self: a.self,
				Conns: connLimits(cfg, "rtsps", cfg.RTSPIdleTimeout, a.log), ReadTimeout: cfg.RTSPReadTimeout, WriteTimeout: cfg.RTSPWriteTimeout,
			})
		}
		if err != nil {
			return fmt.Errorf("rtsps_addr: %w", err)
		}
		a.rtsps = srv
		a.log.Info("rtsps listening", "rtsps", "rtsps://"+hostPort(srv.Addr())+"/{name}")
	}
	list, err := cfg.SourceConfigs()
	if err != nil {
		return err
	}
	return a.srcState.start(list)
}

// stopRTSP closes the RTSP server and the camera sources, before the
// registry they read from and publish to.
func (a *App) stopRTSP() {
	if a.rtsp != nil {
		a.rtsp.Close()
	}
	if a.rtsps != nil {
		a.rtsps.Close()
	}
	if a.sources != nil {
		a.sources.Close()
	}
}

// RTSPAddr is the bound RTSP address, nil when RTSP is disabled.
func (a *App) RTSPAddr() net.Addr {
	if a.rtsp == nil {
		return nil
	}
	return a.rtsp.Addr()
}

// RTSPSAddr is the bound RTSPS address, nil when RTSPS is off.
func (a *App) RTSPSAddr() net.Addr {
	if a.rtsps == nil {
		return nil
	}
	return a.rtsps.Addr()
}

// Sources manages the RTSP camera sources (the control API adds and removes
// them at run time).
func (a *App) Sources() *bridge.Sources { return a.sources }

// UDPAddr is the bound WebRTC media address.
func (a *App) UDPAddr() *net.UDPAddr { return a.engine.UDPAddr() }

// Close shuts down gracefully: stop accepting requests, finish in-flight
// ones, close every session (each peer gets a DTLS close), release sockets.
// It stops whatever New got as far as starting, so New uses it to undo a
// start that failed part way.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		a.ops.ready.Store(false) // /readyz fails from the first moment of shutdown
		err = a.stopHTTP()
		// Sessions end with "server shutting down" (each peer gets a DTLS
		// close), then the edge forgets their URLs.
		if a.whip != nil {
			a.whip.Close()
			a.whep.Close()
		}
		if a.edge != nil {
			a.edge.Close()
		}
		a.closeRelayEndpoint()
		a.stopRTSP()
		a.leaveCluster()
		if a.Registry != nil {
			a.Registry.Close()
		}
		a.stopOps()
		if a.engine != nil {
			err = errors.Join(err, a.engine.Close())
		}
		if a.authz != nil {
			a.authz.Close()
		}
		a.log.Info("wishgate stopped")
	})
	return err
}

// stopHTTP finishes the in-flight requests and closes the HTTP listener
// (only closes it when serving had not started).
func (a *App) stopHTTP() error {
	if a.http == nil {
		if a.ln != nil {
			a.ln.Close()
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := a.http.Shutdown(ctx)
	if serr := <-a.serveDone; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
