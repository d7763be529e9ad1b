package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// mediaStats is what the player's RTCPeerConnection reports, read in the page.
type mediaStats struct {
	VideoWidth    int     `json:"videoWidth"`
	FramesDecoded float64 `json:"framesDecoded"`
	AudioPackets  float64 `json:"audioPackets"`
	StereoOffer   bool    `json:"stereoOffer"`
	State         string  `json:"state"`
}

const readStats = `(async () => {
  const p = window.wishgate && window.wishgate.player;
  const out = { videoWidth: document.querySelector("video").videoWidth, framesDecoded: 0, audioPackets: 0,
                stereoOffer: false, state: p ? p.state : "" };
  if (!p || !p.pc) return out;
  const r = await p.pc.getStats();
  r.forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "video") out.framesDecoded = s.framesDecoded || 0;
    if (s.kind === "audio") out.audioPackets = s.packetsReceived || 0;
  });
  out.stereoOffer = !!p.pc.localDescription && /a=fmtp:\d+ .*stereo=1/.test(p.pc.localDescription.sdp);
  return out;
})()`

func stats(t *testing.T, tb *tab) mediaStats {
	t.Helper()
	s, err := eval[mediaStats](tb, readStats)
	if err != nil {
		t.Fatalf("%s: read stats: %v", tb.name, err)
	}
	return s
}

// waitGrowth polls until framesDecoded (and, if audio, audio packets) grew
// by at least min over the start value: the picture is moving, not frozen.
func waitGrowth(t *testing.T, tb *tab, audio bool, min float64, timeout time.Duration) (before, after mediaStats) {
	t.Helper()
	before = stats(t, tb)
	deadline := time.Now().Add(timeout)
	for {
		after = stats(t, tb)
		if after.FramesDecoded-before.FramesDecoded >= min && (!audio || after.AudioPackets-before.AudioPackets >= min) {
			return before, after
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: media did not flow within %v: before %+v, after %+v", tb.name, timeout, before, after)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

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
	ffmpeg, _ := eval[string](dash, `document.getElementById("howto-ffmpeg").textContent`)
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
	watchURL, _ := eval[string](pub, `document.getElementById("watch-url").value`)
	if watchURL != base+"/watch/cam1" {
		t.Errorf("share URL %q, want %s", watchURL, base+"/watch/cam1")
	}

	player := b.newTab("player", base+"/watch/cam1?stats=1")
	player.waitJS(15*time.Second, `document.querySelector("video").videoWidth > 0`, "video with a picture")
	_, after := waitGrowth(t, player, true, 25, 10*time.Second)
	if !after.StereoOffer {
		t.Errorf("player offer lacks stereo=1 on Opus (Chromium would downmix)")
	}
	player.waitJS(5*time.Second, `(() => {
	  const t = document.querySelector(".stats").textContent;
	  return /Resolution\d+×\d+/.test(t) && /Bitrate\d+(\.\d)? (k|M)?bit\/s/.test(t) && /Round trip\d+ ms/.test(t);
	})()`, "stats overlay with resolution, bitrate and round trip")
	// Autoplay is muted; the M key unmutes, S hides the statistics.
	if muted, _ := eval[bool](player, `document.querySelector("video").muted`); !muted {
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

// A viewer who arrives first waits, in words, and playback starts by itself
// when a publisher appears.
func TestPlayerWaitsForPublisher(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, nil)
	b := startBrowser(t, chromium)

	player := b.newTab("player", gw.URL()+"/watch/later")
	player.waitJS(10*time.Second, `window.wishgate.player.state === "waiting" &&
	  document.querySelector(".status-msg").textContent.includes("not live yet")`, "waiting message")
	player.screenshot("player-waiting.png")

	publishClip(t, gw.URL()+"/whip/later")
	player.waitJS(20*time.Second, `document.querySelector("video").videoWidth === 320`, "video of the pion publisher (320 wide)")
	waitGrowth(t, player, false, 25, 10*time.Second)
	player.waitJS(5*time.Second, `window.wishgate.player.state === "playing"`, "playing state")
	player.screenshot("player-after-wait.png")
	if ex := b.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught page exceptions: %v", ex)
	}
}

// Refusals are explained in words, with a way out, never a blank video.
func TestPlayerTokenErrors(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, func(c *config.Config) { c.ReadTokens = []string{"s3cret"} })
	b := startBrowser(t, chromium)

	player := b.newTab("player", gw.URL()+"/watch/locked")
	player.waitJS(10*time.Second, `document.querySelector(".status-msg").textContent === "This stream needs a token" &&
	  !document.querySelector(".token-form").hidden`, "token prompt")
	if err := player.do(5*time.Second,
		chromedp.SendKeys(chromedp.CSS(".token-form input"), "wrong"),
		chromedp.Click(chromedp.CSS(".token-form button")),
	); err != nil {
		t.Fatal(err)
	}
	player.waitJS(10*time.Second, `document.querySelector(".status-msg").textContent === "Token rejected"`, "token rejected message")
	player.screenshot("player-token-rejected.png")

	// The right token gets past auth: the stream is not live, so it waits.
	good := b.newTab("player-with-token", gw.URL()+"/watch/locked?token=s3cret")
	good.waitJS(10*time.Second, `window.wishgate.player.state === "waiting"`, "waiting with a valid token")
}

// The player rides out what happens to real streams: a network outage
// (ICE restart over PATCH), a publisher that reconnects within the grace period
// (same session, media resumes), and one that comes back only after it
// (the session ends; the player waits on 409 and starts a new session).
func TestPlayerRecovers(t *testing.T) {
	chromium := requireIsolation(t)
	// Longer than the player's 3 s "stalled" notice, short enough to wait out.
	gw := startGateway(t, func(c *config.Config) { c.GracePeriod = 5 * time.Second })
	b := startBrowser(t, chromium)
	whip := gw.URL() + "/whip/cam"

	first := publishClip(t, whip)
	player := b.newTab("player", gw.URL()+"/watch/cam")
	player.waitJS(20*time.Second, `document.querySelector("video").videoWidth === 320`, "first picture")
	waitGrowth(t, player, false, 10, 10*time.Second)

	// Network outage: every UDP packet on lo is dropped (HTTP still works)
	// until the player has noticed and restarted ICE over PATCH.
	before, err := eval[string](player, `window.wishgate.player.peer.remoteSdp.match(/a=ice-ufrag:(.*)/)[1]`)
	if err != nil {
		t.Fatal(err)
	}
	restore := dropUDP(t)
	player.waitJS(20*time.Second, `window.wishgate.player.iceRestarts >= 1`, "ICE restart during the outage")
	player.screenshot("player-network-outage.png")
	restore()
	player.waitJS(15*time.Second, `window.wishgate.player.pc.connectionState === "connected"`, "connected after the outage")
	waitGrowth(t, player, false, 10, 10*time.Second)
	after, _ := eval[string](player, `window.wishgate.player.peer.remoteSdp.match(/a=ice-ufrag:(.*)/)[1]`)
	if after == before {
		t.Errorf("the gateway's ICE credentials did not change: no ICE restart took place")
	}
	if n, _ := eval[int](player, `window.wishgate.player.connections`); n != 1 {
		t.Errorf("player opened %d sessions; the ICE restart should have kept the first", n)
	}

	// The publisher reconnects within the grace period: same session.
	first.stop()
	player.waitJS(10*time.Second, `window.wishgate.player.state === "stalled"`, "stalled message while the publisher is away")
	player.screenshot("player-stalled.png")
	second := publishClip(t, whip)
	waitGrowth(t, player, false, 10, 15*time.Second)
	if n, _ := eval[int](player, `window.wishgate.player.connections`); n != 1 {
		t.Errorf("player opened %d sessions; a publisher back within the grace period must not cost a reconnect", n)
	}

	// Away longer than the grace period: the gateway ends the session; the
	// player waits and starts a fresh one when the stream is back.
	second.stop()
	player.waitJS(20*time.Second, `window.wishgate.player.state === "waiting"`, "waiting after the grace period")
	publishClip(t, whip)
	player.waitJS(20*time.Second, `window.wishgate.player.state === "playing" && window.wishgate.player.connections === 2`, "playing on a new session")
	waitGrowth(t, player, false, 10, 10*time.Second)
	if ex := b.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught page exceptions: %v", ex)
	}
}

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
	if s, _ := getStream(t, gw.URL(), "vp8cam"); s.Viewers.WHEP != 1 {
		t.Errorf("gateway counts %d WHEP viewers, want the embedded player", s.Viewers.WHEP)
	}
	host.screenshot("embed-on-another-site.png")

	// Microphone only: the gateway rejects the player's video m-line, and
	// the player says "Audio only" over the empty picture while sound flows.
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

// dropUDP makes lo drop every UDP packet (TCP, so HTTP, still passes) and
// returns the func that lifts it. tc acts on this test's private namespace
// only. The leaf queue of the UDP class holds zero packets, so they are
// dropped on arrival (no drop action module is needed in the kernel).
func dropUDP(t *testing.T) (restore func()) {
	t.Helper()
	testutil.RequireTool(t, "tc")
	tc := func(args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "tc", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("tc %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	for _, cmd := range [][]string{
		{"qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit"},
		{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit"},
		{"qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "pfifo", "limit", "0"},
		{"filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", "protocol", "17", "0xff", "flowid", "1:20"},
	} {
		if err := tc(cmd...); err != nil {
			_ = tc("qdisc", "del", "dev", "lo", "root")
			t.Fatal(err)
		}
	}
	var once sync.Once
	restore = func() {
		once.Do(func() {
			if err := tc("qdisc", "del", "dev", "lo", "root"); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(restore)
	return restore
}

// With an admin token configured the dashboard asks for it, says when it is
// wrong and shows the streams with the right one; the publisher page says
// when its publish token is refused.
func TestTokenPrompts(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, func(c *config.Config) {
		c.AdminToken = "adm1n"
		c.PublishTokens = []string{"pub"}
	})
	b := startBrowser(t, chromium)

	dash := b.newTab("dashboard", gw.URL()+"/")
	dash.waitJS(10*time.Second, `!document.getElementById("admin-form").hidden &&
	  document.getElementById("api-status").textContent === "Enter the admin token to see the streams."`, "admin token prompt")
	if err := dash.do(5*time.Second,
		chromedp.SendKeys(chromedp.ID("admin-token"), "nope"),
		chromedp.Click(chromedp.CSS("#admin-form button")),
	); err != nil {
		t.Fatal(err)
	}
	dash.waitJS(10*time.Second, `document.getElementById("api-status").textContent.startsWith("Admin token rejected")`, "wrong admin token")
	dash.screenshot("dashboard-admin-token-rejected.png")
	if err := dash.do(5*time.Second,
		chromedp.SetValue(chromedp.ID("admin-token"), "adm1n"),
		chromedp.Click(chromedp.CSS("#admin-form button")),
	); err != nil {
		t.Fatal(err)
	}
	dash.waitJS(10*time.Second, `document.getElementById("admin-form").hidden && !document.getElementById("empty").hidden &&
	  document.getElementById("api-status").textContent.startsWith("0 streams")`, "dashboard with the right admin token")

	pub := b.newTab("publisher", gw.URL()+"/publish/cam?token=wrong")
	if err := pub.do(10*time.Second, chromedp.Click(chromedp.ID("golive"))); err != nil {
		t.Fatal(err)
	}
	pub.waitJS(15*time.Second, `document.body.dataset.publishState === "error" &&
	  document.getElementById("state-msg").textContent === "Token rejected"`, "publish token rejected")
	pub.screenshot("publisher-token-rejected.png")
}

// Camera streams the gateway pulls itself show their own states: an
// on-demand camera nobody watches is "on demand", an unreachable one is
// "source reconnecting"; the camera password never reaches the page, and a
// camera stream offers no "Publish" link.
func TestDashboardCameraStates(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, nil)
	b := startBrowser(t, chromium)
	defer http.DefaultClient.CloseIdleConnections()
	put := func(name, body string) {
		req, _ := http.NewRequest(http.MethodPut, gw.URL()+"/api/v1/sources/"+name, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT source %s: HTTP %d", name, resp.StatusCode)
		}
	}
	// Port 1 on loopback refuses connections: the camera never answers.
	put("door", `{"url":"rtsp://admin:s3cretpw@127.0.0.1:1/stream1","on_demand":true}`)
	put("yard", `{"url":"rtsp://127.0.0.1:1/stream2","on_demand":false}`)

	dash := b.newTab("dashboard", gw.URL()+"/")
	dash.waitJS(15*time.Second, `(() => {
	  const door = document.querySelector('tr[data-name="door"]');
	  const yard = document.querySelector('tr[data-name="yard"]');
	  return door && yard &&
	    door.querySelector(".badge").textContent === "on demand" &&
	    yard.querySelector(".badge").textContent === "source reconnecting" &&
	    door.querySelector(".source").textContent.startsWith("RTSP camera") &&
	    door.querySelector(".actions a:last-child").hidden;
	})()`, "camera rows with their states")
	if leaked, _ := eval[bool](dash, `document.body.innerHTML.includes("s3cretpw")`); leaked {
		t.Errorf("the camera password reached the dashboard")
	}
	dash.screenshot("dashboard-cameras.png")
}
