package stats

import (
	"strconv"
	"strings"

	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// Totals are counts since the gateway started, across streams and sessions
// that have since gone. Each figure only grows.
type Totals struct {
	// By track kind ("video", "audio").
	BytesIn, PacketsIn map[string]uint64
	Keyframes          uint64
	KeyframeRequests   uint64
	// By reader protocol (streams.SessionKind.Protocol: "whep", "rtsp",
	// "relay"). Bytes are known for WHEP only.
	BytesOut, PacketsOut map[string]uint64
	// Packets a reader did not get because its queue was full, and packets
	// skipped while it waited for a keyframe.
	DroppedQueueFull, SkippedKeyframeWait uint64
	// Packets from publishers (WHIP, RTSP) that never reached their track,
	// by reason (streams.IngestDrop).
	IngestDropped streams.IngestDrops
}

// counter accumulates one kind of total over many entities (tracks,
// subscribers, sessions), each identified by a key: the entity's last
// reading counts while it lives, and is retired into the base when it goes
// or its counter restarts. What an entity counted between its last sample
// and its end is lost; with a one-second interval that is at most a second.
type counter struct {
	base uint64
	last map[string]uint64
	seen map[string]bool
}

func newCounter() *counter { return &counter{last: map[string]uint64{}, seen: map[string]bool{}} }

func (c *counter) observe(key string, v uint64) {
	if prev, ok := c.last[key]; ok && v < prev {
		c.base += prev // restarted: a new entity under an old key
	}
	c.last[key] = v
	c.seen[key] = true
}

// sweep retires the entities not observed since the last sweep.
func (c *counter) sweep() {
	for k, v := range c.last {
		if !c.seen[k] {
			c.base += v
			delete(c.last, k)
		}
	}
	clear(c.seen)
}

func (c *counter) value() uint64 {
	v := c.base
	for _, x := range c.last {
		v += x
	}
	return v
}

type totals struct {
	c map[string]*counter // by metric name and label
}

func newTotals() totals { return totals{c: map[string]*counter{}} }

func (t *totals) get(name string) *counter {
	c := t.c[name]
	if c == nil {
		c = newCounter()
		t.c[name] = c
	}
	return c
}

func (t *totals) update(infos []streams.StreamInfo, sess []signaling.SessionInfo) {
	for _, info := range infos {
		for _, tr := range info.Tracks {
			k := info.Name + "/" + strconv.Itoa(tr.Index) + "/" + tr.Kind.String()
			kind := tr.Kind.String()
			t.get("bytes_in/"+kind).observe(k, tr.Bytes)
			t.get("packets_in/"+kind).observe(k, tr.Packets)
			t.get("keyframes").observe(k, tr.Keyframes)
			t.get("keyframe_requests").observe(k, tr.KeyframeRequests)
			t.get("ingest_malformed").observe(k, tr.Dropped.Malformed)
			t.get("ingest_unsupported").observe(k, tr.Dropped.Unsupported)
			t.get("ingest_oversized").observe(k, tr.Dropped.Oversized)
		}
		for _, sub := range info.Subscribers {
			k := info.Name + "/" + sub.Kind.String() + "/" + sub.SessionID + "/" + strconv.FormatInt(sub.Since.UnixNano(), 36)
			if sub.Kind != streams.SessionWHEP { // WHEP's come from its sessions, with bytes
				t.get("packets_out/"+sub.Kind.Protocol()).observe(k, sub.Sent)
			}
			t.get("dropped").observe(k, sub.Dropped)
			t.get("skipped").observe(k, sub.Skipped)
		}
	}
	for _, s := range sess {
		if s.Stats != nil && s.Kind == streams.SessionWHEP {
			t.get("bytes_out/whep").observe(s.ID, s.Stats.BytesSent)
			t.get("packets_out/whep").observe(s.ID, s.Stats.PacketsSent)
		}
	}
	for _, c := range t.c {
		c.sweep()
	}
}

func (t *totals) snapshot() Totals {
	out := Totals{
		BytesIn: map[string]uint64{}, PacketsIn: map[string]uint64{},
		BytesOut: map[string]uint64{}, PacketsOut: map[string]uint64{},
	}
	for name, c := range t.c {
		v := c.value()
		switch metric, label, _ := strings.Cut(name, "/"); metric {
		case "bytes_in":
			out.BytesIn[label] = v
		case "packets_in":
			out.PacketsIn[label] = v
		case "bytes_out":
			out.BytesOut[label] = v
		case "packets_out":
			out.PacketsOut[label] = v
		case "keyframes":
			out.Keyframes = v
		case "keyframe_requests":
			out.KeyframeRequests = v
		case "dropped":
			out.DroppedQueueFull = v
		case "skipped":
			out.SkippedKeyframeWait = v
		case "ingest_malformed":
			out.IngestDropped.Malformed = v
		case "ingest_unsupported":
			out.IngestDropped.Unsupported = v
		case "ingest_oversized":
			out.IngestDropped.Oversized = v
		}
	}
	return out
}
