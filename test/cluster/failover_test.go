package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

// retryPublish publishes as OBS reconnecting does: again after a refusal
// (409 while the dead owner's lease is not stale yet).
func retryPublish(t *testing.T, a *app.App, name string, start uint32) *feed {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		pub, err := client.Publish(ctx, a.URL()+"/whip/"+name, client.PublishOptions{})
		cancel()
		if err == nil {
			_ = pub.Close()
			return publish(t, a, name, 25, start)
		}
		var he *client.HTTPError
		if !errors.As(err, &he) || time.Now().After(deadline) {
			t.Fatalf("publish on the new node: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The origin dies (cut off Redis, then gone, as in a crash); the publisher
// reconnects to node 3, or to node 2 itself; viewers on node 2 continue on
// the same peer connection and SSRC within one GOP of the new publisher's
// first keyframe.
func TestOriginDies(t *testing.T) {
	for _, to := range []int{3, 2} {
		t.Run(fmt.Sprintf("publisher_to_n%d", to), func(t *testing.T) { originDies(t, to) })
	}
}

func originDies(t *testing.T, to int) {
	r := testutil.StartRedis(t)
	proxy := newRedisProxy(t, "127.0.0.1:"+strconv.Itoa(r.Port))
	n1 := startNode(t, r, 1, func(c *config.Config) { c.ClusterRedisURL = proxy.url() })
	n2 := startNode(t, r, 2, nil)
	n3 := startNode(t, r, 3, nil)
	f1 := publish(t, n1, "live", 25, 0)
	v := play(t, n2, "live")
	v.waitFrames(t, 30)
	ssrc := v.Track(webrtc.RTPCodecTypeVideo).SSRC()
	pc := v.PeerConnection()

	proxy.cut() // n1's leases are neither renewed nor released from now on
	f1.stop()
	_ = n1.Close()

	const next = 10000
	target := map[int]*app.App{2: n2, 3: n3}[to]
	retryPublish(t, target, "live", next)
	waitFor(t, 10*time.Second, "node 2's viewer to get the new publisher's frames", func() bool {
		f, _ := v.seen()
		return len(f) > 0 && f[len(f)-1] >= next+30
	})
	frames, bad := v.seen()
	if bad != 0 {
		t.Fatalf("%d payloads differ from what was sent", bad)
	}
	firstNew := int64(-1)
	for _, f := range frames {
		if f >= next {
			firstNew = f
			break
		}
	}
	if firstNew%25 != 0 || firstNew > next+25 {
		t.Fatalf("the viewer resumed at frame %d: want a keyframe within one GOP of %d", firstNew, next)
	}
	if v.PeerConnection() != pc || v.ConnectionState() != webrtc.PeerConnectionStateConnected ||
		v.Track(webrtc.RTPCodecTypeVideo).SSRC() != ssrc {
		t.Fatal("the viewer renegotiated or lost its track")
	}
	info, _ := n2.Registry.Info("live")
	if to == 3 && (info.Publisher == nil || info.Publisher.Origin != "n3") {
		t.Fatalf("node 2 relays from %+v, want n3", info.Publisher)
	}
	if to == 2 && (info.Publisher == nil || info.Publisher.Kind != streams.SessionWHIP) {
		t.Fatalf("node 2's publisher is %+v, want the WHIP publisher that replaced the relay", info.Publisher)
	}
	t.Logf("resumed at frame %d (new publisher started at %d)", firstNew, next)
}

// A node that restarts at the same address drops its previous run's
// leases as it joins, well within their TTL.
func TestRestartDropsLeases(t *testing.T) {
	r := testutil.StartRedis(t)
	proxy := newRedisProxy(t, "127.0.0.1:"+strconv.Itoa(r.Port))
	n2 := startNode(t, r, 2, func(c *config.Config) { c.ClusterRedisURL = proxy.url() })
	n1 := startNode(t, r, 1, nil)
	publish(t, n2, "r", 25, 0)
	waitFor(t, 5*time.Second, "the lease", func() bool { return origin(t, n1, "r") == "n2" })
	_, port, _ := net.SplitHostPort(n2.HTTPAddr().String())
	proxy.cut() // a crash: nothing is released
	_ = n2.Close()

	restarted := time.Now()
	startNode(t, r, 2, func(c *config.Config) { c.HTTPAddr = "127.0.0.2:" + port })
	waitFor(t, leaseTTL, "the previous run's lease to be gone", func() bool { return origin(t, n1, "r") == "" })
	t.Logf("lease gone %s after the restart (TTL %s)", time.Since(restarted).Round(time.Millisecond), leaseTTL)
}

// origin is the stream's owner in the directory as node a sees it.
func origin(t *testing.T, a *app.App, name string) string {
	t.Helper()
	snap, err := a.Cluster().Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snap.Streams {
		if s.Name == name {
			return s.OriginNode
		}
	}
	return ""
}

// An origin shut down on purpose (an upgrade) releases its leases at
// once: the publisher reconnecting elsewhere is taken at its first try,
// and the edge's viewer continues.
func TestOriginShutdown(t *testing.T) {
	_, nodes := startCluster(t, 3, nil)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	f := publish(t, n1, "up", 25, 0)
	v := play(t, n2, "up")
	v.waitFrames(t, 20)
	f.stop()
	_ = n1.Close()
	if got := origin(t, n2, "up"); got != "" {
		t.Fatalf("after a clean shutdown the lease is still %q's", got)
	}
	publish(t, n3, "up", 25, 5000) // no 409: nothing to wait for
	waitFor(t, 10*time.Second, "the new publisher's frames on node 2", func() bool {
		fr, _ := v.seen()
		return len(fr) > 0 && fr[len(fr)-1] >= 5020
	})
}

// An edge that goes away takes its relay reader off the origin; the
// origin's own viewer is untouched.
func TestEdgeGoes(t *testing.T) {
	_, nodes := startCluster(t, 2, nil)
	n1, n2 := nodes[0], nodes[1]
	publish(t, n1, "e", 25, 0)
	local := play(t, n1, "e")
	play(t, n2, "e").waitFrames(t, 10)
	if relayReaders(t, n1, "e") != 1 {
		t.Fatal("no relay reader on the origin")
	}
	_ = n2.Close()
	waitFor(t, 5*time.Second, "the relay reader to leave the origin", func() bool { return relayReaders(t, n1, "e") == 0 })
	n := frames(local)
	local.waitFrames(t, n+25)
	waitFor(t, 2*leaseTTL, "node 2 to leave the directory", func() bool {
		snap, err := n1.Cluster().Snapshot(context.Background())
		return err == nil && len(snap.Nodes) == 1
	})
}
