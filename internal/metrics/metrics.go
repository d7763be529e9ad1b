// Package metrics exposes the gateway on /metrics for Prometheus. It owns a
// private prometheus.Registry (nothing is registered globally) and reads
// the counters the gateway keeps anyway when scraped: the packet path does
// no extra work for it. Labels are bounded: no stream or session names.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/stats"
	"github.com/wishgate/wishgate/streams"
)

// Sources is the RTSP camera set (*bridge.Sources). If it also has a
// Reconnects() uint64 method, reconnect attempts are exported.
type Sources interface {
	List() []bridge.SourceStatus
}

// Config wires the metrics to the gateway.
type Config struct {
	Registry *streams.Registry
	Sampler  *stats.Sampler
	Sources  Sources // optional
	Cluster  Cluster // optional: relays and Redis (wishgate_cluster_*)
	// CandidateDrops, if set, counts the remote ICE candidates dropped, by
	// reason (rtc.Engine.CandidateDrops).
	CandidateDrops func() map[string]uint64
	// Listeners, if set, are the connection-limited listeners.
	Listeners func() []Listener
}

// Metrics is the gateway's Prometheus registry and the few metrics that are
// events rather than counters kept elsewhere.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	ttff     prometheus.Histogram
}

// New builds the registry.
func New(cfg Config) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wishgate_signaling_requests_total",
			Help: "WHIP and WHEP HTTP requests by protocol, method and status code.",
		}, []string{"protocol", "method", "code"}),
		ttff: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wishgate_viewer_time_to_first_frame_seconds",
			Help:    "Time from a WHEP viewer's offer to the first video packet sent to it.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16},
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.ttff,
		newCollector(cfg),
		newExposureCollector(cfg),
	)
	if cfg.Cluster != nil {
		m.reg.MustRegister(newClusterCollector(cfg.Cluster))
	}
	return m
}

// Registry is the private registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Mount serves /metrics on e.
func (m *Metrics) Mount(e *echo.Echo) {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	e.GET("/metrics", echo.WrapHandler(h))
}

// ObserveFirstFrame records one viewer's time to first frame
// (whep.Handler.OnFirstFrame).
func (m *Metrics) ObserveFirstFrame(d time.Duration) { m.ttff.Observe(d.Seconds()) }

// Middleware counts the WHIP/WHEP requests by method and final status. It
// must run after routing (echo's Use), so that c.Path() is the route.
func (m *Metrics) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		proto := protocolOf(c.Path())
		if proto == "" {
			return next(c)
		}
		err := next(c)
		code := c.Response().Status
		if err != nil {
			// Not yet written: echo's error handler will send this code.
			code = http.StatusInternalServerError
			if he, ok := err.(*echo.HTTPError); ok {
				code = he.Code
			}
		}
		m.requests.WithLabelValues(proto, methodLabel(c.Request().Method), strconv.Itoa(code)).Inc()
		return err
	}
}

// protocolOf names the signaling protocol of a route, "" for other routes.
func protocolOf(route string) string {
	switch {
	case len(route) >= 6 && route[:6] == "/whip/":
		return "whip"
	case len(route) >= 6 && route[:6] == "/whep/":
		return "whep"
	}
	return ""
}

// methodLabel bounds the method label: a client can send any token.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
