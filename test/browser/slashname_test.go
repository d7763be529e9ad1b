package browser

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A stream named site/cam1 is reached from the dashboard's Watch link and
// plays: the link, the player page and its WHEP POST all carry the name
// with its slash.
func TestDashboardWatchSlashName(t *testing.T) {
	chromium := requireIsolation(t)
	gw := startGateway(t, nil)
	base := gw.URL()
	publishClip(t, base+"/whip/site/cam1")
	b := startBrowser(t, chromium)

	dash := b.newTab("dashboard", base+"/")
	const row = `document.querySelector('tr[data-name="site/cam1"]')`
	dash.waitJS(15*time.Second, row+` && `+row+`.querySelector(".badge").dataset.state === "live"`, "dashboard row site/cam1 live")
	href, err := eval[string](dash, row+`.querySelector(".actions a").getAttribute("href")`)
	if err != nil || href != "/watch/site/cam1" {
		t.Fatalf("Watch link %q (%v), want /watch/site/cam1", href, err)
	}
	if err := dash.do(10*time.Second, chromedp.Click(chromedp.CSS(`tr[data-name="site/cam1"] .actions a`))); err != nil {
		t.Fatalf("click Watch: %v", err)
	}
	dash.waitJS(15*time.Second, `location.pathname === "/watch/site/cam1" && document.querySelector("video") &&
	  document.querySelector("video").videoWidth > 0`, "the Watch link's player showing a picture")
	trickled(t, dash, "/whep/site/cam1")
	waitGrowth(t, dash, false, 25, 10*time.Second)
	if ex := b.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught page exceptions: %v", ex)
	}
}
