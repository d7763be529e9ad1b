package browser

import (
	"fmt"
	"strings"
	"sync"
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
//
// On a loaded machine Chromium also freezes when the machine stops running
// the camera, the gateway or the page for a moment: a freeze counted within
// 1.5 s of such a stall (a 10 ms timer 100 ms late, in this process or on
// the page) is logged, not held against the burst; any other freeze fails.
// The frame, keyframe and drop counts hold whatever the load.
func TestCameraStartBurstPlaysSmoothly(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
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
	// What a freeze may owe to the machine rather than to the burst: stalls
	// of this process (camera and gateway) and of the page's main thread.
	stalls := watchStalls(t)
	player := b.newTab("player", gw.URL()+"/watch/cam")
	if _, err := eval[bool](player, pageStallWatch); err != nil {
		t.Fatal(err)
	}
	player.waitJS(20*time.Second, `document.querySelector("video").videoWidth === 640`, "the camera's picture")
	joined := time.Time{}
	if info, ok := gw.Registry.Info("cam"); ok && len(info.Subscribers) == 1 {
		joined = info.Subscribers[0].Since // the viewer can receive nothing before
	} else {
		t.Fatalf("the stream has %d readers, want the player", len(info.Subscribers))
	}
	// Observe until 6 s of pictures have been decoded (at most 15 s),
	// noting when each freeze was counted.
	start := time.Now()
	p := readPlaybackStats(t, player)
	window := time.Since(joined)
	var unexplained, explained []string
	// A freeze counted in (from, now] spans up to its duration before that,
	// and its cause up to a jitter buffer earlier.
	judge := func(before float64, from time.Time) {
		if p.Freezes == before {
			return
		}
		what := fmt.Sprintf("%.0f freeze(s) counted %v–%v after the join", p.Freezes-before,
			max(0, from.Sub(joined)).Round(100*time.Millisecond), time.Since(joined).Round(100*time.Millisecond))
		if gap, ok := stalls.during(t, player, from.Add(-1500*time.Millisecond), time.Now()); ok {
			explained = append(explained, fmt.Sprintf("%s, during a %v stall of the machine", what, gap.Round(time.Millisecond)))
		} else {
			unexplained = append(unexplained, what)
		}
	}
	judge(0, joined)
	for p.Decoded < 25*6 && time.Since(start) < 15*time.Second {
		time.Sleep(200 * time.Millisecond)
		before, from := p.Freezes, time.Now()
		p = readPlaybackStats(t, player)
		window = time.Since(joined) // read after the stats: an upper bound on the time to receive them
		judge(before, from)
	}
	t.Logf("%.0f frames received in %v, %.0f decoded, %.0f dropped, %.0f keyframes, %.0f freezes (%.2fs), jitter buffer %.0f ms a frame",
		p.Received, window.Round(time.Millisecond), p.Decoded, p.Dropped, p.Keyframes, p.Freezes, p.FreezeTime, 1000*p.JitterDelay/max(1, p.JitterFrames))
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
	for _, e := range explained {
		t.Logf("not held against the burst: %s", e)
	}
	if len(unexplained) > 0 {
		t.Errorf("freezes (%.0f, %.2f s in all) with no stall of the machine to explain them: %s", p.Freezes, p.FreezeTime, strings.Join(unexplained, "; "))
	}
	if p.Decoded < 25*6 {
		t.Errorf("only %.0f frames decoded in %v", p.Decoded, window)
	}
}

// stallThreshold: a timer this late means the machine did not run the
// process for that long; Chromium calls a gap of 150 ms past the frame
// interval a freeze.
const stallThreshold = 100 * time.Millisecond

// pageStallWatch records in window.__stalls every gap of the page's main
// thread past stallThreshold, as [end (ms since the epoch), gap (ms)].
var pageStallWatch = fmt.Sprintf(`(() => {
  window.__stalls = [];
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > %d) window.__stalls.push([Date.now(), now - last]);
    last = now;
  }, 10);
  return true;
})()`, stallThreshold.Milliseconds())

// stallLog is this process's stalls: a goroutine's 10 ms ticks that came
// stallThreshold or more late.
type stallLog struct {
	mu   sync.Mutex
	gaps [][2]time.Time // start, end
	stop chan struct{}
	done chan struct{}
}

func watchStalls(t *testing.T) *stallLog {
	l := &stallLog{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-l.stop:
				return
			case now := <-tick.C:
				if now.Sub(last) >= stallThreshold {
					l.mu.Lock()
					l.gaps = append(l.gaps, [2]time.Time{last, now})
					l.mu.Unlock()
				}
				last = now
			}
		}
	}()
	t.Cleanup(func() { close(l.stop); <-l.done })
	return l
}

// during reports the longest stall, of this process or of the page, that
// overlaps [from, to].
func (l *stallLog) during(t *testing.T, page *tab, from, to time.Time) (time.Duration, bool) {
	t.Helper()
	var longest time.Duration
	consider := func(start, end time.Time) {
		if end.After(from) && start.Before(to) && end.Sub(start) > longest {
			longest = end.Sub(start)
		}
	}
	l.mu.Lock()
	for _, g := range l.gaps {
		consider(g[0], g[1])
	}
	l.mu.Unlock()
	pageGaps, err := eval[[][2]float64](page, `window.__stalls`)
	if err != nil {
		t.Fatalf("read the page's stalls: %v", err)
	}
	for _, g := range pageGaps {
		end := time.UnixMilli(int64(g[0]))
		consider(end.Add(-time.Duration(g[1]*float64(time.Millisecond))), end)
	}
	return longest, longest > 0
}
