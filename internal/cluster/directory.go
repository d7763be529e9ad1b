package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wishgate/wishgate/streams"
)

// nodeRecord is a node's heartbeat: who it is, where to reach it, its load.
type nodeRecord struct {
	ID         string    `json:"id"`
	Instance   string    `json:"instance"`
	URL        string    `json:"url"`
	Version    string    `json:"version"`
	Started    time.Time `json:"started"`
	LastSeen   time.Time `json:"last_seen"`
	Streams    int       `json:"streams"` // streams it publishes (owns)
	Viewers    int       `json:"viewers"` // its readers, relays to other nodes not counted
	Relays     int       `json:"relays"`  // streams it pulls from other nodes
	Sessions   int       `json:"sessions"`
	CPUPercent float64   `json:"cpu_percent"`
	Load       float64   `json:"load"` // 0 idle … 1 full
	Full       bool      `json:"full"`
}

// record describes this node now.
func (n *Node) record() nodeRecord {
	r := nodeRecord{ID: n.cfg.NodeID, Instance: n.instance, URL: n.cfg.URL, Version: n.cfg.Version,
		Started: n.started.UTC(), LastSeen: time.Now().UTC(), Relays: n.relays.count(), CPUPercent: n.cpu.Percent()}
	for _, info := range n.cfg.Registry.List() {
		if info.Publisher != nil && info.Publisher.Origin == "" {
			r.Streams++
		}
		for _, s := range info.Subscribers {
			if s.Kind != streams.SessionRelayRead {
				r.Viewers++
			}
		}
	}
	if n.cfg.Sessions != nil {
		r.Sessions = n.cfg.Sessions()
	}
	r.Load, r.Full = n.load(r)
	return r
}

// load is the fullest of CPU, viewers and sessions against their limits.
func (n *Node) load(r nodeRecord) (float64, bool) {
	var load float64
	full := false
	if n.cfg.CPUThreshold > 0 {
		load = max(load, r.CPUPercent/n.cfg.CPUThreshold)
		full = full || r.CPUPercent >= n.cfg.CPUThreshold
	}
	if n.cfg.MaxViewers > 0 {
		load = max(load, float64(r.Viewers)/float64(n.cfg.MaxViewers))
		full = full || r.Viewers >= n.cfg.MaxViewers
	}
	if n.cfg.MaxSessions > 0 {
		load = max(load, float64(r.Sessions)/float64(n.cfg.MaxSessions))
		full = full || r.Sessions >= n.cfg.MaxSessions
	}
	return load, full
}

// heartbeat writes this node's record with the TTL.
func (n *Node) heartbeat() error {
	rec := n.record()
	n.lastBeat = time.Now()
	b, _ := json.Marshal(rec)
	res, err := n.st.run(n.ctx, heartbeatScript, []string{keyNode + n.cfg.NodeID},
		string(b), n.instance, n.cfg.URL, ms(n.cfg.LeaseTTL))
	if err != nil {
		return err
	}
	if v, prev := verdict(res); v == "held" {
		var other nodeRecord
		_ = json.Unmarshal([]byte(prev), &other)
		err := fmt.Errorf("%w: %q at %s", ErrIDInUse, n.cfg.NodeID, other.URL)
		n.metrics.idConflict(n.log, err)
		return err
	}
	n.metrics.idConflict(n.log, nil)
	n.lastFull.Store(rec.Full)
	return nil
}

// NodeView is one node as GET /api/v1/cluster shows it.
type NodeView struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	Version    string    `json:"version"`
	Started    time.Time `json:"started"`
	LastSeen   time.Time `json:"last_seen"`
	Streams    int       `json:"streams"`
	Viewers    int       `json:"viewers"`
	Relays     int       `json:"relays"`
	CPUPercent float64   `json:"cpu_percent"`
	Load       float64   `json:"load"`
	Full       bool      `json:"full"`
	Self       bool      `json:"self"`
}

// StreamView is one stream's owner.
type StreamView struct {
	Name       string `json:"name"`
	OriginNode string `json:"origin_node"`
}

// Snapshot is the cluster as the directory knows it.
type Snapshot struct {
	Self    string       `json:"self"`
	Nodes   []NodeView   `json:"nodes"`
	Streams []StreamView `json:"streams"`
}

// ErrUnreachable: Redis does not answer, so the cluster cannot be listed.
var ErrUnreachable = fmt.Errorf("the cluster directory (Redis) is unreachable")

// Snapshot lists every live node and every stream's owner.
func (n *Node) Snapshot(ctx context.Context) (Snapshot, error) {
	recs, err := n.nodes(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	snap := Snapshot{Self: n.cfg.NodeID, Nodes: []NodeView{}, Streams: []StreamView{}}
	for _, r := range recs {
		snap.Nodes = append(snap.Nodes, NodeView{ID: r.ID, URL: r.URL, Version: r.Version, Started: r.Started,
			LastSeen: r.LastSeen, Streams: r.Streams, Viewers: r.Viewers, Relays: r.Relays,
			CPUPercent: r.CPUPercent, Load: r.Load, Full: r.Full, Self: r.ID == n.cfg.NodeID})
	}
	keys, err := n.st.scan(ctx, keyStream)
	if err != nil {
		return Snapshot{}, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	vals, err := n.st.mget(ctx, keys)
	if err != nil {
		return Snapshot{}, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	for i, v := range vals {
		if l, ok := decodeLease(v); ok {
			snap.Streams = append(snap.Streams, StreamView{Name: strings.TrimPrefix(keys[i], keyStream), OriginNode: l.Node})
		}
	}
	sort.Slice(snap.Streams, func(i, j int) bool { return snap.Streams[i].Name < snap.Streams[j].Name })
	return snap, nil
}

// nodes reads every live heartbeat, sorted by id.
func (n *Node) nodes(ctx context.Context) ([]nodeRecord, error) {
	keys, err := n.st.scan(ctx, keyNode)
	if err != nil {
		return nil, err
	}
	vals, err := n.st.mget(ctx, keys)
	if err != nil {
		return nil, err
	}
	var out []nodeRecord
	for _, v := range vals {
		var r nodeRecord
		if v != "" && json.Unmarshal([]byte(v), &r) == nil && r.ID != "" {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
