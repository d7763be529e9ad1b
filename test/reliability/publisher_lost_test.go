package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/streams"
)

// TestPublisherLostWithoutDelete: a publisher whose process dies (no
// DELETE, no DTLS close: its packets simply stop) is detected by ICE within
// the gateway's timeouts (ice_disconnected_timeout, then ice_failed_timeout:
// shortened here to 2 s + 3 s from 5 s + 20 s); the
// viewers stay connected through the grace period, and a new publisher on
// the same stream resumes them without a new POST.
func TestPublisherLostWithoutDelete(t *testing.T) {
	gw := startGateway(t, func(c *config.Config) {
		c.GracePeriod = 60 * time.Second
		c.ICEDisconnectedTimeout, c.ICEFailedTimeout = 2*time.Second, 3*time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	proxy := newLossyProxy(t, gw.UDPAddr())
	dying := publish(t, ctx, gw, "cam", client.SynthConfig{Bitrate: 500_000}, client.PublishOptions{Options: client.Options{
		HTTPClient: viaProxy(t, gw.UDPAddr().Port, proxy.Port()),
	}})
	url := gw.URL() + "/whep/cam"
	viewers := []*watcher{watch(t, ctx, url, client.PlayOptions{}), watch(t, ctx, url, client.PlayOptions{})}
	for _, v := range viewers {
		if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 30); err != nil {
			t.Fatal(err)
		}
	}

	// The publisher's process is gone: nothing more reaches the gateway.
	killed := time.Now()
	proxy.blackhole.Store(true)
	waitFor(t, ctx, "the gateway to notice the publisher is gone", func() bool {
		info, ok := gw.Registry.Info("cam")
		return ok && info.State != streams.StateLive
	})
	detected := time.Since(killed)
	t.Logf("publisher loss detected after %v", detected.Round(100*time.Millisecond))
	if detected > 10*time.Second {
		t.Errorf("detection took %v, beyond the configured ICE timeouts (2 s + 3 s)", detected)
	}
	// Grace period: the viewers are still connected and still listed.
	for i, v := range viewers {
		if st := v.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
			t.Fatalf("viewer %d is %s during the grace period", i, st)
		}
	}
	info, _ := gw.Registry.Info("cam")
	if len(info.Subscribers) != len(viewers) {
		t.Fatalf("%d subscribers during the grace period, want %d", len(info.Subscribers), len(viewers))
	}

	// A new publisher (the encoder restarted) resumes them.
	before := make([]uint64, len(viewers))
	for i, v := range viewers {
		before[i] = v.Received(webrtc.RTPCodecTypeVideo).Packets
	}
	_ = publish(t, ctx, gw, "cam", client.SynthConfig{Bitrate: 500_000}, client.PublishOptions{})
	for i, v := range viewers {
		if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, before[i]+60); err != nil {
			t.Fatalf("viewer %d after the republish: %v", i, err)
		}
		_, last, frames, _, broken, _ := v.state()
		t.Logf("viewer %d: %d whole pictures, %d broken, last %d", i, frames, broken, last)
	}
	dying.halt()
}
