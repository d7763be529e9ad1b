package browser

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

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
	after := mustEval[string](player, `window.wishgate.player.peer.remoteSdp.match(/a=ice-ufrag:(.*)/)[1]`)
	if after == before {
		t.Errorf("the gateway's ICE credentials did not change: no ICE restart took place")
	}
	if n := mustEval[int](player, `window.wishgate.player.connections`); n != 1 {
		t.Errorf("player opened %d sessions; the ICE restart should have kept the first", n)
	}

	// The publisher reconnects within the grace period: same session.
	first.stop()
	player.waitJS(10*time.Second, `window.wishgate.player.state === "stalled"`, "stalled message while the publisher is away")
	player.screenshot("player-stalled.png")
	second := publishClip(t, whip)
	waitGrowth(t, player, false, 10, 15*time.Second)
	if n := mustEval[int](player, `window.wishgate.player.connections`); n != 1 {
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

// A stream in a codec the browser cannot decode is explained in words
// instead of a black picture: Chromium without a hardware decoder offers no
// H.265 in WHEP, so the gateway answers 422 and the player names the codec.
func TestPlayerNamesUndecodableCodec(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, nil)
	b := startBrowser(t, chromium)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, gw.URL()+"/whip/hevc", client.PublishOptions{Options: client.Options{
		NoAudio: true, VideoCodecs: client.Codecs(client.CodecH265),
	}})
	if err != nil {
		t.Fatalf("H.265 publisher: %v", err)
	}
	defer pub.Close()
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	player := b.newTab("player", gw.URL()+"/watch/hevc")
	canH265, err := eval[bool](player, `RTCRtpReceiver.getCapabilities("video").codecs.some((c) => /h265/i.test(c.mimeType))`)
	if err != nil {
		t.Fatal(err)
	}
	if canH265 {
		t.Skip("this Chromium decodes H.265 (hardware decoder present); nothing to refuse")
	}
	player.waitJS(15*time.Second, `document.querySelector(".status-msg").textContent === "Your browser cannot decode H.265" &&
	  !document.querySelector(".retry").hidden`, "H.265 refusal in words, with a retry button")
	player.screenshot("player-cannot-decode-h265.png")
}

// Stereo Opus plays as stereo: ffmpeg publishes a tone on the right
// channel only (silence on the left) over RTSP, and the player's decoded
// audio, measured per channel with Web Audio, keeps it on the right.
// Chromium downmixes to mono unless the player's offer asks for stereo,
// which would put the tone on channel 0.
func TestPlayerKeepsOpusStereo(t *testing.T) {
	chromium := requireIsolation(t)
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	gw := startGateway(t, nil)
	b := startBrowser(t, chromium)
	rtspURL := "rtsp://" + gw.RTSPAddr().String() + "/stereo"

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-filter_complex", "[0:a][1:a]join=inputs=2:channel_layout=stereo[a]", "-map", "[a]",
		"-c:a", "libopus", "-ac", "2", "-b:a", "128k", "-f", "rtsp", "-rtsp_transport", "tcp", rtspURL)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("ffmpeg output:\n%s", out.String())
		}
	})

	player := b.newTab("player", gw.URL()+"/watch/stereo")
	player.waitJS(20*time.Second, `window.wishgate.player.state === "playing"`, "audio playing")
	levels, err := eval[[]float64](player, `(async () => {
	  const ctx = new AudioContext();
	  await ctx.resume();
	  const src = ctx.createMediaStreamSource(document.querySelector("video").srcObject);
	  const split = ctx.createChannelSplitter(2);
	  src.connect(split);
	  const analysers = [0, 1].map((i) => {
	    const a = ctx.createAnalyser();
	    a.fftSize = 4096;
	    split.connect(a, i);
	    return a;
	  });
	  const peak = [0, 0];
	  for (let n = 0; n < 20; n++) {
	    await new Promise((r) => setTimeout(r, 100));
	    analysers.forEach((a, i) => {
	      const buf = new Float32Array(a.fftSize);
	      a.getFloatTimeDomainData(buf);
	      peak[i] = Math.max(peak[i], Math.sqrt(buf.reduce((s, x) => s + x * x, 0) / buf.length));
	    });
	  }
	  await ctx.close();
	  return peak;
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("decoded RMS: left %.4f, right %.4f", levels[0], levels[1])
	if levels[1] < 0.05 || levels[0] > levels[1]/10 {
		t.Fatalf("tone not kept on the right channel (left %.4f, right %.4f): Opus was not decoded as stereo", levels[0], levels[1])
	}
}
