package app

import (
	"errors"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/api"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/metrics"
	"github.com/wishgate/wishgate/internal/stats"
)

// ops are the operator's parts of the gateway: the control API, health and
// readiness, Prometheus metrics and the optional pprof listener.
type ops struct {
	sampler *stats.Sampler
	metrics *metrics.Metrics
	pprof   *pprofServer // nil unless pprof_addr is set
	echo    *echo.Echo   // for Routes
	ready   atomic.Bool  // every listener bound, not closing
}

// startOps mounts the API, /metrics and the health routes on e, and starts
// the pprof listener when configured. Call it after the WHIP/WHEP handlers
// exist. sources (the RTSP cameras) and rtspAddr may be nil.
func (a *App) startOps(cfg config.Config, e *echo.Echo, sources *bridge.Sources, rtspAddr func() net.Addr) (*api.API, error) {
	a.ops.echo = e
	a.ops.sampler = stats.New(stats.Config{Registry: a.Registry, Sessions: a.edge})
	mcfg := metrics.Config{Registry: a.Registry, Sampler: a.ops.sampler, CandidateDrops: a.engine.CandidateDrops,
		Listeners: a.metricListeners}
	acfg := api.Config{
		Registry: a.Registry, Sessions: a.edge, Sampler: a.ops.sampler,
		AdminToken: cfg.AdminToken, AllowedHosts: cfg.APIAllowedHosts, Authorizer: a.authz, Ready: a.readiness, RTSPAddr: rtspAddr, RTSPSAddr: a.RTSPSAddr, Logger: a.log,
	}
	if sources != nil { // not a typed nil in an interface
		mcfg.Sources, acfg.Sources = sources, a.srcState
	}
	if n := a.cluster.node; n != nil {
		mcfg.Cluster, acfg.Cluster = n, n
	}
	a.ops.metrics = metrics.New(mcfg)
	a.whep.OnFirstFrame = a.ops.metrics.ObserveFirstFrame
	e.Use(a.ops.metrics.Middleware)
	a.ops.metrics.Mount(e)
	ctl := api.New(acfg)
	ctl.Mount(e)
	if cfg.PprofAddr != "" {
		p, err := startPprof(cfg.PprofAddr, a.log)
		if err != nil {
			return nil, err // stopOps (Close) stops the sampler
		}
		a.ops.pprof = p
	}
	return ctl, nil
}

// stopOps stops what startOps started. Idempotent.
func (a *App) stopOps() {
	a.ops.ready.Store(false)
	if a.ops.pprof != nil {
		a.ops.pprof.Close()
	}
	if a.ops.sampler != nil {
		a.ops.sampler.Close()
	}
}

// readiness is /readyz: nil once New has bound every listener, until Close.
func (a *App) readiness() error {
	if !a.ops.ready.Load() {
		return errors.New("listeners are not bound (starting or shutting down)")
	}
	return nil
}

// PprofAddr is the bound pprof address, nil when pprof is off.
func (a *App) PprofAddr() net.Addr {
	if a.ops.pprof == nil {
		return nil
	}
	return a.ops.pprof.ln.Addr()
}

// Routes lists every route registered on the HTTP listener (the OpenAPI
// test compares them with openapi.yaml).
func (a *App) Routes() []*echo.Route { return a.ops.echo.Routes() }

// Handler is the HTTP listener's handler, for serving requests in memory
// (tests that need a peer address loopback cannot give).
func (a *App) Handler() http.Handler { return a.ops.echo }
