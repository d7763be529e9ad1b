package cluster_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/cluster"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

type idlePub struct{}

func (idlePub) Connected() bool     { return true }
func (idlePub) RequestKeyframe(int) {}
func (idlePub) Kick(error)          {}

// A viewer coming and going every few milliseconds at the max_viewers
// limit flips the node between full and not full each time; the heartbeat
// that tells the other nodes is written at most every tenth of a renewal
// period, not once per flip, and the last state still reaches Redis.
func TestLoadHeartbeatBounded(t *testing.T) {
	r := testutil.StartRedis(t)
	reg := streams.NewRegistry(streams.DefaultConfig())
	defer reg.Close()
	const ttl = 3 * time.Second
	renew, gap := ttl/3, ttl/30
	n, err := cluster.New(cluster.Config{RedisURL: r.URL(), NodeID: "a", URL: "http://127.0.0.1:9", Secret: "0123456789abcdef0123456789abcdef",
		LeaseTTL: ttl, RelayLinger: time.Second, MaxViewers: 1, Registry: reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	specs := []streams.TrackSpec{{Kind: streams.KindVideo, Codec: streams.Codec{MimeType: "video/H264", ClockRate: 90000}}}
	p, err := reg.Publish("s", specs, idlePub{}, streams.PublisherInfo{Kind: streams.SessionWHIP, SessionID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s, tracks, err := reg.Lookup("s")
	if err != nil {
		t.Fatal(err)
	}
	full := func() bool {
		t.Helper()
		snap, err := n.Snapshot(context.Background())
		if err != nil || len(snap.Nodes) != 1 {
			t.Fatalf("snapshot: %+v, %v", snap, err)
		}
		return snap.Nodes[0].Full
	}
	waitFull := func(want bool, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for full() != want {
			if time.Now().After(deadline) {
				t.Fatalf("the heartbeat does not say full=%v within %s", want, within)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFull(false, renew)

	calls0, start := n.Stats().RedisCalls, time.Now()
	pace := time.NewTicker(3 * time.Millisecond)
	defer pace.Stop()
	const flips = 200
	for i := range flips {
		sub, err := reg.Subscribe(s, streams.SubscribeOptions{Tracks: tracks, Info: streams.SubscriberInfo{Kind: streams.SessionWHEP, SessionID: "v"}})
		if err != nil {
			t.Fatal(err)
		}
		<-pace.C
		if i == flips-1 {
			// The last viewer stays: the node ends full, and says so.
			defer sub.Close()
			break
		}
		sub.Close()
		<-pace.C
	}
	elapsed := time.Since(start)
	calls := n.Stats().RedisCalls - calls0
	// Each periodic round: a heartbeat and the stream's renewal. On top:
	// at most one load heartbeat per gap.
	rounds := int(elapsed/renew) + 2
	bound := uint64(2*rounds + int(elapsed/gap) + 2)
	t.Logf("%d full/not-full flips in %s: %d Redis calls (bound %d)", 2*flips-1, elapsed.Round(time.Millisecond), calls, bound)
	if calls > bound {
		t.Fatalf("%d Redis calls for %d flips in %s, want at most %d", calls, 2*flips-1, elapsed, bound)
	}
	waitFull(true, gap+250*time.Millisecond)
}
