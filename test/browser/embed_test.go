package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// layout is what the embedded player looks like from inside its frame.
type layout struct {
	VW, VH  float64 // the frame's viewport
	SW, SH  float64 // the document's scroll size
	CW, CH  float64 // its client size
	Boxes   map[string][4]float64
	Missing []string
}

const measureEmbed = `(() => {
  const v = document.querySelector("video");
  const live = document.querySelector(".live-badge");
  if (!v || v.videoWidth === 0 || !live || live.hidden) return false;
  const de = document.documentElement;
  const out = { VW: innerWidth, VH: innerHeight, SW: de.scrollWidth, SH: de.scrollHeight,
                CW: de.clientWidth, CH: de.clientHeight, Boxes: {}, Missing: [] };
  const want = {
    "LIVE badge": live,
    "Unmute button": [...document.querySelectorAll(".controls button")].find((b) => b.textContent === "Unmute"),
    "unmute hint": document.querySelector(".unmute-hint"),
  };
  for (const [k, e] of Object.entries(want)) {
    if (!e || e.hidden) { out.Missing.push(k); continue; }
    const r = e.getBoundingClientRect();
    out.Boxes[k] = [r.left, r.top, r.right, r.bottom];
  }
  return out;
})()`

// The README's own embed snippet (a 640x360 iframe) on a page of another
// origin: the player fits its frame (no scrollbar) and the Unmute button,
// the unmute hint and the LIVE badge are whole inside it. (A phone media
// query used to widen the player past the frame.)
func TestEmbedFitsREADMEIframe(t *testing.T) {
	chromium := requireIsolation(t)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	snippet := regexp.MustCompile(`<iframe src="http://HOST:8080/embed/NAME"[^\n]*</iframe>`).Find(readme)
	if snippet == nil {
		t.Fatal("README has no embed <iframe> snippet")
	}
	if !strings.Contains(string(snippet), `width="640" height="360"`) {
		t.Fatalf("README's iframe is not 640x360: %s", snippet)
	}
	gw := startGateway(t, nil)
	publishClip(t, gw.URL()+"/whip/cam")
	b := startBrowser(t, chromium)
	page := strings.NewReplacer("http://HOST:8080", gw.URL(), "NAME", "cam").Replace(string(snippet))
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>Someone's blog</title><h1>My stream</h1>\n%s\n", page)
	}))
	defer site.Close()
	defer http.DefaultClient.CloseIdleConnections()

	host := b.newTab("embedding site", site.URL)
	frames, err := chromedp.Run(host.ctx, chromedp.Nodes(chromedp.CSS("iframe")))
	if err != nil || len(frames) != 1 {
		t.Fatalf("iframe: %v (%d)", err, len(frames))
	}
	ctx, cancel := context.WithTimeout(host.ctx, 30*time.Second)
	defer cancel()
	l, err := chromedp.Run(ctx, chromedp.Poll[layout](measureEmbed, chromedp.WithPollingInFrame(frames[0]),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("embedded player not playing with its LIVE badge: %v", err)
	}
	host.screenshot("embed-readme-iframe.png")
	t.Logf("frame %vx%v, document %vx%v (client %vx%v), boxes %v", l.VW, l.VH, l.SW, l.SH, l.CW, l.CH, l.Boxes)
	if l.VW != 640 || l.VH != 360 {
		t.Fatalf("frame viewport %vx%v, want the README's 640x360", l.VW, l.VH)
	}
	if l.SW > l.CW || l.SH > l.CH {
		t.Errorf("the embed scrolls: document %vx%v in a %vx%v frame", l.SW, l.SH, l.CW, l.CH)
	}
	if len(l.Missing) > 0 {
		t.Errorf("not shown: %v", l.Missing)
	}
	for name, r := range l.Boxes {
		if r[0] < 0 || r[1] < 0 || r[2] > l.CW || r[3] > l.CH {
			t.Errorf("%s is clipped: box %v in a %vx%v frame", name, r, l.CW, l.CH)
		}
	}
}
