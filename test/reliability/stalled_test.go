package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

// TestStalledViewersDoNotSlowOthers: one viewer stops reading (its pion
// receive buffers fill, like a frozen tab) and another's network starts
// dropping everything, while a publisher sends 2.5 Mbit/s. The publisher
// loses nothing at the gateway and each healthy viewer gets at least 99.9 %
// of the video packets sent since its first picture.
func TestStalledViewersDoNotSlowOthers(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	gw := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := publish(t, ctx, gw, "live", client.SynthConfig{}, client.PublishOptions{})
	url := gw.URL() + "/whep/live"

	var healthy []*watcher
	for range 3 {
		healthy = append(healthy, watch(t, ctx, url, client.PlayOptions{}))
	}
	stalled := watch(t, ctx, url, client.PlayOptions{StartPaused: true})
	proxy := newLossyProxy(t, gw.UDPAddr())
	dead := watch(t, ctx, url, client.PlayOptions{Options: client.Options{
		HTTPClient: viaProxy(t, gw.UDPAddr().Port, proxy.Port()),
	}})
	for _, w := range append(healthy, stalled, dead) {
		if err := w.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := dead.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 50); err != nil {
		t.Fatalf("viewer behind the proxy: %v", err)
	}
	proxy.blackhole.Store(true) // its network dies now
	for _, w := range healthy {
		waitFor(t, ctx, "healthy viewer's first picture", func() bool { _, _, _, _, _, seen := w.state(); return seen })
	}

	// Eight seconds of media with one viewer stuck and one unreachable.
	start := src.lastFrame()
	waitFor(t, ctx, "8 s of pictures", func() bool { return src.lastFrame() >= start+240 })
	src.halt()
	sent := src.nvideoLoad()

	checkReceived(t, ctx, src, healthy, 0.999)

	// The publisher was never slowed: the gateway took every packet.
	info, ok := gw.Registry.Info("live")
	if !ok {
		t.Fatal("stream gone")
	}
	var ingested uint64
	for _, tr := range info.Tracks {
		if tr.Kind == streams.KindVideo {
			ingested = tr.Packets
		}
	}
	t.Logf("publisher sent %d video packets, gateway ingested %d", sent, ingested)
	if float64(ingested) < 0.999*float64(sent) {
		t.Errorf("gateway ingested %d of %d video packets", ingested, sent)
	}
	// And the stuck viewers really were stuck: one read nothing at all, the
	// other's network dropped what the gateway kept sending it.
	if n := stalled.Received(webrtc.RTPCodecTypeVideo).Packets; n != 0 {
		t.Errorf("the paused viewer read %d packets", n)
	}
	t.Logf("proxy dropped %d packets of the unreachable viewer", proxy.Dropped.Load())
	if proxy.Dropped.Load() == 0 {
		t.Error("the unreachable viewer's network dropped nothing")
	}
}
