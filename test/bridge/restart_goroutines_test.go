package bridge_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/client"
)

// TestCameraRestartsNoGoroutineGrowth: a camera killed and restarted five
// times. Each time the bridge is playing again within its backoff (300 ms
// max here, plus the RTSP handshake) and the WHEP viewer, connected
// throughout, receives again from the camera's next keyframe; after the
// fifth outage the process has no more goroutines than after the first
// (issue 7: "no growth in goroutines").
func TestCameraRestartsNoGoroutineGrowth(t *testing.T) {
	g := startGateway(t, nil)
	cam := newCamera(t, camSpec{video: "h264"})
	cam.Start()
	if err := g.Sources().Add(bridge.SourceConfig{Name: "cam", URL: cam.url("cam"), Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "cam")
	v, rec := play(t, g, "cam", client.PlayOptions{Options: client.Options{NoAudio: true}})
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatal(err)
	}
	base := 0
	for i := range 5 {
		before := rec.snapshot().video.packets
		cam.Stop()
		waitFor(t, 5*time.Second, "source retrying", func() bool {
			st, _ := g.Sources().Get("cam")
			return st.State == bridge.StateRetrying
		})
		restarted := time.Now()
		cam.Start()
		waitFor(t, 5*time.Second, "source playing again", func() bool {
			st, _ := g.Sources().Get("cam")
			return st.State == bridge.StatePlaying
		})
		reconnect := time.Since(restarted)
		waitFor(t, 10*time.Second, "viewer receiving again", func() bool {
			return rec.snapshot().video.packets > before+30
		})
		t.Logf("outage %d: source playing %v and viewer receiving %v after the camera came back",
			i+1, reconnect.Round(10*time.Millisecond), time.Since(restarted).Round(10*time.Millisecond))
		if reconnect > 2*time.Second {
			t.Errorf("outage %d: reconnected after %v, backoff max is 300 ms", i+1, reconnect)
		}
		if v.ConnectionState() != webrtc.PeerConnectionStateConnected {
			t.Fatalf("viewer is %s after outage %d", v.ConnectionState(), i+1)
		}
		if i == 0 {
			runtime.GC()
			base = runtime.NumGoroutine()
		}
	}
	// Goroutines of finished attempts may take a moment to return.
	const slack = 4
	waitFor(t, 5*time.Second, "goroutines back to the first outage's count", func() bool {
		return runtime.NumGoroutine() <= base+slack
	})
	t.Logf("goroutines after outage 1: %d, after outage 5: %d", base, runtime.NumGoroutine())
}
