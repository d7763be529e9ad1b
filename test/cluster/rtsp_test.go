package cluster

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/config"
)

// An RTSP reader on an edge is a local reader like a WHEP viewer: it
// starts the relay and gets the stream published on another node; the
// relay stops cluster_relay_linger after it leaves, not before.
func TestRTSPReaderOnEdge(t *testing.T) {
	const rtspLinger = 1500 * time.Millisecond
	_, nodes := startCluster(t, 2, func(i int, c *config.Config) {
		if i == 2 {
			c.RTSPAddr = "127.0.0.2:0"
			c.ClusterRelayLinger = rtspLinger
		}
	})
	publish(t, nodes[0], "tv", 25, 0)
	u, err := base.ParseURL("rtsp://" + nodes[1].RTSPAddr().String() + "/tv")
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	defer c.Close() // again after the test's own Close: a no-op
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatalf("DESCRIBE on the edge: %v", err)
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatal(err)
	}
	var good, bad atomic.Int64
	c.OnPacketRTPAny(func(m *description.Media, _ format.Format, pkt *rtp.Packet) {
		if m.Type != description.MediaTypeVideo {
			return
		}
		if _, ok := checkPayload(pkt.Payload); ok {
			good.Add(1)
		} else {
			bad.Add(1)
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "video over RTSP from the edge", func() bool { return good.Load() >= 30 })
	if bad.Load() != 0 {
		t.Fatalf("%d payloads differ from what was sent", bad.Load())
	}
	if relayReaders(t, nodes[0], "tv") != 1 {
		t.Fatalf("origin has %d relay readers, want 1", relayReaders(t, nodes[0], "tv"))
	}
	left := time.Now() // before the TEARDOWN: the linger counts from later
	c.Close()
	waitFor(t, rtspLinger+5*time.Second, "the relay to stop after the RTSP reader left", func() bool {
		return nodes[1].Cluster().Stats().Relays == 0 && relayReaders(t, nodes[0], "tv") == 0
	})
	if d := time.Since(left); d < rtspLinger {
		t.Fatalf("the relay stopped %s after its last reader left, before the linger (%s)", d, rtspLinger)
	}
}
