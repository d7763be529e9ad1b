package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

// The origin is a gateway process of its own, killed with SIGKILL: no peer
// gets a DTLS close, no lease or heartbeat is released, its packets just
// stop. The edge's viewer stays connected through it and continues, on the
// same peer connection and SSRC, within one GOP of the new publisher's
// first keyframe. Either the publisher reconnects at once (to node 3), and
// takes the stream over as soon as the dead owner's lease is stale, or no
// one publishes for a while, and the edge finds out by itself that its
// origin is gone (lease expiry, ICE timeout).
func TestOriginKilled(t *testing.T) {
	bin := testutil.BuildGateway(t)
	t.Run("publisher_reconnects", func(t *testing.T) { originKilled(t, bin, true) })
	t.Run("silent_origin", func(t *testing.T) { originKilled(t, bin, false) })
}

// renew is the lease renewal period (a third of the TTL).
const renew = leaseTTL / 3

func originKilled(t *testing.T, bin string, reconnect bool) {
	r := testutil.StartRedis(t)
	n1 := testutil.StartGatewayProcess(t, bin, "--http-addr", "127.0.0.1:0", "--udp-addr", "127.0.0.1:0",
		"--tcp-addr", "", "--rtsp-addr", "", "--cluster-redis-url", r.URL(), "--cluster-node-id", "n1",
		"--cluster-secret", secret, "--cluster-lease-ttl", leaseTTL.String(), "--log-level", "info")
	n2 := startNode(t, r, 2, nil)
	n3 := startNode(t, r, 3, nil)
	f1 := publishAt(t, n1.URL, "live", 25, 0)
	v := play(t, n2, "live")
	v.waitFrames(t, 30)
	ssrc := v.Track(webrtc.RTPCodecTypeVideo).SSRC()
	pc := v.PeerConnection()

	n1.Kill()
	killed := time.Now()
	f1.stop() // its DTLS close reaches no one

	if !reconnect {
		// The edge notices alone: the lease expires within the TTL of its
		// last renewal, and the relay's loop looks at least once a renewal
		// period; the relay's ICE gives up about then too (silent for a
		// renewal period: disconnected; a TTL later: failed).
		waitFor(t, leaseTTL+renew+time.Second, "node 2 to notice its origin is gone", func() bool {
			info, ok := n2.Registry.Info("live")
			return ok && info.Publisher == nil
		})
		t.Logf("node 2 noticed the killed origin after %s (TTL %s)", time.Since(killed).Round(time.Millisecond), leaseTTL)
		if v.ConnectionState() != webrtc.PeerConnectionStateConnected {
			t.Fatalf("the edge's viewer is %s during the grace period", v.ConnectionState())
		}
	}

	// OBS reconnecting: 409 while the dead owner's lease is fresh, taken
	// once it is stale (no renewal for 1.5 renewal periods).
	const next = 10000
	var pub *client.Publisher
	deadline := time.Now().Add(leaseTTL + 5*time.Second)
	for pub == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		p, err := client.Publish(ctx, n3.URL()+"/whip/live", client.PublishOptions{})
		if err == nil {
			err = p.WaitConnected(ctx)
			if err != nil {
				_ = p.Close()
			} else {
				pub = p
			}
		}
		cancel()
		var he *client.HTTPError
		if err != nil && (!errors.As(err, &he) || time.Now().After(deadline)) {
			t.Fatalf("publish on node 3: %v", err)
		}
		if pub == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	took := time.Since(killed)
	feedOn(t, pub, 25, next)
	if reconnect && took > renew+renew/2+time.Second {
		t.Fatalf("node 3 took the stream %s after the crash: the lease is stale after %s", took, renew+renew/2)
	}
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
	if info.Publisher == nil || info.Publisher.Kind != streams.SessionRelay || info.Publisher.Origin != "n3" {
		t.Fatalf("node 2's publisher is %+v, want a relay from n3", info.Publisher)
	}
	t.Logf("killed → node 3 took the stream: %s; resumed at frame %d (new publisher from %d)",
		took.Round(time.Millisecond), firstNew, next)
}
