package browser

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wishgate/wishgate/internal/config"
)

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
	    door.querySelector(".actions .publish-link").hidden;
	})()`, "camera rows with their states")
	if leaked := mustEval[bool](dash, `document.body.innerHTML.includes("s3cretpw")`); leaked {
		t.Errorf("the camera password reached the dashboard")
	}
	dash.screenshot("dashboard-cameras.png")
}
