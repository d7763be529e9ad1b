package bridge_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
)

// httpDo sends one request without keep-alive (no idle connection outlives
// the test) and returns the status and body.
func httpDo(t *testing.T, method, url, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiStream is the part of GET /api/v1/streams/NAME these tests read.
type apiStream struct {
	Name    string `json:"name"`
	State   string `json:"state"`
	Viewers struct {
		WHEP int `json:"whep"`
		RTSP int `json:"rtsp"`
	} `json:"viewers"`
	Tracks  []apiTrack `json:"tracks"`
	Readers []struct {
		Kind           string `json:"kind"`
		BytesSent      uint64 `json:"bytes_sent"`
		PacketsSent    uint64 `json:"packets_sent"`
		PacketsDropped uint64 `json:"packets_dropped"`
	} `json:"readers"`
}

type apiTrack struct {
	Kind           string `json:"kind"`
	Fmtp           string `json:"fmtp"`
	Packets        uint64 `json:"packets"`
	Keyframes      uint64 `json:"keyframes"`
	WebRTCPlayable bool   `json:"webrtc_playable"`
	Note           string `json:"note"`
}

func getStream(t *testing.T, g *gateway, name string) (int, apiStream) {
	t.Helper()
	st, body := httpDo(t, "GET", g.URL()+"/api/v1/streams/"+name, "", "")
	var s apiStream
	if st == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatalf("GET stream %s: %v: %s", name, err, body)
		}
	}
	return st, s
}

// TestSlashNameEverySurface: a camera named site/cam1, added over the
// control API, plays over WHEP and RTSP, shows in the API and has its
// pages, all under the one name.
func TestSlashNameEverySurface(t *testing.T) {
	g := startGateway(t, nil)
	cam := newCamera(t, camSpec{video: "h264", audio: "opus"})
	cam.Start()
	const name = "site/cam1"
	if st, body := httpDo(t, "PUT", g.URL()+"/api/v1/sources/"+name, "application/json",
		`{"url":"`+cam.url("stream")+`","transport":"tcp"}`); st != http.StatusCreated {
		t.Fatalf("PUT source %s: %d %s", name, st, body)
	}
	t.Cleanup(func() { _ = g.Sources().Remove(name) })
	waitLive(t, g, name)

	v, err := client.Play(ctxTimeout(t, 10*time.Second), g.URL()+"/whep/"+name, client.PlayOptions{})
	if err != nil {
		t.Fatalf("POST /whep/%s: %v", name, err)
	}
	defer v.Close()
	if loc := v.Location(); !strings.HasPrefix(loc, g.URL()+"/whep/"+name+"/-/") {
		t.Errorf("session Location %q, want /whep/%s/-/SECRET", loc, name)
	}
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 60); err != nil {
		t.Fatalf("WHEP video of %s: %v", name, err)
	}
	if n := readRTSPPackets(t, g.rtspURL(name), 50); n < 50 {
		t.Errorf("RTSP read of %s: %d packets", name, n)
	}
	waitFor(t, 5*time.Second, "the API to show the WHEP viewer", func() bool {
		st, s := getStream(t, g, name)
		return st == http.StatusOK && s.Name == name && s.State == "live" && s.Viewers.WHEP == 1
	})
	for _, page := range []string{"/watch/", "/embed/", "/publish/"} {
		if st, body := httpDo(t, "GET", g.URL()+page+name, "", ""); st != http.StatusOK || !strings.Contains(body, "<html") {
			t.Errorf("GET %s%s: %d", page, name, st)
		}
	}
	if st, err := v.Delete(ctxTimeout(t, 5*time.Second)); st != http.StatusOK {
		t.Errorf("DELETE %s: %d %v", v.Location(), st, err)
	}
	if st, _ := httpDo(t, "DELETE", g.URL()+"/api/v1/sources/"+name, "", ""); st != http.StatusNoContent {
		t.Errorf("DELETE source %s: %d", name, st)
	}
}
