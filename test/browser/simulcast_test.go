package browser

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/streams"
)

// layersOf waits until the stream's video has n active layers whose sizes
// are known, and returns them lowest first.
func layersOf(t *testing.T, gw *app.App, name string, n int, timeout time.Duration) []streams.LayerInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []streams.LayerInfo
	for {
		if info, ok := gw.Registry.Info(name); ok {
			for _, tr := range info.Tracks {
				if tr.Kind != streams.KindVideo {
					continue
				}
				last = tr.Layers
				ok := len(tr.Layers) == n
				for _, l := range tr.Layers {
					ok = ok && l.Active && l.Width > 0
				}
				if ok {
					return streams.Ranked(tr.Layers)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: want %d active layers with their sizes within %v, have %+v", name, n, timeout, last)
		}
		time.Sleep(200 * time.Millisecond) // polling, bounded by the deadline
	}
}

// Real Chromium publishes simulcast from the publisher page (three layers
// of a 1280x720 camera, VP8 and then H.264); a real Chromium viewer plays
// the top layer by default, the low one with ?layer=low, and moves to the
// low one when the quality menu says so (the WHEP layer extension over its
// event stream and POST). Every picture is decoded, not only received.
func TestSimulcastFromChromium(t *testing.T) {
	chromium := requireIsolation(t)
	for _, codec := range []string{"VP8", "H264"} {
		t.Run(codec, func(t *testing.T) {
			gw := startGateway(t, nil)
			b := startBrowser(t, chromium)
			name := "sim-" + strings.ToLower(codec)
			pub := b.newTab("publisher", gw.URL()+"/publish/"+name+"?simulcast=1")
			if err := pub.do(10*time.Second,
				chromedp.SetValue(chromedp.ID("codec"), codec),
				chromedp.SetValue(chromedp.ID("resolution"), "1280x720"),
				chromedp.SetValue(chromedp.ID("bitrate"), "4000000"),
				chromedp.Click(chromedp.ID("golive")),
			); err != nil {
				t.Fatal(err)
			}
			pub.waitJS(15*time.Second, `document.body.dataset.publishState === "live"`, "publisher live")
			// Chromium starts low and enables the upper layers as its
			// bandwidth estimate grows (the gateway sends it TWCC feedback).
			layers := layersOf(t, gw, name, 3, 40*time.Second)
			low, top := layers[0], layers[len(layers)-1]
			t.Logf("layers: %+v", layers)
			if top.Width <= low.Width {
				t.Fatalf("the layers' sizes do not differ: %+v", layers)
			}
			codecSeen := false
			info, _ := gw.Registry.Info(name)
			for _, tr := range info.Tracks {
				codecSeen = codecSeen || tr.Kind == streams.KindVideo && strings.EqualFold(tr.Codec.Name(), codec)
			}
			if !codecSeen {
				t.Fatalf("the stream's video is not %s: %+v", codec, info.Tracks)
			}

			def := b.newTab("viewer", gw.URL()+"/watch/"+name+"?stats=1")
			def.waitJS(30*time.Second, fmt.Sprintf(`document.querySelector("video").videoWidth === %d`, top.Width), "the top layer by default")
			waitGrowth(t, def, true, 30, 15*time.Second)
			lowTab := b.newTab("low viewer", gw.URL()+"/watch/"+name+"?layer=low")
			lowTab.waitJS(30*time.Second, fmt.Sprintf(`document.querySelector("video").videoWidth === %d`, low.Width), "the low layer with ?layer=low")
			waitGrowth(t, lowTab, false, 30, 15*time.Second)
			lowTab.screenshot("simulcast-" + codec + "-low.png")

			// The quality menu: Auto and the three layers; the overlay names
			// the layer being played.
			def.waitJS(15*time.Second, `(() => { const q = document.querySelector("select.quality");
			  return q && !q.hidden && q.options.length === 4 && q.value === "auto"; })()`, "the quality menu")
			def.waitJS(10*time.Second, `/Layer/.test(document.querySelector(".stats").innerText)`, "the layer in the statistics overlay")
			if _, err := eval[bool](def, fmt.Sprintf(`(() => { const q = document.querySelector("select.quality");
			  q.value = %q; return q.dispatchEvent(new Event("change")); })()`, low.RID)); err != nil {
				t.Fatal(err)
			}
			def.waitJS(20*time.Second, fmt.Sprintf(`document.querySelector("video").videoWidth === %d`, low.Width), "the low layer chosen in the menu")
			waitGrowth(t, def, false, 30, 15*time.Second)
			if n, _ := eval[int](def, `window.wishgate.player.connections`); n != 1 {
				t.Errorf("the player opened %d sessions: the layer changed on the running one", n)
			}
			def.screenshot("simulcast-" + codec + "-menu.png")

			// The dashboard lists the layers and each viewer's layer.
			dash := b.newTab("dashboard", gw.URL()+"/")
			dash.waitJS(15*time.Second, fmt.Sprintf(`(() => { const row = document.querySelector('tr[data-name=%q]');
			  if (!row) return false;
			  const tracks = row.querySelector("td.tracks").innerText, viewers = row.querySelector("td.viewers");
			  viewers.querySelector("details") && (viewers.querySelector("details").open = true);
			  return tracks.includes("simulcast:") && tracks.includes(%q) && /layers: .*%s×2/.test(viewers.innerText); })()`,
				name, fmt.Sprintf("%d×%d", top.Width, top.Height), low.RID),
				"the layers and the viewers' layers on the dashboard")
			dash.screenshot("simulcast-" + codec + "-dashboard.png")
			if ex := b.exceptions(); len(ex) > 0 {
				t.Errorf("uncaught page exceptions: %v", ex)
			}
		})
	}
}
