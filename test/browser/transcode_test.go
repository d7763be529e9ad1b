package browser

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/testutil"
)

// avProbe is installed in the player's page before its scripts run: it
// wraps RTCPeerConnection to see the viewer's tracks, records when the
// first video frame is decoded (getStats, every 20 ms) and when the audio
// first carries sound (Web Audio, every 10 ms), and keeps an analyser on
// the audio for the test to read the tone's frequency.
const avProbe = `(() => {
  const rec = { videoAt: null, audioAt: null, analyser: null, rate: 0 };
  Object.defineProperty(window, "__av", { value: rec });
  const Orig = window.RTCPeerConnection;
  class Probed extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener("track", (e) => { if (e.track.kind === "audio") listen(e.track); });
      const poll = () => {
        if (rec.videoAt !== null || this.connectionState === "closed") return;
        this.getStats().then((r) => r.forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === "video" && s.framesDecoded > 0 && rec.videoAt === null) {
            rec.videoAt = performance.now();
          }
        })).finally(() => setTimeout(poll, 20));
      };
      poll();
    }
  }
  window.RTCPeerConnection = Probed;
  function listen(track) {
    const ctx = new AudioContext();
    ctx.resume();
    const an = ctx.createAnalyser();
    an.fftSize = 16384;
    ctx.createMediaStreamSource(new MediaStream([track])).connect(an);
    rec.analyser = an;
    rec.rate = ctx.sampleRate;
    const buf = new Float32Array(2048);
    const iv = setInterval(() => {
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      if (Math.sqrt(sum / buf.length) > 0.03) {
        rec.audioAt = performance.now();
        clearInterval(iv);
      }
    }, 10);
  }
})();`

// The peak of the audio's spectrum, in Hz.
const peakFrequency = `(() => {
  const an = window.__av.analyser;
  const bins = new Float32Array(an.frequencyBinCount);
  an.getFloatFrequencyData(bins);
  let best = 1;
  for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  return best * window.__av.rate / an.fftSize;
})()`

// A camera's AAC plays in the browser: the project's RTSP test camera sends
// H.264 and a 1 kHz AAC-LC tone (testdata/audio, made with ffmpeg); the
// player page in Chromium gets the audio as Opus, Web Audio finds the
// 1 kHz tone in it, and the audio starts within a second of the video; the
// dashboard says "AAC → Opus".
func TestCameraAACPlaysInChromium(t *testing.T) {
	chromium := requireIsolation(t)
	testutil.RequireTranscoder(t)
	gw := startGateway(t, nil)
	cam := testutil.StartAVCamera(t, testutil.AVCameraConfig{AAC: "tone-1k-48k-stereo.aac"})
	if err := gw.Sources().Add(bridge.SourceConfig{Name: "cam", URL: cam.URL, Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, chromium)
	player := b.newTab("player", "about:blank")
	if err := player.do(10*time.Second, chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: avProbe})
		return chromedp.Void{}, err
	}), chromedp.Navigate(gw.URL()+"/watch/cam")); err != nil {
		t.Fatal(err)
	}
	player.waitJS(20*time.Second, `window.__av.videoAt !== null && window.__av.audioAt !== null`, "video decoded and audio heard")
	times, err := eval[[]float64](player, `[window.__av.videoAt, window.__av.audioAt]`)
	if err != nil {
		t.Fatal(err)
	}
	gap := time.Duration((times[1] - times[0]) * float64(time.Millisecond))
	t.Logf("audio heard %v after the first video frame", gap.Round(time.Millisecond))
	if gap > time.Second || gap < -time.Second {
		t.Fatalf("audio started %v after video, want within a second", gap)
	}
	// A full analyser window (16384 samples, 0.34 s at 48 kHz) of tone.
	player.waitJS(5*time.Second, `performance.now() - window.__av.audioAt > 500`, "half a second of audio")
	f, err := eval[float64](player, peakFrequency)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("decoded audio peaks at %.1f Hz", f)
	if math.Abs(f-1000) > 10 {
		t.Fatalf("the browser hears %.1f Hz, want the camera's 1000 Hz tone", f)
	}
	codec, err := eval[string](player, `(async () => {
	  const r = await window.wishgate.player.pc.getStats();
	  let c = "";
	  r.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") c = r.get(s.codecId).mimeType; });
	  return c;
	})()`)
	if err != nil || codec != "audio/opus" {
		t.Fatalf("audio codec %q (%v), want audio/opus", codec, err)
	}
	// The dashboard lists the camera's audio as transcoded, running for
	// the player.
	dash := b.newTab("dashboard", gw.URL()+"/")
	dash.waitJS(15*time.Second, `(() => {
	  const row = document.querySelector('tr[data-name="cam"]');
	  return !!row && row.textContent.includes("AAC → Opus, transcoding");
	})()`, `the camera's row saying "AAC → Opus, transcoding"`)
}
