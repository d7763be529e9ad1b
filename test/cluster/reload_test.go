package cluster

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/testutil"
)

// lockedBuffer collects a gateway's log lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The cluster keys apply only at start: a reload (SIGHUP, a changed file)
// that changes them reports and logs each as needing a restart, never logs
// the secret, and the node keeps its membership and relays as started.
func TestReloadClusterKeys(t *testing.T) {
	r := testutil.StartRedis(t)
	var logs lockedBuffer
	n1 := testutil.StartGatewayLog(t, nodeConfig(r, 1, nil), slog.New(slog.NewTextHandler(&logs, nil)))
	n2 := startNode(t, r, 2, nil)
	publish(t, n1, "reload", 25, 0)
	play(t, n2, "reload").waitFrames(t, 5)

	cfg := n1.Config()
	const newSecret = "a-new-cluster-secret-of-enough-bytes-0123"
	cfg.ClusterSecret, cfg.ClusterRelayLinger, cfg.ClusterLeaseTTL = newSecret, time.Minute, 3*time.Second
	cfg.ClusterNodeID, cfg.ClusterRedisURL = "renamed", "redis://127.0.0.1:1/0"
	cfg.ClusterAdvertiseURL, cfg.ClusterCPUThreshold = "http://127.0.0.1:1", 50
	restart, err := n1.Reload(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cluster_secret", "cluster_relay_linger", "cluster_lease_ttl", "cluster_node_id",
		"cluster_redis_url", "cluster_advertise_url", "cluster_cpu_threshold"} {
		if !slices.Contains(restart, k) {
			t.Errorf("reload: %s not reported as needing a restart (got %v)", k, restart)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "apply only after a restart") || !strings.Contains(out, "cluster_secret") {
		t.Errorf("the restart-needed warning does not name the cluster keys:\n%s", out)
	}
	if strings.Contains(out, newSecret) || strings.Contains(out, secret) {
		t.Error("the log holds a cluster secret")
	}
	if got := n1.Config().ClusterSecret; got != secret {
		t.Errorf("the running configuration says secret %q, not the one the node runs with", got)
	}
	// Still the node it was: another edge relays from it with the old secret.
	n3 := startNode(t, r, 3, nil)
	play(t, n3, "reload").waitFrames(t, 5)
	if got := relayReaders(t, n1, "reload"); got != 2 {
		t.Fatalf("origin has %d relay readers after the reload, want 2", got)
	}
}
