package cluster

import (
	"strconv"
	"testing"
	"time"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

// A camera declared on three nodes is pulled by exactly one; viewers on
// the others get it as a relay. When the puller dies another node takes
// the camera and the viewer keeps playing.
func TestCameraOnEveryNode(t *testing.T) {
	cam := startCamera(t)
	r := testutil.StartRedis(t)
	var nodes []*app.App
	var proxies []*redisProxy
	for i := 1; i <= 3; i++ {
		p := newRedisProxy(t, "127.0.0.1:"+strconv.Itoa(r.Port))
		proxies = append(proxies, p)
		nodes = append(nodes, startNode(t, r, i, func(c *config.Config) {
			c.ClusterRedisURL = p.url()
			c.Sources = []string{"cam=" + cam.url() + "#transport=tcp"}
			c.SourceBackoffBase = 50 * time.Millisecond
			c.SourceBackoffMax = 200 * time.Millisecond
		}))
	}
	puller := func() int {
		who := -1
		for i, n := range nodes {
			if n == nil {
				continue
			}
			st, _ := n.Sources().Get("cam")
			if st.State == bridge.StatePlaying {
				if who >= 0 {
					t.Fatalf("nodes %d and %d both pull the camera", who+1, i+1)
				}
				who = i
			}
		}
		return who
	}
	waitFor(t, 10*time.Second, "one node to pull the camera and the others to stand by", func() bool {
		standby := 0
		for _, n := range nodes {
			if st, _ := n.Sources().Get("cam"); st.State == bridge.StateStandby {
				standby++
			}
		}
		return puller() >= 0 && standby == 2 && cam.open() == 1
	})
	first := puller()
	other := (first + 1) % 3
	v := play(t, nodes[other], "cam")
	v.waitFrames(t, 20)
	if info, _ := nodes[other].Registry.Info("cam"); info.Publisher == nil || info.Publisher.Kind != streams.SessionRelay {
		t.Fatalf("the standby node's stream: %+v, want a relay", info.Publisher)
	}
	if cam.open() != 1 {
		t.Fatalf("the camera has %d sessions, want 1", cam.open())
	}

	proxies[first].cut() // the puller crashes
	_ = nodes[first].Close()
	nodes[first] = nil
	waitFor(t, 10*time.Second, "another node to take the camera", func() bool {
		return puller() >= 0 && cam.open() == 1
	})
	n := frames(v)
	v.waitFrames(t, n+20)
	if _, bad := v.seen(); bad != 0 {
		t.Fatalf("%d bad payloads", bad)
	}
	if v.ConnectionState().String() != "connected" {
		t.Fatalf("the viewer's connection is %s", v.ConnectionState())
	}
	t.Logf("node %d pulled the camera, then node %d", first+1, puller()+1)
}

// An on-demand camera declared on two nodes: the first reader's node pulls
// it, a reader on the other node gets a relay, the camera has one session.
func TestOnDemandCameraOnTwoNodes(t *testing.T) {
	cam := startCamera(t)
	_, nodes := startCluster(t, 2, func(i int, c *config.Config) {
		c.SourcesOnDemand = []string{"cam=" + cam.url() + "#transport=tcp"}
	})
	a := play(t, nodes[1], "cam")
	a.waitFrames(t, 10)
	b := play(t, nodes[0], "cam")
	b.waitFrames(t, 10)
	if cam.open() != 1 {
		t.Fatalf("the camera has %d sessions, want 1", cam.open())
	}
	info, _ := nodes[0].Registry.Info("cam")
	if info.Publisher == nil || info.Publisher.Origin != "n2" {
		t.Fatalf("node 1's stream: %+v, want a relay from n2", info.Publisher)
	}
	if st, _ := nodes[0].Sources().Get("cam"); st.State == bridge.StatePlaying {
		t.Fatal("node 1 pulls the camera too")
	}
}
