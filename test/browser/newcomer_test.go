package browser

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The newcomer's path: the dashboard shows how to publish, the publisher
// page sends the fake camera and microphone, a second tab plays it, the
// dashboard counts that viewer and drops it when the tab closes.
func TestPublishWatchDashboard(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, nil)
	b := startBrowser(t, chromium)
	base := gw.URL()

	dash := b.newTab("dashboard", base+"/")
	dash.waitJS(10*time.Second, `!document.getElementById("empty").hidden`, "empty state with publish instructions")
	obsURL, err := eval[string](dash, `document.getElementById("howto-obs-url").textContent`)
	if err != nil || obsURL != base+"/whip/mystream" {
		t.Fatalf("OBS instructions show %q (%v), want %s", obsURL, err, base+"/whip/mystream")
	}
	ffmpeg := mustEval[string](dash, `document.getElementById("howto-ffmpeg").textContent`)
	if !strings.Contains(ffmpeg, `-f whip "`+base+`/whip/mystream"`) {
		t.Fatalf("ffmpeg instructions lack this gateway's WHIP URL: %s", ffmpeg)
	}
	dash.screenshot("dashboard-empty.png")

	pub := b.newTab("publisher", base+"/publish/cam1")
	if err := pub.do(10*time.Second, chromedp.Click(chromedp.ID("golive"))); err != nil {
		t.Fatalf("click Go live: %v", err)
	}
	pub.waitJS(15*time.Second, `document.body.dataset.publishState === "live"`, "publisher live")
	pub.waitJS(10*time.Second, `document.getElementById("send-stats").textContent.includes("×")`, "publisher send statistics")
	pub.waitJS(5*time.Second, `document.getElementById("preview").videoWidth > 0`, "camera preview")
	trickled(t, pub, "/whip/cam1")
	watchURL := mustEval[string](pub, `document.getElementById("watch-url").value`)
	if watchURL != base+"/watch/cam1" {
		t.Errorf("share URL %q, want %s", watchURL, base+"/watch/cam1")
	}

	player := b.newTab("player", base+"/watch/cam1?stats=1")
	player.waitJS(15*time.Second, `document.querySelector("video").videoWidth > 0`, "video with a picture")
	_, after := waitGrowth(t, player, true, 25, 10*time.Second)
	trickled(t, player, "/whep/cam1")
	if !after.StereoOffer {
		t.Errorf("player offer lacks stereo=1 on Opus (Chromium would downmix)")
	}
	player.waitJS(5*time.Second, `(() => {
	  const t = document.querySelector(".stats").textContent;
	  return /Resolution\d+×\d+/.test(t) && /Bitrate\d+(\.\d)? (k|M)?bit\/s/.test(t) && /Round trip\d+ ms/.test(t);
	})()`, "stats overlay with resolution, bitrate and round trip")
	// Autoplay is muted; the M key unmutes, S hides the statistics.
	if muted := mustEval[bool](player, `document.querySelector("video").muted`); !muted {
		t.Errorf("player autoplayed with sound; browsers block that, it must start muted")
	}
	if err := player.do(5*time.Second, chromedp.KeyEvent("m"), chromedp.KeyEvent("s")); err != nil {
		t.Fatal(err)
	}
	player.waitJS(5*time.Second, `!document.querySelector("video").muted && document.querySelector(".stats").hidden`,
		"M unmutes and S hides the statistics")
	if err := player.do(5*time.Second, chromedp.KeyEvent("s")); err != nil {
		t.Fatal(err)
	}
	t.Logf("player: %+v", after)

	dash.waitJS(10*time.Second, `(() => {
	  const row = document.querySelector('tr[data-name="cam1"]');
	  return row && row.querySelector(".viewers").dataset.total === "1" && row.querySelector(".badge").dataset.state === "live";
	})()`, "dashboard row cam1 live with one viewer")
	pub.screenshot("publisher-live.png")
	player.screenshot("player-playing.png")
	dash.screenshot("dashboard-one-viewer.png")
	for _, tb := range []*tab{dash, player, pub} {
		phone(t, tb)
	}

	player.close()
	dash.waitJS(10*time.Second, `document.querySelector('tr[data-name="cam1"] .viewers').dataset.total === "0"`,
		"dashboard drops the viewer after the player tab closed")

	if ex := b.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught page exceptions: %v", ex)
	}
}

// phone shows the tab at a phone's size, checks that nothing is wider than
// the screen (no sideways scrolling), saves a screenshot and restores the
// desktop size.
func phone(t *testing.T, tb *tab) {
	t.Helper()
	if err := tb.do(5*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	tb.waitJS(5*time.Second, `document.documentElement.scrollWidth <= window.innerWidth`, "no horizontal overflow at phone width")
	tb.screenshot(strings.ReplaceAll(tb.name, " ", "-") + "-phone.png")
	if err := tb.do(5*time.Second, chromedp.ResetViewport()); err != nil {
		t.Fatal(err)
	}
}

// trickled checks the page's signaling on endpoint: a 201 to its POST,
// then at least one trickle PATCH (RFC 8840 sdpfrag) to the session URL
// that the gateway accepted with 204.
func trickled(t *testing.T, tb *tab, endpoint string) {
	t.Helper()
	tb.waitJS(5*time.Second, fmt.Sprintf(`(() => {
	  const r = window.__requests;
	  const post = r.find((x) => x.method === "POST" && new URL(x.url).pathname === %[1]q && x.status === 201);
	  const patch = r.find((x) => x.method === "PATCH" && new URL(x.url).pathname.startsWith(%[1]q + "/") &&
	    x.type === "application/trickle-ice-sdpfrag" && x.status === 204);
	  return !!(post && patch);
	})()`, endpoint), "POST 201 and a trickle PATCH 204 on "+endpoint)
}
