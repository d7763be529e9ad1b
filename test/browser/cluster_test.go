package browser

import (
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// Chromium plays, from node b, a stream published on node a (a relay), and
// b's dashboard shows the cluster: both nodes, the stream's owner, and the
// stream's source as a relay from a.
func TestClusterDashboard(t *testing.T) {
	chromium := requireIsolation(t)
	r := testutil.StartRedis(t)
	node := func(id, ip string) func(*config.Config) {
		return func(c *config.Config) {
			c.HTTPAddr, c.UDPAddr, c.TCPAddr, c.RTSPAddr = ip+":0", ip+":0", "", ""
			c.ClusterRedisURL, c.ClusterNodeID = r.URL(), id
			c.ClusterSecret = "browser-cluster-secret-0123456789abcdef"
			c.ClusterLeaseTTL = 1500 * time.Millisecond
		}
	}
	a := startGateway(t, node("a", "127.0.0.1"))
	b := startGateway(t, node("b", "127.0.0.2"))
	publishClip(t, a.URL()+"/whip/show")
	br := startBrowser(t, chromium)

	player := br.newTab("player", b.URL()+"/watch/show")
	player.waitJS(20*time.Second, `document.querySelector("video").videoWidth === 320`, "video relayed from node a")
	dash := br.newTab("dashboard", b.URL()+"/")
	dash.waitJS(15*time.Second, `(() => {
	  const row = document.querySelector('tr[data-name="show"]');
	  const nodes = document.querySelectorAll("#cluster-nodes tbody tr");
	  return !document.getElementById("cluster").hidden && nodes.length === 2 &&
	    document.querySelector('#cluster-nodes tr[data-node="b"] th').textContent === "b (this node)" &&
	    document.getElementById("cluster-owners").textContent.includes("show → a") &&
	    row && row.querySelector(".source").textContent === "Relay from a";
	})()`, "the cluster panel and the relayed stream")
	dash.screenshot("dashboard-cluster.png")
	single := startGateway(t, nil)
	solo := br.newTab("single", single.URL()+"/")
	solo.waitJS(10*time.Second, `document.getElementById("api-status").textContent.startsWith("0 streams") &&
	  document.getElementById("cluster").dataset.clustered === "no" && document.getElementById("cluster").hidden`,
		"a single gateway's dashboard, without a cluster panel")
}
