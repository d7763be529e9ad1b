package cluster

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/cluster"
	"github.com/wishgate/wishgate/internal/testutil"
)

// A second running gateway with a node id already in use is refused at
// start (after waiting out one TTL for a restarted node's heartbeat).
func TestDuplicateNodeID(t *testing.T) {
	r := testutil.StartRedis(t)
	startNode(t, r, 1, nil)
	cfg := testutil.LoopbackConfig()
	cfg.HTTPAddr, cfg.UDPAddr, cfg.TCPAddr, cfg.RTSPAddr = "127.0.0.2:0", "127.0.0.2:0", "", ""
	cfg.ClusterRedisURL, cfg.ClusterNodeID, cfg.ClusterSecret, cfg.ClusterLeaseTTL = r.URL(), "n1", secret, leaseTTL
	start := time.Now()
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		_ = a.Close()
		t.Fatal("a second node with id n1 started")
	}
	if !errors.Is(err, cluster.ErrIDInUse) {
		t.Fatalf("error %v, want ErrIDInUse", err)
	}
	if waited := time.Since(start); waited < leaseTTL {
		t.Fatalf("refused after %s, before the TTL (%s) could have expired a restarted node's heartbeat", waited, leaseTTL)
	}
}

// /metrics of a clustered node has the relay and Redis series; a single
// gateway's has none of them.
func TestClusterMetrics(t *testing.T) {
	_, nodes := startCluster(t, 2, nil)
	publish(t, nodes[0], "m", 25, 0)
	play(t, nodes[1], "m").waitFrames(t, 10)
	body := scrape(t, nodes[1].URL())
	for _, want := range []string{"wishgate_cluster_relays 1", "wishgate_cluster_relay_starts_total 1",
		"wishgate_cluster_relay_bytes_total", "wishgate_cluster_redis_errors_total 0", "wishgate_cluster_redis_up 1",
		"wishgate_cluster_redis_latency_seconds_count"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "wishgate_cluster_relay_bytes_total 0\n") {
		t.Error("no relay bytes counted")
	}
	// The relay is a session of its own kind on both nodes: the pulled
	// stream on the edge, the reader that pulls on the origin.
	for i, kind := range []string{"relay-read", "relay"} {
		if b := scrape(t, nodes[i].URL()); !strings.Contains(b, `wishgate_sessions{kind="`+kind+`"} 1`+"\n") {
			t.Errorf("node %d: /metrics lacks one session of kind %s", i+1, kind)
		}
		var sess struct {
			Items []struct{ Kind, Stream string } `json:"items"`
		}
		getJSON(t, nodes[i], "/api/v1/sessions", &sess)
		found := false
		for _, it := range sess.Items {
			found = found || (it.Kind == kind && it.Stream == "m")
		}
		if !found {
			t.Errorf("node %d: /api/v1/sessions %+v has no %s session of m", i+1, sess.Items, kind)
		}
	}
	single := testutil.StartGateway(t, nil)
	if strings.Contains(scrape(t, single.URL()), "wishgate_cluster_") {
		t.Error("a single gateway exports cluster metrics")
	}
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}
