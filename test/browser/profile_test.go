package browser

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
)

// The dashboard flags a track browsers cannot decode (here H.264 High
// 4:4:4 Predictive, what libx264 makes of an RGB test pattern) and says
// how to publish one they can.
func TestDashboardFlagsUndecodableProfile(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, nil)
	vc := client.CodecH264High.Params()
	vc.SDPFmtpLine = strings.Replace(vc.SDPFmtpLine, "profile-level-id=64001f", "profile-level-id=f4001f", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, gw.URL()+"/whip/rgb", client.PublishOptions{
		Options: client.Options{NoAudio: true, VideoCodecs: []webrtc.RTPCodecParameters{vc}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	b := startBrowser(t, chromium)
	dash := b.newTab("dashboard", gw.URL()+"/")
	dash.waitJS(15*time.Second, `(() => {
	  const row = document.querySelector('tr[data-name="rgb"]');
	  const t = row && row.querySelector(".tracks").textContent;
	  return !!t && t.includes("High 4:4:4 Predictive") && t.includes("yuv420p");
	})()`, "the dashboard naming the undecodable profile and the fix")
	dash.screenshot("dashboard-undecodable-profile.png")
}
