package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wishgate/wishgate/streams"
)

// collector turns the registry's snapshots and the sampler's totals into
// metrics at scrape time.
type collector struct {
	cfg Config

	streams, sessions, sources         *prometheus.Desc
	bytesIn, packetsIn                 *prometheus.Desc
	bytesOut, packetsOut               *prometheus.Desc
	drops, keyframes, keyframeRequests *prometheus.Desc
	reconnects                         *prometheus.Desc
}

func newCollector(cfg Config) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("wishgate_"+name, help, labels, nil)
	}
	return &collector{
		cfg:              cfg,
		streams:          d("streams", "Streams by state.", "state"),
		sessions:         d("sessions", "Live sessions by kind (whip, whep, rtsp-publish, rtsp-read, rtsp-source, relay, relay-read).", "kind"),
		sources:          d("rtsp_sources", "Configured RTSP camera sources by state.", "state"),
		bytesIn:          d("ingest_bytes_total", "Media payload bytes received from publishers, by track kind.", "kind"),
		packetsIn:        d("ingest_packets_total", "RTP packets received from publishers, by track kind.", "kind"),
		bytesOut:         d("egress_bytes_total", "Media payload bytes sent to readers (WHEP only), by protocol.", "protocol"),
		packetsOut:       d("egress_packets_total", "RTP packets sent to readers, by protocol (whep, rtsp, relay: other nodes of the cluster).", "protocol"),
		drops:            d("dropped_packets_total", "Packets dropped: queue_full (a reader fell behind), keyframe_wait (skipped until a reader's next keyframe); from publishers: malformed_rtp (unparsable, unnegotiated payload type, or inconsistent payload structure), unsupported_rtp (an RTSP packetization not convertible for WebRTC), oversized_rtp (larger than a packet buffer).", "reason"),
		keyframes:        d("keyframes_total", "Keyframe packets received from publishers."),
		keyframeRequests: d("keyframe_requests_total", "Keyframe requests (PLI) sent to publishers after throttling."),
		reconnects:       d("rtsp_source_reconnects_total", "Reconnect attempts to RTSP cameras."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.streams, c.sessions, c.sources, c.bytesIn, c.packetsIn,
		c.bytesOut, c.packetsOut, c.drops, c.keyframes, c.keyframeRequests, c.reconnects} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	count := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}

	states := map[streams.State]int{streams.StateLive: 0, streams.StateWaiting: 0}
	// Every kind is exported, so a dashboard sees zeros rather than gaps.
	kinds := map[streams.SessionKind]int{}
	for _, k := range streams.SessionKinds() {
		kinds[k] = 0
	}
	for _, info := range c.cfg.Registry.List() {
		states[info.State]++
		if p := info.Publisher; p != nil {
			kinds[p.Kind]++
		}
		for _, sub := range info.Subscribers {
			kinds[sub.Kind]++
		}
	}
	for st, n := range states {
		gauge(c.streams, n, string(st))
	}
	for k, n := range kinds {
		gauge(c.sessions, n, k.String())
	}

	if c.cfg.Sources != nil {
		byState := map[string]int{"idle": 0, "connecting": 0, "playing": 0, "retrying": 0}
		for _, s := range c.cfg.Sources.List() {
			if _, ok := byState[s.State]; ok {
				byState[s.State]++
			}
		}
		for st, n := range byState {
			gauge(c.sources, n, st)
		}
		if r, ok := c.cfg.Sources.(interface{ Reconnects() uint64 }); ok {
			count(c.reconnects, r.Reconnects())
		}
	}

	// Read the counters now, so a scrape sees current values.
	c.cfg.Sampler.Refresh()
	t := c.cfg.Sampler.Totals()
	for _, kind := range []string{"video", "audio"} {
		count(c.bytesIn, t.BytesIn[kind], kind)
		count(c.packetsIn, t.PacketsIn[kind], kind)
	}
	count(c.bytesOut, t.BytesOut["whep"], "whep")
	for _, p := range []string{"whep", "rtsp", "relay"} {
		count(c.packetsOut, t.PacketsOut[p], p)
	}
	count(c.drops, t.DroppedQueueFull, "queue_full")
	count(c.drops, t.SkippedKeyframeWait, "keyframe_wait")
	count(c.drops, t.IngestDropped.Malformed, "malformed_rtp")
	count(c.drops, t.IngestDropped.Unsupported, "unsupported_rtp")
	count(c.drops, t.IngestDropped.Oversized, "oversized_rtp")
	count(c.keyframes, t.Keyframes)
	count(c.keyframeRequests, t.KeyframeRequests)
}
