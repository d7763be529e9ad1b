package bridge_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
)

// waitState polls GET /api/v1/streams/NAME until its state is want and
// returns how long that took from start; it fails after d.
func waitState(t *testing.T, g *gateway, name, want string, start time.Time, d time.Duration) time.Duration {
	t.Helper()
	last := ""
	for time.Since(start) < d {
		st, s := getStream(t, g, name)
		if st == http.StatusOK && s.State == want {
			return time.Since(start)
		}
		last = s.State
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stream %s: state %q after %v, want %q", name, last, d, want)
	return 0
}

// TestCameraDownLeavesLive: the API's state follows the camera, whether it
// goes away (its server closes the sessions) or falls silent with its
// RTSP session still up; a viewer stays attached through the outage and
// the stream is live again once the camera is back.
func TestCameraDownLeavesLive(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.SourceStallTimeout = time.Second })
	cam := newCamera(t, camSpec{video: "h264", audio: "opus"})
	cam.Start()
	if err := g.Sources().Add(bridge.SourceConfig{Name: "door", URL: cam.url("door"), Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "door")
	v, _ := play(t, g, "door", client.PlayOptions{})
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatal(err)
	}
	waitState(t, g, "door", "live", time.Now(), 5*time.Second)

	// The camera goes away.
	down := time.Now()
	cam.Stop()
	took := waitState(t, g, "door", "reconnecting", down, 2*time.Second)
	t.Logf("stopped camera: reconnecting after %v", took.Round(10*time.Millisecond))
	if _, s := getStream(t, g, "door"); s.Viewers.WHEP != 1 {
		t.Errorf("the viewer was dropped during the outage: %+v", s)
	}
	cam.Start()
	waitState(t, g, "door", "live", time.Now(), 10*time.Second)

	// The camera falls silent, its session still open.
	waitLive(t, g, "door")
	silent := time.Now()
	cam.frozen.Store(true)
	took = waitState(t, g, "door", "reconnecting", silent, time.Second+2*time.Second)
	t.Logf("silent camera: reconnecting after %v", took.Round(10*time.Millisecond))
	if st, _ := g.Sources().Get("door"); st.State != bridge.StateRetrying && st.State != bridge.StateConnecting {
		t.Errorf("source state %q, want retrying", st.State)
	}
	// While it stays silent, reconnecting to it never shows as live.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, s := getStream(t, g, "door"); s.State != "reconnecting" {
			t.Fatalf("silent camera: state %q, want reconnecting throughout", s.State)
		}
	}
	cam.frozen.Store(false)
	waitState(t, g, "door", "live", time.Now(), 10*time.Second)
	if v.ConnectionState() != webrtc.PeerConnectionStateConnected {
		t.Errorf("viewer is %s after the outages", v.ConnectionState())
	}
}
