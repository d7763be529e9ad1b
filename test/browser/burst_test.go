package browser

import (
	"testing"
	"time"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/testutil"
)

// playback is the player's inbound video as Chromium counts it.
type playback struct {
	Found        bool    `json:"found"`
	Received     float64 `json:"framesReceived"`
	Decoded      float64 `json:"framesDecoded"`
	Dropped      float64 `json:"framesDropped"`
	Keyframes    float64 `json:"keyFramesDecoded"`
	Freezes      float64 `json:"freezeCount"`
	FreezeTime   float64 `json:"totalFreezesDuration"`
	JitterDelay  float64 `json:"jitterBufferDelay"`
	JitterFrames float64 `json:"jitterBufferEmittedCount"`
}

const readPlayback = `(async () => {
  const out = { found: false };
  const r = await window.wishgate.player.pc.getStats();
  r.forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "video") return;
    out.found = true;
    for (const k of ["framesReceived", "framesDecoded", "framesDropped", "keyFramesDecoded", "freezeCount",
                     "totalFreezesDuration", "jitterBufferDelay", "jitterBufferEmittedCount"]) out[k] = s[k] || 0;
  });
  return out;
})()`

func readPlaybackStats(t *testing.T, tb *tab) playback {
	t.Helper()
	p, err := eval[playback](tb, readPlayback)
	if err != nil {
		t.Fatalf("%s: getStats: %v", tb.name, err)
	}
	if !p.Found {
		t.Fatalf("%s: getStats has no inbound video", tb.name)
	}
	return p
}

// A camera like gst-rtsp-server with x264enc (25 fps, a keyframe every 2 s,
// each picture opened by an access unit delimiter in its own packet) plays
// in Chromium without a dropped-frame storm or a freeze for a viewer that
// joins late in a GOP: it is sent that GOP and nothing older. (When the GOP
// cache missed keyframes behind a delimiter, such a viewer got every GOP
// since the camera started: hundreds of pictures in a second, dropped
// frames, a freeze and a jitter buffer growing by the second.)
func TestCameraStartBurstPlaysSmoothly(t *testing.T) {
	chromium := requireIsolation(t)
	aus := testutil.EncodeH264(t, "640x360", 25, 8, "keyint=50:min-keyint=50:scenecut=0:aud=1")
	cam := testutil.StartCamera(t, aus, 25, testutil.CameraOptions{})
	gw := startGateway(t, nil)
	if err := gw.Sources().Add(bridge.SourceConfig{Name: "cam", URL: cam.URL}); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, chromium)

	// Let the camera run several GOPs, then join 1.5 s into one.
	var keyframes uint64
	var keyAt time.Time
	deadline := time.Now().Add(30 * time.Second)
	gops := 0
	for gops < 4 || time.Since(keyAt) < 1500*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("camera did not run 4 GOPs (keyframes seen: %d)", gops)
		}
		if info, ok := gw.Registry.Info("cam"); ok && len(info.Tracks) > 0 && info.Tracks[0].Keyframes != keyframes {
			if keyframes != 0 || info.Tracks[0].Keyframes > 0 {
				gops++
			}
			keyframes, keyAt = info.Tracks[0].Keyframes, time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
	player := b.newTab("player", gw.URL()+"/watch/cam")
	player.waitJS(20*time.Second, `document.querySelector("video").videoWidth === 640`, "the camera's picture")
	// Observe until 6 s of pictures have been decoded (at most 15 s).
	start := time.Now()
	var p playback
	for p = readPlaybackStats(t, player); p.Decoded < 25*6 && time.Since(start) < 15*time.Second; p = readPlaybackStats(t, player) {
		time.Sleep(200 * time.Millisecond)
	}
	window := time.Since(start) + 2*time.Second // and the join before the first picture
	t.Logf("%.0f frames received, %.0f decoded, %.0f dropped, %.0f keyframes, %.0f freezes (%.2fs), jitter buffer %.0f ms a frame",
		p.Received, p.Decoded, p.Dropped, p.Keyframes, p.Freezes, p.FreezeTime, 1000*p.JitterDelay/max(1, p.JitterFrames))
	// One cached GOP (at most 50 pictures) and 25 a second live.
	if limit := 50 + 25*window.Seconds(); p.Received > limit {
		t.Errorf("%.0f frames received within %v, want at most %.0f: the start burst spans more than one GOP", p.Received, window, limit)
	}
	if limit := 1 + window.Seconds()/2 + 1; p.Keyframes > limit {
		t.Errorf("%.0f keyframes decoded, want at most %.0f (the cached one and one per 2 s live)", p.Keyframes, limit)
	}
	if p.Dropped > 10 {
		t.Errorf("%.0f frames dropped", p.Dropped)
	}
	if p.Freezes > 0 {
		t.Errorf("%.0f freezes (%.2f s)", p.Freezes, p.FreezeTime)
	}
	if p.Decoded < 25*6 {
		t.Errorf("only %.0f frames decoded in %v", p.Decoded, window)
	}
}
