package cluster

import (
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// A relay carries the top layer of a simulcast stream (docs/cluster.md):
// the edge's viewer gets it, packet for packet, and nothing of the others.
func TestRelayCarriesTopLayer(t *testing.T) {
	_, nodes := startCluster(t, 2, nil)
	g := testutil.ThreeLayers()
	testutil.PublishLayers(t, nodes[0], "sim", g, true)
	v := testutil.PlayLayers(t, nodes[1].URL()+"/whep/sim", g, client.PlayOptions{})
	top := len(g.Config().Layers) - 1
	testutil.WaitUntil(t, 15*time.Second, "the top layer through the relay", func() bool {
		return v.Check.Report().Packets[top] >= 100
	})
	rep := v.Check.Report()
	for j, n := range rep.Packets[:top] {
		if n > 0 {
			t.Errorf("the edge viewer got %d packets of layer %d (%v)", n, j, rep.Packets)
		}
	}
	if len(rep.Problems) > 0 || rep.Foreign > 0 {
		t.Errorf("problems %q, %d foreign packets", rep.Problems, rep.Foreign)
	}
	info, _ := nodes[0].Registry.Info("sim")
	for _, s := range info.Subscribers {
		if len(s.Layers) != 1 || s.Layers[0].Choice.String() != "high" {
			t.Errorf("the origin's relay reader has layer %+v, want the best one, fixed", s.Layers)
		}
	}
}
