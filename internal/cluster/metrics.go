package cluster

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// counters are the node's own numbers for the metrics.
type counters struct {
	relayBytes  atomic.Uint64
	relayStarts atomic.Uint64

	mu       sync.Mutex
	conflict bool
}

// idConflict logs a node id conflict once per change.
func (c *counters) idConflict(log *slog.Logger, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if (err != nil) == c.conflict {
		return
	}
	c.conflict = err != nil
	if err != nil {
		log.Error("another running node uses this node's id: fix cluster_node_id", "error", err)
	}
}

// latencyBuckets are the upper bounds (seconds) of the Redis latency
// histogram.
var latencyBuckets = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}

// latency is a fixed-bucket histogram of Redis call times, lock-free.
type latency struct {
	buckets [len(latencyBuckets)]atomic.Uint64
	count   atomic.Uint64
	sumNano atomic.Uint64
}

func (l *latency) observe(d time.Duration) {
	s := d.Seconds()
	for i, b := range latencyBuckets {
		if s <= b {
			l.buckets[i].Add(1)
			break
		}
	}
	l.count.Add(1)
	l.sumNano.Add(uint64(d))
}

// Stats are the cluster's numbers for /metrics.
type Stats struct {
	Relays      int    // streams pulled from other nodes now
	RelayStarts uint64 // relay sessions started since start
	RelayBytes  uint64 // RTP bytes received by relays since start
	RedisErrors uint64 // failed Redis calls since start
	RedisUp     bool
	// Redis call latency: cumulative counts per upper bound (seconds),
	// total count and sum, as a Prometheus histogram has them.
	RedisLatency    map[float64]uint64
	RedisCalls      uint64
	RedisLatencySum float64
}

// Stats reports the node's counters.
func (n *Node) Stats() Stats {
	st := Stats{Relays: n.relays.count(), RelayStarts: n.metrics.relayStarts.Load(),
		RelayBytes: n.metrics.relayBytes.Load(), RedisErrors: n.st.errs.Load(), RedisUp: n.st.up.Load(),
		RedisLatency: map[float64]uint64{}}
	var cum uint64
	for i, b := range latencyBuckets {
		cum += n.st.lat.buckets[i].Load()
		st.RedisLatency[b] = cum
	}
	st.RedisCalls = n.st.lat.count.Load()
	st.RedisLatencySum = time.Duration(n.st.lat.sumNano.Load()).Seconds()
	return st
}
