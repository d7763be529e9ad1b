package metrics

import "github.com/prometheus/client_golang/prometheus"

// exposureCollector exports what the gateway refused a stranger, read from
// the components' own counters at scrape time.
type exposureCollector struct {
	cfg        Config
	candidates *prometheus.Desc
}

func newExposureCollector(cfg Config) *exposureCollector {
	return &exposureCollector{
		cfg: cfg,
		candidates: prometheus.NewDesc("wishgate_ice_remote_candidates_dropped_total",
			"Remote ICE candidates (offered or trickled) never given to ICE, by reason: unsupported (TCP, RTCP component, mDNS name, unparsable), "+
				"unspecified, multicast, broadcast, own_socket, denied (ice_remote_networks), link_local, loopback, metadata, duplicate, over_cap.",
			[]string{"reason"}, nil),
	}
}

func (c *exposureCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.candidates
}

func (c *exposureCollector) Collect(ch chan<- prometheus.Metric) {
	if c.cfg.CandidateDrops != nil {
		for reason, n := range c.cfg.CandidateDrops() {
			ch <- prometheus.MustNewConstMetric(c.candidates, prometheus.CounterValue, float64(n), reason)
		}
	}
}
