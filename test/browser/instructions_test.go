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
