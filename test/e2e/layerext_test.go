package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

var linkRe = regexp.MustCompile(`<([^>]+)>;\s*rel="([^"]+)"(?:;\s*events="([^"]*)")?`)

// extLinks returns the extension Links of a WHEP 201 by rel, and the
// events the SSE link announces.
func extLinks(h http.Header) (links map[string]string, events string) {
	links = map[string]string{}
	for _, v := range h.Values("Link") {
		if m := linkRe.FindStringSubmatch(v); m != nil {
			links[m[2]] = m[1]
			if m[3] != "" {
				events = m[3]
			}
		}
	}
	return links, events
}

const (
	relLayer = "urn:ietf:params:whep:ext:core:layer"
	relSSE   = "urn:ietf:params:whep:ext:core:server-sent-events"
)

type sseEvent struct{ name, data string }

// readEvents reads a text/event-stream into ch until ctx ends.
func readEvents(ctx context.Context, t *testing.T, url string, ch chan<- sseEvent) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			t.Errorf("GET %s: %v", url, err)
		}
		close(ch)
		return
	}
	defer resp.Body.Close()
	defer close(ch)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
		return
	}
	sc := bufio.NewScanner(resp.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		case line == "" && ev.name != "":
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
			ev = sseEvent{}
		}
	}
}

type layerEvent map[string][]struct {
	RID     string `json:"rid"`
	Width   int    `json:"width"`
	Bitrate int64  `json:"bitrate"`
	Active  bool   `json:"active"`
}

// activeLayer reads a layers event's active rid on m-line 0.
func activeLayer(t *testing.T, data string) (rid string, n int) {
	t.Helper()
	var le layerEvent
	if err := json.Unmarshal([]byte(data), &le); err != nil {
		t.Fatalf("layers event %q: %v", data, err)
	}
	for _, l := range le["0"] {
		if l.Active {
			rid = l.RID
		}
	}
	return rid, len(le["0"])
}

// TestLayerExtension: the 201 links the layer and server-sent-events
// extensions; the event stream announces the layers and the active one; a
// POST to the layer link switches the running session (and the events say
// so); {} goes back to the automatic choice.
func TestLayerExtension(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	g := testutil.ThreeLayers()
	testutil.PublishLayers(t, a, "sim", g, true)
	v := testutil.PlayLayers(t, a.URL()+"/whep/sim", g, client.PlayOptions{})
	links, events := extLinks(v.ResponseHeader())
	layerURL, sseURL := links[relLayer], links[relSSE]
	if layerURL == "" || sseURL == "" || !strings.Contains(events, "layers") || !strings.Contains(events, "active") {
		t.Fatalf("Links %q", v.ResponseHeader().Values("Link"))
	}
	if !strings.HasPrefix(layerURL, "/whep/sim/-/") {
		t.Fatalf("layer link %q is not under the session's resource", layerURL)
	}

	created := do(t, "POST", a.URL()+sseURL, "application/json", []byte(`["active","layers"]`))
	if created.Status != 201 || created.Header.Get("Location") == "" {
		t.Fatalf("create event stream: %d %s", created.Status, created.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	evs := make(chan sseEvent, 16)
	go readEvents(ctx, t, a.URL()+created.Header.Get("Location"), evs)
	next := func(name string) sseEvent {
		t.Helper()
		for {
			select {
			case ev, ok := <-evs:
				if !ok {
					t.Fatalf("event stream ended waiting for %s", name)
				}
				if ev.name == "viewercount" {
					t.Fatalf("an event not asked for: %+v", ev)
				}
				if ev.name == name {
					return ev
				}
			case <-ctx.Done():
				t.Fatalf("no %s event", name)
			}
		}
	}
	next("active")
	if rid, n := activeLayer(t, next("layers").data); rid != "f" || n != 3 {
		t.Fatalf("layers event: active %q of %d layers, want f of 3", rid, n)
	}

	// Choose q on the running session.
	r := do(t, "POST", a.URL()+layerURL, "application/json", []byte(`{"encodingId":"q"}`))
	if r.Status != 200 {
		t.Fatalf("POST layer: %d %s", r.Status, r.Body)
	}
	for {
		if rid, _ := activeLayer(t, next("layers").data); rid == "q" {
			break
		}
	}
	testutil.WaitUntil(t, 10*time.Second, "q's packets", func() bool { return v.Check.Report().Last == 0 })
	// The draft's own spelling, rid, and the automatic choice back.
	if r := do(t, "POST", a.URL()+layerURL, "application/json", []byte(`{"mediaId":"0","rid":"h"}`)); r.Status != 200 {
		t.Fatalf("POST rid h: %d %s", r.Status, r.Body)
	}
	testutil.WaitUntil(t, 10*time.Second, "h's packets", func() bool { return v.Check.Report().Last == 1 })
	if r := do(t, "POST", a.URL()+layerURL, "application/json", []byte(`{}`)); r.Status != 200 {
		t.Fatalf("POST {}: %d %s", r.Status, r.Body)
	}
	testutil.WaitUntil(t, 10*time.Second, "the top layer in auto", func() bool { return v.Check.Report().Last == 2 })
	if rep := v.Check.Report(); len(rep.Problems) > 0 {
		t.Errorf("undecodable: %q", rep.Problems)
	}

	for _, tc := range []struct {
		body, ctype string
		status      int
	}{
		{`{"encodingId":"zz"}`, "application/json", 422},
		{`{"spatialLayerId":1}`, "application/json", 422},
		{`{"mediaId":"1","rid":"q"}`, "application/json", 422},
		{`{"rid":"q","encodingId":"h"}`, "application/json", 400},
		{`{"encodingId":`, "application/json", 400},
		{`{"encodingId":"q"}`, "text/plain", 415},
	} {
		if r := do(t, "POST", a.URL()+layerURL, tc.ctype, []byte(tc.body)); r.Status != tc.status {
			t.Errorf("POST layer %s (%s): %d %s, want %d", tc.body, tc.ctype, r.Status, r.Body, tc.status)
		}
	}
	if r := do(t, "POST", a.URL()+sseURL, "application/json", []byte(`["nope"]`)); r.Status != 400 {
		t.Errorf("an unknown event: %d %s", r.Status, r.Body)
	}
	bad := strings.Replace(layerURL, "/-/", "/-/x", 1)
	if r := do(t, "POST", a.URL()+bad, "application/json", []byte(`{}`)); r.Status != 404 {
		t.Errorf("layer POST on no session: %d", r.Status)
	}
	loc := a.URL() + created.Header.Get("Location")
	if r := do(t, "DELETE", loc, "", nil); r.Status != 200 {
		t.Errorf("DELETE event stream: %d", r.Status)
	}
	for range evs { // the stream ends
	}
	if r := do(t, "GET", loc, "", nil); r.Status != 404 {
		t.Errorf("GET a deleted event stream: %d", r.Status)
	}
}

// A stream without simulcast links no layer extension; its events say
// nothing of layers; the viewer count follows the viewers. The event
// stream outlives http_write_timeout: it sets its own deadline per write.
func TestEventsWithoutSimulcast(t *testing.T) {
	a := testutil.StartGateway(t, func(c *config.Config) {
		c.HTTPReadTimeout, c.HTTPWriteTimeout = time.Second, 2*time.Second
	})
	pub := do(t, "POST", a.URL()+"/whip/plain", sdpType, golden(t, "obs-31-whip.sdp"))
	if pub.Status != 201 {
		t.Fatalf("publish: %d %s", pub.Status, pub.Body)
	}
	defer do(t, "DELETE", a.URL()+pub.Header.Get("Location"), "", nil)
	view := do(t, "POST", a.URL()+"/whep/plain", sdpType, golden(t, "chromium-156-whep.sdp"))
	if view.Status != 201 {
		t.Fatalf("play: %d %s", view.Status, view.Body)
	}
	links, events := extLinks(view.Header)
	if links[relLayer] != "" || links[relSSE] == "" || strings.Contains(events, "layers") {
		t.Fatalf("Links %q", view.Header.Values("Link"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	evs := make(chan sseEvent, 16)
	go readEvents(ctx, t, a.URL()+links[relSSE], evs) // GET on the entry point: every event
	count := func() int {
		for ev := range evs {
			if ev.name == "viewercount" {
				var c struct{ Viewercount int }
				if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
					t.Fatalf("viewercount event %q: %v", ev.data, err)
				}
				return c.Viewercount
			}
		}
		t.Fatal("event stream ended")
		return 0
	}
	if n := count(); n != 1 {
		t.Fatalf("viewercount %d, want 1", n)
	}
	time.Sleep(3 * time.Second) // past http_write_timeout, on purpose: nothing to wait for
	second := do(t, "POST", a.URL()+"/whep/plain", sdpType, golden(t, "chromium-156-whep.sdp"))
	defer do(t, "DELETE", a.URL()+second.Header.Get("Location"), "", nil)
	if n := count(); n != 2 {
		t.Fatalf("viewercount %d, want 2", n)
	}
	// The session ends: so does its event stream.
	if r := do(t, "DELETE", a.URL()+view.Header.Get("Location"), "", nil); r.Status != 200 {
		t.Fatalf("DELETE: %d", r.Status)
	}
	for range evs {
	}
	cancel()
}
