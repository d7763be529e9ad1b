package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wishgate/wishgate/internal/connlimit"
)

// exposureCollector exports what the gateway refused a stranger, read from
// the components' own counters at scrape time.
type exposureCollector struct {
	cfg                 Config
	candidates          *prometheus.Desc
	connections, refuse *prometheus.Desc
	timedOut            *prometheus.Desc
}

func newExposureCollector(cfg Config) *exposureCollector {
	return &exposureCollector{
		cfg: cfg,
		candidates: prometheus.NewDesc("wishgate_ice_remote_candidates_dropped_total",
			"Remote ICE candidates (offered or trickled) never given to ICE, by reason: unsupported (TCP, RTCP component, mDNS name, unparsable), "+
				"unspecified, multicast, broadcast, own_socket, denied (ice_remote_networks), link_local, loopback, metadata, duplicate, over_cap (an offer's past max_remote_candidates, a peer-reflexive one past twice it).",
			[]string{"reason"}, nil),
		connections: prometheus.NewDesc("wishgate_connections",
			"TCP connections open on a listener (http, rtsp, rtsps); for RTSP with the sessions over UDP, which hold a place each.", []string{"listener"}, nil),
		refuse: prometheus.NewDesc("wishgate_connections_refused_total",
			"TCP connections refused at accept, and RTSP sessions over UDP refused at SETUP: total (max_connections) or per_ip (max_connections_per_ip).",
			[]string{"listener", "reason"}, nil),
		timedOut: prometheus.NewDesc("wishgate_connections_timed_out_total",
			"TCP connections a deadline ended, by the direction that stalled: read (idle past http_idle_timeout or rtsp_idle_timeout, a request slower than http_read_timeout, an RTSP session past rtsp_read_timeout) or write (a response or RTSP data not taken within http_write_timeout or rtsp_write_timeout).",
			[]string{"listener", "direction"}, nil),
	}
}

func (c *exposureCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.candidates
	ch <- c.connections
	ch <- c.refuse
	ch <- c.timedOut
}

func (c *exposureCollector) Collect(ch chan<- prometheus.Metric) {
	if c.cfg.CandidateDrops != nil {
		for reason, n := range c.cfg.CandidateDrops() {
			ch <- prometheus.MustNewConstMetric(c.candidates, prometheus.CounterValue, float64(n), reason)
		}
	}
	if c.cfg.Listeners != nil {
		for _, l := range c.cfg.Listeners() {
			r := l.Refused()
			ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(l.Open()), l.Name())
			ch <- prometheus.MustNewConstMetric(c.refuse, prometheus.CounterValue, float64(r.Total), l.Name(), "total")
			ch <- prometheus.MustNewConstMetric(c.refuse, prometheus.CounterValue, float64(r.PerClient), l.Name(), "per_ip")
			to := l.TimedOut()
			ch <- prometheus.MustNewConstMetric(c.timedOut, prometheus.CounterValue, float64(to.Read), l.Name(), "read")
			ch <- prometheus.MustNewConstMetric(c.timedOut, prometheus.CounterValue, float64(to.Write), l.Name(), "write")
		}
	}
}

// Listener is a connection-limited listener (*connlimit.Listener).
type Listener interface {
	Name() string
	Open() int
	Refused() connlimit.Refusals
	TimedOut() connlimit.TimedOut
}
