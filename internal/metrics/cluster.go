package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wishgate/wishgate/internal/cluster"
)

// Cluster is the gateway's cluster membership (*cluster.Node).
type Cluster interface {
	Stats() cluster.Stats
}

// clusterCollector exports the relays and the Redis calls.
type clusterCollector struct {
	c                                  Cluster
	relays, relayStarts, relayBytes    *prometheus.Desc
	redisErrors, redisUp, redisLatency *prometheus.Desc
}

func newClusterCollector(c Cluster) *clusterCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("wishgate_cluster_"+name, help, nil, nil)
	}
	return &clusterCollector{c: c,
		relays:       d("relays", "Streams this node pulls from other nodes now."),
		relayStarts:  d("relay_starts_total", "Relay sessions this node started (one per stream and owner)."),
		relayBytes:   d("relay_bytes_total", "RTP bytes this node received through relays."),
		redisErrors:  d("redis_errors_total", "Redis calls that failed or timed out."),
		redisUp:      d("redis_up", "1 when the last Redis call succeeded."),
		redisLatency: d("redis_latency_seconds", "Time of each Redis call."),
	}
}

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.relays, c.relayStarts, c.relayBytes, c.redisErrors, c.redisUp, c.redisLatency} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.c.Stats()
	up := 0.0
	if st.RedisUp {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.relays, prometheus.GaugeValue, float64(st.Relays))
	ch <- prometheus.MustNewConstMetric(c.relayStarts, prometheus.CounterValue, float64(st.RelayStarts))
	ch <- prometheus.MustNewConstMetric(c.relayBytes, prometheus.CounterValue, float64(st.RelayBytes))
	ch <- prometheus.MustNewConstMetric(c.redisErrors, prometheus.CounterValue, float64(st.RedisErrors))
	ch <- prometheus.MustNewConstMetric(c.redisUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstHistogram(c.redisLatency, st.RedisCalls, st.RedisLatencySum, st.RedisLatency)
}
