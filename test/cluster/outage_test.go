package cluster

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/testutil"
)

// Redis stops for 10 s under load: viewers on the origin and on an edge
// keep receiving, a viewer of a stream its node cannot locate gets 503 +
// Retry-After, a new publisher is let in, and once Redis is back (empty)
// the nodes register everything again and relay the new stream.
//
// Each node logs the loss and the return of Redis once, however many calls
// fail in between, and the split brain is resolved in a log line.
func TestRedisOutage(t *testing.T) {
	r := testutil.StartRedis(t)
	var nodes []*app.App
	logs := make([]*lockedBuffer, 3)
	for i := range logs {
		logs[i] = &lockedBuffer{}
		nodes = append(nodes, testutil.StartGatewayLog(t, nodeConfig(r, i+1, nil), slog.New(slog.NewTextHandler(logs[i], nil))))
	}
	waitFor(t, 5*time.Second, "every node in the directory", func() bool {
		snap, err := nodes[0].Cluster().Snapshot(context.Background())
		return err == nil && len(snap.Nodes) == 3
	})
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	publish(t, n1, "a", 25, 0)
	local, edge := play(t, n1, "a"), play(t, n2, "a")
	local.waitFrames(t, 10)
	edge.waitFrames(t, 10)

	var mark [3]int
	for i, l := range logs {
		mark[i] = len(l.String())
	}
	r.Stop()
	waitFor(t, 5*time.Second, "every node to notice", func() bool {
		for _, n := range nodes {
			if n.Cluster().Reachable() {
				return false
			}
		}
		return true
	})
	down := time.Now()
	before := [2]int{frames(local), frames(edge)}
	offer := offerSDP(t)
	resp := post(t, n3.URL()+"/whep/a", offer)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("WHEP for a stream node 3 cannot locate: %d Retry-After %q, want 503 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	publish(t, n3, "b", 25, 0) // published alone, registered on return
	// Split brain: "a" published on node 3 too, watched there.
	publish(t, n3, "a", 25, 50000)
	split := play(t, n3, "a")
	split.waitFrames(t, 5)
	for time.Since(down) < 10*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	// 10 s at 50 frames/s: both viewers got (nearly) all of it.
	for i, v := range []*viewer{local, edge} {
		if got := frames(v) - before[i]; got < 400 {
			t.Fatalf("viewer %d got %d frames in the 10 s outage, want about 500", i, got)
		}
		if _, bad := v.seen(); bad != 0 {
			t.Fatalf("viewer %d: %d bad payloads", i, bad)
		}
	}

	r.Restart()
	waitFor(t, 10*time.Second, "the cluster to heal", func() bool {
		snap, err := n2.Cluster().Snapshot(context.Background())
		if err != nil || len(snap.Nodes) != 3 || len(snap.Streams) != 2 {
			return false
		}
		return origin(t, n2, "a") == "n1" && origin(t, n2, "b") == "n3"
	})
	v := play(t, n1, "b")
	v.waitFrames(t, 10)

	// replace=stale: the older publisher (node 1's) won; node 3 ended its
	// own and relays node 1's to the viewer it had, which never noticed.
	waitFor(t, 10*time.Second, "node 3's viewer to get node 1's frames", func() bool {
		f, _ := split.seen()
		return len(f) > 0 && f[len(f)-1] < 50000
	})
	info, _ := n3.Registry.Info("a")
	if info.Publisher == nil || info.Publisher.Origin != "n1" {
		t.Fatalf("node 3's publisher of a: %+v, want a relay from n1", info.Publisher)
	}
	if _, bad := split.seen(); bad != 0 {
		t.Fatalf("split-brain viewer: %d bad payloads", bad)
	}

	resolved := false
	for i, l := range logs {
		since := l.String()[mark[i]:]
		for msg, want := range map[string]int{
			`msg="cluster directory (Redis) unreachable`:                  1,
			`msg="cluster directory (Redis) reachable"`:                   1,
			`msg="rejoining the cluster: registering this node's streams`: 1,
		} {
			if got := strings.Count(since, msg); got != want {
				t.Errorf("node %d logged %s %d times during the outage and the return, want %d:\n%s", i+1, msg, got, want, since)
			}
		}
		for line := range strings.SplitSeq(since, "\n") {
			resolved = resolved || (strings.Contains(line, "split brain") && strings.Contains(line, "stream=a"))
		}
	}
	if !resolved {
		t.Error("no node logged how it resolved the split brain of stream a")
	}
}

func frames(v *viewer) int {
	f, _ := v.seen()
	return len(f)
}

// offerSDP is a browser's recvonly offer, for requests that need only one.
func offerSDP(t *testing.T) string {
	t.Helper()
	b, err := osReadFile("chromium-156-whep.sdp")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type reply struct {
	StatusCode int
	Header     http.Header
}

func post(t *testing.T, url, offer string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return reply{resp.StatusCode, resp.Header}
}
