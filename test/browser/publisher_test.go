package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wishgate/wishgate/internal/config"
)

// apiStream reads GET /api/v1/streams/NAME (loopback needs no admin token).
type apiStream struct {
	State  string `json:"state"`
	Tracks []struct {
		Kind  string `json:"kind"`
		Codec string `json:"codec"`
	} `json:"tracks"`
	Viewers struct {
		WHEP int `json:"whep"`
	} `json:"viewers"`
}

func getStream(t *testing.T, base, name string) (apiStream, int) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/streams/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s apiStream
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
	}
	return s, resp.StatusCode
}

// The publisher's codec choice reaches the gateway, and the embed code it
// shows plays on a page of another origin.
func TestPublisherCodecAndEmbed(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, nil)
	b := startBrowser(t, chromium)
	defer http.DefaultClient.CloseIdleConnections()

	pub := b.newTab("publisher", gw.URL()+"/publish/vp8cam")
	if err := pub.do(10*time.Second,
		chromedp.SetValue(chromedp.ID("codec"), "VP8"),
		chromedp.SetValue(chromedp.ID("resolution"), "640x360"),
		chromedp.Click(chromedp.ID("golive")),
	); err != nil {
		t.Fatal(err)
	}
	pub.waitJS(15*time.Second, `document.body.dataset.publishState === "live"`, "publisher live")
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, status := getStream(t, gw.URL(), "vp8cam")
		var codecs []string
		for _, tr := range s.Tracks {
			codecs = append(codecs, tr.Kind+":"+tr.Codec)
		}
		if strings.Contains(strings.Join(codecs, ","), "video:VP8") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway got %v (HTTP %d), want a VP8 video track", codecs, status)
		}
		time.Sleep(200 * time.Millisecond)
	}

	snippet, err := eval[string](pub, `document.getElementById("embed-code").value`)
	if err != nil || !strings.HasPrefix(snippet, `<iframe src="`+gw.URL()+`/embed/vp8cam"`) {
		t.Fatalf("embed code %q (%v)", snippet, err)
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/component" {
			fmt.Fprintf(w, "<!doctype html><title>Someone's shop</title><h1>Live</h1>\n"+
				"<script type=\"module\" src=\"%s/static/js/wishgate-player.js\"></script>\n"+
				"<wishgate-player stream=\"vp8cam\" style=\"width:640px\"></wishgate-player>\n", gw.URL())
			return
		}
		fmt.Fprintf(w, "<!doctype html><title>Someone's blog</title><h1>My stream</h1>\n%s\n", snippet)
	}))
	defer site.Close()
	host := b.newTab("embedding site", site.URL)
	// The iframe is cross-origin (another port), so look inside it through
	// its own frame.
	frames, err := chromedp.Run(host.ctx, chromedp.Nodes(chromedp.CSS("iframe")))
	if err != nil || len(frames) != 1 {
		t.Fatalf("iframe: %v (%d)", err, len(frames))
	}
	ctx, cancel := context.WithTimeout(host.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[any](`(() => { const v = document.querySelector("video"); return v && v.videoWidth > 0; })()`,
		chromedp.WithPollingInFrame(frames[0]), chromedp.WithPollingInterval(100*time.Millisecond),
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("embedded player shows no picture: %v", err)
	}
	waitViewers(t, gw.URL(), "vp8cam", 1)
	host.screenshot("embed-on-another-site.png")

	// The web component on another site plays too: a second viewer.
	shop := b.newTab("component site", site.URL+"/component")
	shop.waitJS(20*time.Second, `(() => {
	  const el = document.querySelector("wishgate-player");
	  const v = el && el.shadowRoot && el.shadowRoot.querySelector("video");
	  return v && v.videoWidth > 0 && el.player.state === "playing";
	})()`, "<wishgate-player> picture")
	waitViewers(t, gw.URL(), "vp8cam", 2)
	shop.screenshot("component-on-another-site.png")
	shop.close()
	waitViewers(t, gw.URL(), "vp8cam", 1)

	// Microphone only: the gateway answers the player's video m-line as a
	// bundled inactive section (Chromium refuses an answer rejecting the
	// BUNDLE-tag m-line), and the player says "Audio only" over the empty
	// picture while sound flows.
	radio := b.newTab("radio publisher", gw.URL()+"/publish/radio")
	if err := radio.do(10*time.Second,
		chromedp.SetValue(chromedp.ID("source"), "mic"),
		chromedp.Click(chromedp.ID("golive")),
	); err != nil {
		t.Fatal(err)
	}
	radio.waitJS(15*time.Second, `document.body.dataset.publishState === "live"`, "audio-only publisher live")
	listener := b.newTab("radio player", gw.URL()+"/watch/radio")
	listener.waitJS(15*time.Second, `window.wishgate.player.state === "playing" &&
	  document.querySelector(".status-msg").textContent === "Audio only"`, "audio-only playback")
	before := stats(t, listener)
	listener.waitJS(10*time.Second, fmt.Sprintf(`(async () => {
	  let n = 0;
	  (await window.wishgate.player.pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") n = s.packetsReceived; });
	  return n >= %v;
	})()`, before.AudioPackets+25), "audio packets keep arriving")
	listener.screenshot("player-audio-only.png")
}

// waitViewers waits until the gateway counts n WHEP viewers of name.
func waitViewers(t *testing.T, base, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, status := getStream(t, base, name)
		if status == http.StatusOK && s.Viewers.WHEP == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gateway counts %d WHEP viewers, want %d", name, s.Viewers.WHEP, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The publisher page rides out a network outage (ICE restart over PATCH on
// its WHIP session, viewers keep their session) and its Stop button ends
// the session with DELETE.
func TestPublisherRecoversAndStops(t *testing.T) {
	chromium := requireIsolation(t)
	// Media over UDP only: with ICE-TCP on, Chromium (the controlling
	// agent) may move the publisher to its TCP pair when UDP goes dark and
	// never see the outage this test is about.
	gw := startGateway(t, func(c *config.Config) { c.TCPAddr = "" })
	b := startBrowser(t, chromium)
	defer http.DefaultClient.CloseIdleConnections()

	pub := b.newTab("publisher", gw.URL()+"/publish/studio")
	if err := pub.do(10*time.Second, chromedp.Click(chromedp.ID("golive"))); err != nil {
		t.Fatal(err)
	}
	pub.waitJS(15*time.Second, `document.body.dataset.publishState === "live"`, "publisher live")
	player := b.newTab("player", gw.URL()+"/watch/studio")
	player.waitJS(15*time.Second, `window.wishgate.player.state === "playing"`, "player playing")

	restore := dropUDP(t)
	pub.waitJS(20*time.Second, `document.body.dataset.publishState === "reconnecting" &&
	  document.getElementById("state-msg").textContent === "Network changed — reconnecting…"`, "publisher noticing the outage")
	pub.screenshot("publisher-reconnecting.png")
	restore()
	pub.waitJS(15*time.Second, `document.body.dataset.publishState === "live"`, "publisher live again")
	pub.waitJS(5*time.Second, `window.__requests.filter((r) => r.method === "POST" && r.url.endsWith("/whip/studio")).length === 1 &&
	  window.__requests.some((r) => r.method === "PATCH" && r.status === 200)`, "ICE restart (PATCH 200) on the first session, no second POST")
	waitGrowth(t, player, true, 25, 15*time.Second)
	if n := mustEval[int](player, `window.wishgate.player.connections`); n != 1 {
		t.Errorf("the viewer needed %d sessions; the publisher's ICE restart should not disturb it", n)
	}

	if err := pub.do(5*time.Second, chromedp.Click(chromedp.ID("stop"))); err != nil {
		t.Fatal(err)
	}
	pub.waitJS(5*time.Second, `window.__requests.some((r) => r.method === "DELETE" && r.status === 200) &&
	  document.getElementById("preview").srcObject === null && !document.getElementById("golive").disabled`,
		"Stop sends DELETE (200), releases the camera and re-enables Go live")
	// Preview, then a new resolution: the preview is captured again.
	if err := pub.do(5*time.Second, chromedp.Click(chromedp.ID("preview-btn"))); err != nil {
		t.Fatal(err)
	}
	pub.waitJS(10*time.Second, `document.getElementById("preview").videoWidth === 1280`, "720p preview")
	if _, err := eval[bool](pub, `(() => {
	  const r = document.getElementById("resolution");
	  r.value = "640x360";
	  r.dispatchEvent(new Event("change"));
	  return true;
	})()`); err != nil {
		t.Fatal(err)
	}
	pub.waitJS(10*time.Second, `document.getElementById("preview").videoWidth === 640`, "preview captured again at 360p")

	deadline := time.Now().Add(10 * time.Second)
	for {
		s, status := getStream(t, gw.URL(), "studio")
		if status == http.StatusNotFound || s.State != "live" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream still %q after Stop", s.State)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
