package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

const controlsToken = "adm1n"

// adminGet is one control API GET with the admin token: its status, and
// the body decoded into out on 200.
func adminGet(t *testing.T, url string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+controlsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return resp.StatusCode
}

// untilAPI polls the control API every 50 ms until ok says so, failing
// with what after the deadline.
func untilAPI(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type streamDoc struct {
	State   string
	Readers []struct{ ID, Kind string }
}

// twice clicks a control that acts on its second click.
func twice(sel string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel))}
}

// The dashboard's controls, clicked in Chromium, with an admin token
// configured: without the token the page shows neither streams nor
// controls; with it, kicking a viewer closes its peer connection, the form
// adds a camera that is pulled (its password never on the page), removing
// it stops the pull, and ending a stream closes its publisher. Every effect
// is read back from the control API, which refuses all of it without the
// token.
func TestDashboardControls(t *testing.T) {
	chromium := requireIsolation(t)
	cam := testutil.StartCamera(t, testutil.EncodeH264(t, "320x240", 25, 2, "keyint=25:min-keyint=25:scenecut=0"), 25, testutil.CameraOptions{})
	gw := startGateway(t, func(c *config.Config) { c.AdminToken = controlsToken })
	defer http.DefaultClient.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pub, err := client.Publish(ctx, gw.URL()+"/whip/studio", client.PublishOptions{Options: client.Options{NoAudio: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	sendCtx, stopSending := context.WithCancel(ctx)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		client.PaceSynth(sendCtx, pub, client.NewSynthVideo(client.SynthConfig{GOP: time.Second, Bitrate: 300_000}), nil, nil)
	}()
	defer func() { stopSending(); <-sent }()
	viewer, err := client.Play(ctx, gw.URL()+"/whep/studio", client.PlayOptions{Options: client.Options{NoAudio: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	if err := viewer.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 1); err != nil {
		t.Fatal(err)
	}
	var st streamDoc
	if code := adminGet(t, gw.URL()+"/api/v1/streams/studio", &st); code != http.StatusOK || len(st.Readers) != 1 {
		t.Fatalf("GET stream: %d, %d readers", code, len(st.Readers))
	}
	viewerID := st.Readers[0].ID

	b := startBrowser(t, chromium)
	wrong := b.newTab("dashboard-wrong-token", gw.URL()+"/?token=nope")
	wrong.waitJS(10*time.Second, `!document.getElementById("admin-form").hidden &&
	  document.getElementById("api-status").textContent.startsWith("Admin token rejected") &&
	  document.getElementById("streams").hidden && document.getElementById("add-camera").hidden &&
	  !document.querySelector(".end-stream, .kick, .remove-camera")`, "no streams and no controls with a wrong token")
	wrong.close()

	dash := b.newTab("dashboard", gw.URL()+"/?token="+controlsToken)
	dash.waitJS(15*time.Second, `(() => {
	  const row = document.querySelector('tr[data-name="studio"]');
	  return row && row.querySelector(".badge").dataset.state === "live" &&
	    row.querySelector(".sessions summary").textContent === "Sessions (2)" &&
	    !row.querySelector(".end-stream").hidden && row.querySelector(".remove-camera").hidden;
	})()`, "the published stream with its two sessions")

	// Kick the viewer.
	kick := fmt.Sprintf(`li[data-session=%q] .kick`, viewerID)
	if err := dash.do(10*time.Second, append([]chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.CSS(`tr[data-name="studio"] .sessions summary`))}, twice(kick)...)...); err != nil {
		t.Fatalf("kick: %v", err)
	}
	if s, err := viewer.WaitState(ctx, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed,
		webrtc.PeerConnectionStateDisconnected); err != nil {
		t.Fatalf("the kicked viewer is still %s", s)
	}
	untilAPI(t, 5*time.Second, "the kicked viewer left the stream", func() bool {
		return adminGet(t, gw.URL()+"/api/v1/streams/studio", &st) == http.StatusOK && len(st.Readers) == 0 && st.State == "live"
	})
	dash.waitJS(5*time.Second, fmt.Sprintf(`document.getElementById("control-status").textContent === "Session %s kicked." &&
	  document.querySelector('tr[data-name="studio"] .sessions summary').textContent === "Sessions (1)"`, viewerID), "the kick reported")

	// Add a camera with the form; its password stays with the gateway.
	camURL := strings.Replace(cam.URL, "rtsp://", "rtsp://viewer:s3cretpw@", 1)
	if err := dash.do(10*time.Second,
		chromedp.Click(chromedp.CSS("#add-camera summary")),
		chromedp.SetValue(chromedp.ID("camera-name"), "site/door"),
		chromedp.SetValue(chromedp.ID("camera-url"), camURL),
		chromedp.SetValue(chromedp.ID("camera-transport"), "tcp"),
		chromedp.Click(chromedp.CSS(`#camera-form button[type="submit"]`)),
	); err != nil {
		t.Fatalf("add camera: %v", err)
	}
	var src struct{ URL, Transport, State string }
	untilAPI(t, 20*time.Second, "the added camera is pulled", func() bool {
		return adminGet(t, gw.URL()+"/api/v1/sources/site/door", &src) == http.StatusOK && src.State == "playing"
	})
	if src.Transport != "tcp" || !strings.HasSuffix(src.URL, "/cam") {
		t.Errorf("the camera was added as %+v", src)
	}
	dash.waitJS(15*time.Second, `(() => {
	  const row = document.querySelector('tr[data-name="site/door"]');
	  return document.getElementById("control-status").textContent === "Camera site/door added." &&
	    row && row.querySelector(".badge").dataset.state === "live" && !row.querySelector(".remove-camera").hidden &&
	    row.querySelector(".publish-link").hidden && document.getElementById("camera-url").value === "";
	})()`, "the added camera's row")
	if leaked, err := eval[bool](dash, `document.body.innerHTML.includes("s3cretpw")`); err != nil || leaked {
		t.Errorf("the camera password reached the dashboard (or the check failed: %v)", err)
	}
	if _, err := eval[bool](dash, `window.scrollTo(0, 0), true`); err != nil {
		t.Fatal(err)
	}
	dash.screenshot("dashboard-controls.png")

	// Remove it.
	if err := dash.do(10*time.Second, twice(`tr[data-name="site/door"] .remove-camera`)...); err != nil {
		t.Fatalf("remove camera: %v", err)
	}
	untilAPI(t, 10*time.Second, "the removed camera is gone", func() bool {
		return adminGet(t, gw.URL()+"/api/v1/sources/site/door", nil) == http.StatusNotFound &&
			adminGet(t, gw.URL()+"/api/v1/streams/site/door", nil) == http.StatusNotFound
	})
	dash.waitJS(5*time.Second, `document.getElementById("control-status").textContent === "Camera site/door removed." &&
	  !document.querySelector('tr[data-name="site/door"]')`, "the removed camera's row gone")

	// End the stream: its publisher is closed.
	if err := dash.do(10*time.Second, twice(`tr[data-name="studio"] .end-stream`)...); err != nil {
		t.Fatalf("end stream: %v", err)
	}
	if s, err := pub.WaitState(ctx, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed,
		webrtc.PeerConnectionStateDisconnected); err != nil {
		t.Fatalf("the ended stream's publisher is still %s", s)
	}
	untilAPI(t, 10*time.Second, "the ended stream is gone", func() bool {
		return adminGet(t, gw.URL()+"/api/v1/streams/studio", nil) == http.StatusNotFound
	})
	dash.waitJS(5*time.Second, `document.getElementById("control-status").textContent === "Stream studio ended." &&
	  !document.querySelector('tr[data-name="studio"]')`, "the ended stream's row gone")

	// What the page sent: each control one request, each accepted (the
	// API answers 401 to any of them without the admin token).
	calls, err := eval[[]string](dash, `window.__requests.filter((r) => r.method !== "GET")
	  .map((r) => r.method + " " + new URL(r.url, location.href).pathname + " " + r.status)`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DELETE /api/v1/sessions/" + viewerID + " 204", "PUT /api/v1/sources/site/door 201",
		"DELETE /api/v1/sources/site/door 204", "DELETE /api/v1/streams/studio 204"}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("the dashboard sent\n%s\nwant\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}
