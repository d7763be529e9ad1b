package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
)

// TestSourcePullsOwnStream: with read tokens configured, a camera source
// that pulls another of the gateway's own streams needs no user's token
// (the gateway presents its own credential), while users still do.
func TestSourcePullsOwnStream(t *testing.T) {
	g := startGateway(t, func(c *config.Config) { c.ReadTokens = []string{"cam*=viewsecret"} })
	cam := newCamera(t, camSpec{video: "h264"})
	cam.Start()
	if err := g.Sources().Add(bridge.SourceConfig{Name: "cam1", URL: cam.url("cam1"), Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, g, "cam1")
	for _, host := range []string{"127.0.0.1", "localhost"} {
		name := "cam-mirror-" + host
		own := "rtsp://" + strings.Replace(g.RTSPAddr().String(), "127.0.0.1", host, 1) + "/cam1"
		if err := g.Sources().Add(bridge.SourceConfig{Name: name, URL: own, Transport: bridge.TransportTCP}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, name+" playing", func() bool {
			st, _ := g.Sources().Get(name)
			return st.State == bridge.StatePlaying
		})
		if st, _ := g.Sources().Get(name); strings.Contains(st.URL, "token") {
			t.Errorf("%s: the gateway's credential shows in its status: %+v", name, st)
		}
	}
	v, err := client.Play(ctxTimeout(t, 10*time.Second), g.whepURL("cam-mirror-127.0.0.1"),
		client.PlayOptions{Options: client.Options{Token: "viewsecret"}})
	if err != nil {
		t.Fatalf("WHEP play of the mirror with the user's token: %v", err)
	}
	defer v.Close()
	if err := v.WaitPackets(ctxTimeout(t, 10*time.Second), webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatal(err)
	}

	// Users still need their token, and a guessed one does not pass.
	tcp := gortsplib.TransportTCP
	for _, u := range []string{g.rtspURL("cam1"), g.rtspURL("cam1?token=guess")} {
		if r, err := readRTSP(t, u, &tcp); err == nil || !strings.Contains(err.Error(), "401") {
			if r != nil {
				r.c.Close()
			}
			t.Errorf("RTSP read %s: %v, want 401", u, err)
		}
	}
	if _, err := client.Play(ctxTimeout(t, 5*time.Second), g.whepURL("cam1"), client.PlayOptions{}); client.HTTPStatus(err) != 401 {
		t.Errorf("WHEP play without a token: %v, want 401", err)
	}
	// The start-up log states the rule, never the token.
	if g.log.Count("denied by default: a stream no rule covers is refused") != 1 || g.log.Count("cam*") == 0 ||
		g.log.Count("viewsecret") != 0 {
		t.Errorf("the start-up log does not state the read rule plainly (or shows the token):\n%s", g.log.String())
	}
	// Deny by default: a stream no rule covers is refused, token or not.
	publishWHIP(t, g, "other", "")
	for tok, want := range map[string]int{"": 401, "viewsecret": 403} {
		_, err := client.Play(ctxTimeout(t, 5*time.Second), g.whepURL("other"), client.PlayOptions{Options: client.Options{Token: tok}})
		if client.HTTPStatus(err) != want {
			t.Errorf("play other with token %q: %v, want %d", tok, err, want)
		}
	}
}
