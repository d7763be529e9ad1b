package cluster

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/config"
)

// A full node answers 307 to a node with room, and the load tool's
// client (internal/client, whose redirect policy wishbench shares) follows
// it and plays there; with every node full the answer is 503.
func TestFullNodeRedirects(t *testing.T) {
	_, nodes := startCluster(t, 3, func(i int, c *config.Config) {
		c.MaxViewers = map[int]int{1: 2, 2: 1, 3: 1}[i]
	})
	n1 := nodes[0]
	publish(t, n1, "full", 25, 0)
	play(t, n1, "full").waitFrames(t, 3)
	play(t, n1, "full").waitFrames(t, 3)

	onOther := func() *viewer {
		t.Helper()
		v, err := tryPlay(n1.URL()+"/whep/full", nil) // the client's own HTTP client follows 307
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = v.Close() })
		if strings.HasPrefix(v.Location(), n1.URL()) {
			t.Fatalf("played on the full node: %s", v.Location())
		}
		v.waitFrames(t, 3)
		return v
	}
	onOther()
	onOther()
	waitFor(t, 5*time.Second, "every node's heartbeat to say full", func() bool {
		snap, err := n1.Cluster().Snapshot(t.Context())
		if err != nil {
			return false
		}
		for _, n := range snap.Nodes {
			if !n.Full {
				return false
			}
		}
		return len(snap.Nodes) == 3
	})
	resp := postNoFollow(t, n1, offerSDP(t))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("every node full: %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func postNoFollow(t *testing.T, a *app.App, offer string) reply {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, a.URL()+"/whep/full", strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Close = true
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return reply{resp.StatusCode, resp.Header}
}

// A node over its CPU threshold takes no new viewer: it redirects them to
// a node under it.
func TestBusyNodeRedirects(t *testing.T) {
	_, nodes := startCluster(t, 2, func(i int, c *config.Config) {
		if i == 1 {
			c.ClusterCPUThreshold = 0.0001 // any work at all is over it
		}
	})
	n1, n2 := nodes[0], nodes[1]
	publish(t, n1, "full", 25, 0)
	waitFor(t, 5*time.Second, "node 1's heartbeat to say full", func() bool {
		snap, err := n1.Cluster().Snapshot(t.Context())
		if err != nil {
			return false
		}
		for _, n := range snap.Nodes {
			if n.ID == "n1" {
				return n.Full && n.CPUPercent > 0
			}
		}
		return false
	})
	resp := postNoFollow(t, n1, offerSDP(t))
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != n2.URL()+"/whep/full" {
		t.Fatalf("busy node: %d Location %q, want 307 to %s", resp.StatusCode, resp.Header.Get("Location"), n2.URL())
	}
}
