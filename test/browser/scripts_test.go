package browser

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
)

// The page scripts' pure functions (SDP munging, error words, Retry-After,
// Link, sdpfrag, codec preference, formatting) checked in the browser that
// runs them, against a recorded Chromium offer.
func TestScriptFunctions(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, nil)
	b := startBrowser(t, chromium)
	units, err := os.ReadFile(filepath.Join("testdata", "units.js"))
	if err != nil {
		t.Fatal(err)
	}
	offer, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", "chromium-156-whep.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	arg, _ := json.Marshal(string(offer))
	// The dashboard page: its module runs once on load, so importing it
	// again returns the same instance instead of running it on a page
	// without its elements.
	page := b.newTab("dashboard", gw.URL()+"/")
	res, err := eval[struct {
		Checks   int
		Failures []string
	}](page, "("+string(units)+")("+string(arg)+")")
	if err != nil {
		t.Fatalf("run units.js: %v", err)
	}
	if res.Checks < 25 {
		t.Errorf("units.js ran %d checks; it stopped early", res.Checks)
	}
	for _, f := range res.Failures {
		t.Error(f)
	}
	t.Logf("%d checks", res.Checks)
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
