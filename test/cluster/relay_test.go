package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/cluster"
	"github.com/wishgate/wishgate/streams"
)

// A stream published on node 1 plays on nodes 2 and 3 byte for byte; each
// edge pulls it once however many viewers it has, and lets the relay go
// the linger after its last viewer left.
func TestRelayFansOut(t *testing.T) {
	_, nodes := startCluster(t, 3, nil)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	publish(t, n1, "site/show", 25, 0)

	start := time.Now()
	first := play(t, n3, "site/show")
	first.waitFrames(t, 1)
	t.Logf("first frame on an edge, relay set-up included: %s", time.Since(start).Round(time.Millisecond))

	var views []*viewer
	for i := 0; i < 5; i++ {
		views = append(views, play(t, n2, "site/show"))
		if i > 0 {
			views = append(views, play(t, n3, "site/show"))
		}
	}
	views = append(views, first)
	for _, v := range views {
		v.waitFrames(t, 60)
	}
	for i, v := range views {
		frames, bad := v.seen()
		if bad != 0 {
			t.Errorf("viewer %d: %d payloads differ from what was sent", i, bad)
		}
		// Each frame once: a second relay (or a fan-out fed twice) would
		// deliver copies. (A retransmission may arrive out of order.)
		seen := map[int64]bool{}
		for _, f := range frames {
			if seen[f] {
				t.Errorf("viewer %d: frame %d received twice", i, f)
				break
			}
			seen[f] = true
		}
	}
	if got := relayReaders(t, n1, "site/show"); got != 2 {
		t.Fatalf("origin has %d relay readers, want one per edge (2) for 10 edge viewers", got)
	}
	for _, edge := range nodes[1:] {
		info, _ := edge.Registry.Info("site/show")
		if info.Publisher == nil || info.Publisher.Kind != streams.SessionRelay || info.Publisher.Origin != "n1" {
			t.Fatalf("edge publisher %+v, want a relay from n1", info.Publisher)
		}
		if len(info.Subscribers) != 5 {
			t.Fatalf("edge has %d readers, want 5", len(info.Subscribers))
		}
	}

	var st struct {
		Items []struct {
			Name       string  `json:"name"`
			OriginNode *string `json:"origin_node"`
			Source     struct {
				Kind       string `json:"kind"`
				OriginNode string `json:"origin_node"`
			} `json:"source"`
		} `json:"items"`
	}
	getJSON(t, n2, "/api/v1/streams", &st)
	if len(st.Items) != 1 || st.Items[0].Source.Kind != "relay" || st.Items[0].Source.OriginNode != "n1" ||
		st.Items[0].OriginNode == nil || *st.Items[0].OriginNode != "n1" {
		t.Fatalf("edge /api/v1/streams: %+v", st.Items)
	}
	// /api/v1/cluster on any node: every node with its load as its last
	// heartbeat (at most a renewal period old) says, and the owner.
	var snap cluster.Snapshot
	waitFor(t, 3*time.Second, "every heartbeat to count the viewers and relays", func() bool {
		snap = cluster.Snapshot{}
		if getJSON(t, n3, "/api/v1/cluster", &snap) != 200 || len(snap.Nodes) != 3 {
			return false
		}
		// streams published there, viewers (relay readers not counted), relays
		want := map[string][3]int{"n1": {1, 0, 0}, "n2": {0, 5, 1}, "n3": {0, 5, 1}}
		for _, nv := range snap.Nodes {
			if w := want[nv.ID]; [3]int{nv.Streams, nv.Viewers, nv.Relays} != w {
				return false
			}
		}
		return true
	})
	urls := map[string]string{"n1": n1.URL(), "n2": n2.URL(), "n3": n3.URL()}
	for _, nv := range snap.Nodes {
		if nv.URL != urls[nv.ID] || nv.Version == "" || nv.Started.IsZero() || nv.LastSeen.Before(nv.Started) ||
			time.Since(nv.LastSeen) > leaseTTL || nv.Self != (nv.ID == "n3") || nv.Full || nv.Load < 0 {
			t.Errorf("/api/v1/cluster node %+v", nv)
		}
	}
	if len(snap.Streams) != 1 || snap.Streams[0].Name != "site/show" || snap.Streams[0].OriginNode != "n1" || snap.Self != "n3" {
		t.Fatalf("/api/v1/cluster: %+v", snap)
	}

	// Node 2's viewers leave: its relay stops after the linger (not
	// before), node 3's stays.
	left := time.Now() // before the DELETEs: the linger counts from later
	for _, v := range views {
		if v.Location() != "" && len(v.Location()) > 0 && sameNode(v, n2.URL()) {
			_ = v.Close()
		}
	}
	waitFor(t, linger+3*time.Second, "node 2's relay to stop", func() bool {
		_, ok := n2.Registry.Info("site/show")
		return !ok && relayReaders(t, n1, "site/show") == 1
	})
	if d := time.Since(left); d < linger {
		t.Fatalf("node 2's relay stopped %s after its last viewer left, before the linger (%s)", d, linger)
	}
	if n3.Cluster().Stats().Relays != 1 {
		t.Fatalf("node 3 relays %d streams, want 1", n3.Cluster().Stats().Relays)
	}
	_ = context.Background
}

func sameNode(v *viewer, base string) bool {
	return len(v.Location()) > len(base) && v.Location()[:len(base)] == base
}
