// Package api is the control API under /api/v1 plus /healthz and /readyz:
// JSON views of the registry and its sessions, and the operator's
// levers (delete a stream, kick a session). It maps its own errors to HTTP
// statuses in one place (errors.go) with the problem+json shape of the
// WHIP/WHEP edge.
package api

import (
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate"

	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/internal/stats"
	"github.com/wishgate/wishgate/streams"
)

// Sessions is the WHIP/WHEP edge as the API sees it (*signaling.Server):
// the traffic counters of its sessions. The sessions themselves are listed
// and kicked through the registry.
type Sessions interface {
	Sessions() []signaling.SessionInfo
}

// Config wires the API to the gateway's components.
type Config struct {
	Registry *streams.Registry
	Sessions Sessions
	Sampler  *stats.Sampler
	// Sources, if set, enables /api/v1/sources (the RTSP bridge).
	Sources Sources
	// AdminToken guards every /api/v1 route. Empty, and no Authorizer that
	// covers admin: loopback clients only, asking for a loopback Host or
	// one of AllowedHosts.
	AdminToken   string
	AllowedHosts []string
	// Authorizer, if set, is asked for auth.ActionAdmin when a token is not
	// the admin token: JWT claims and the auth callback can grant admin.
	Authorizer AdminAuthorizer
	// Ready reports nil when every listener is bound, or why not (/readyz).
	Ready func() error
	// RTSPAddr and RTSPSAddr, if set and returning non-nil, add the RTSP
	// and RTSPS URLs to /api/v1/info.
	RTSPAddr  func() net.Addr
	RTSPSAddr func() net.Addr
	StartedAt time.Time
	// Cluster, if set, is this gateway's cluster membership
	// (/api/v1/cluster, origin_node in the stream listings).
	Cluster Cluster
	Logger  *slog.Logger
}

// API serves the control API. It starts no goroutines of its own.
type API struct {
	cfg   Config
	log   *slog.Logger
	admin adminCheck
	build BuildInfo
	spec  []byte
}

// named reads the stream name from the decoded path after prefix (a name
// sent with %2F for its slashes is the same name) and refuses an invalid
// one with 400 before h runs.
func (a *API) named(prefix string, h func(c echo.Context, name string) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		name := strings.TrimPrefix(c.Request().URL.Path, prefix)
		if err := streams.ValidName(name); err != nil {
			return a.writeError(c, err)
		}
		return h(c, name)
	}
}

// New builds the API.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Ready == nil {
		cfg.Ready = func() error { return nil }
	}
	if cfg.StartedAt.IsZero() {
		cfg.StartedAt = time.Now()
	}
	return &API{cfg: cfg, log: cfg.Logger.With("component", "api"), admin: newAdminCheck(cfg.AdminToken, cfg.Authorizer).withHosts(cfg.AllowedHosts), build: ReadBuildInfo(),
		spec: wishgate.OpenAPI()}
}

// Mount registers the routes on e.
func (a *API) Mount(e *echo.Echo) {
	e.GET("/healthz", a.healthz)
	e.HEAD("/healthz", a.healthz)
	e.GET("/readyz", a.readyz)
	e.HEAD("/readyz", a.readyz)
	e.GET("/api/openapi.yaml", a.openapi)

	g := e.Group("/api/v1", a.requireAdmin)
	g.GET("/streams", a.listStreams)
	// Stream names may contain '/' (site/cam1): a wildcard takes the rest
	// of the path (named).
	g.GET("/streams/*", a.named("/api/v1/streams/", a.getStream))
	g.DELETE("/streams/*", a.named("/api/v1/streams/", a.deleteStream))
	g.GET("/sessions", a.listSessions)
	g.DELETE("/sessions/:id", a.kickSession)
	g.GET("/info", a.info)
	g.GET("/cluster", a.getCluster)
	if a.cfg.Sources != nil {
		g.GET("/sources", a.listSources)
		g.GET("/sources/*", a.named("/api/v1/sources/", a.getSource))
		g.PUT("/sources/*", a.named("/api/v1/sources/", a.putSource))
		g.DELETE("/sources/*", a.named("/api/v1/sources/", a.deleteSource))
	}
}
