package browser

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/testutil"
)

// The dashboard's RTSP publish command, copied as a newcomer would, really
// publishes: ffmpeg runs it against this gateway and the player plays it.
// (Its WHIP command needs FFmpeg 8's whip muxer; Debian 12 ships 5.1.)
func TestDashboardRTSPCommandPublishes(t *testing.T) {
	chromium := requireIsolation(t)
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	gw := startGateway(t, nil)
	b := startBrowser(t, chromium)

	dash := b.newTab("dashboard", gw.URL()+"/")
	dash.waitJS(10*time.Second, `!document.getElementById("howto-rtsp").hidden`, "RTSP instructions")
	if _, err := eval[bool](dash, `(() => {
	  const f = document.getElementById("new-name");
	  f.value = "fromffmpeg";
	  f.dispatchEvent(new Event("input"));
	  return true;
	})()`); err != nil {
		t.Fatal(err)
	}
	command, err := eval[string](dash, `document.getElementById("howto-rtsp-publish").textContent`)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Fields(strings.ReplaceAll(command, "\\\n", " "))
	if len(args) < 10 || args[0] != "ffmpeg" {
		t.Fatalf("not an ffmpeg command: %q", command)
	}
	url := strings.Trim(args[len(args)-1], `"`)
	if !strings.HasPrefix(url, "rtsp://127.0.0.1:") || !strings.HasSuffix(url, "/fromffmpeg") {
		t.Fatalf("RTSP URL %q is not this gateway's", url)
	}
	args[len(args)-1] = url
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, ffmpeg, append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, args[1:]...)...)
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

	player := b.newTab("player", gw.URL()+"/watch/fromffmpeg")
	player.waitJS(20*time.Second, `document.querySelector("video").videoWidth === 1280`, "ffmpeg's 1280x720 picture")
	waitGrowth(t, player, true, 25, 10*time.Second)
	dash.waitJS(10*time.Second, `(() => {
	  const row = document.querySelector('tr[data-name="fromffmpeg"]');
	  return row && row.querySelector(".source").textContent === "RTSP publish" && row.querySelector(".viewers").dataset.total === "1";
	})()`, "dashboard row with source RTSP publish and one viewer")
	player.screenshot("player-from-rtsp-ffmpeg.png")
	dash.screenshot("dashboard-rtsp-publish.png")
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
