package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

// threeLayers is a simulcast publisher's video as the browsers' habit
// names it: q (quarter), h (half) and f (full size).
func threeLayers() *client.SynthLayers {
	return client.NewSynthLayers(client.SynthLayersConfig{GOP: time.Second, Layers: []client.SynthLayer{
		{RID: "q", Width: 320, Height: 180, Bitrate: 150_000},
		{RID: "h", Width: 640, Height: 360, Bitrate: 500_000},
		{RID: "f", Width: 1280, Height: 720, Bitrate: 1_500_000},
	}})
}

// publishLayers publishes g (and audio) to stream name from a pion
// simulcast publisher, which answers keyframe requests if answerPLI, until
// the test ends; it returns once every layer is ingested with its size.
func publishLayers(t *testing.T, a *app.App, name string, g *client.SynthLayers, answerPLI bool) *client.Publisher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rids []string
	for _, l := range g.Config().Layers {
		rids = append(rids, l.RID)
	}
	pub, err := client.Publish(ctx, a.URL()+"/whip/"+name, client.PublishOptions{Simulcast: rids})
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		client.PaceSynthLayers(pctx, pub, g, client.NewSynthAudio(client.SynthConfig{}), answerPLI)
	}()
	t.Cleanup(func() { stop(); <-done; _ = pub.Close() })
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "every layer ingested with its size", func() bool {
		info, ok := a.Registry.Info(name)
		if !ok || len(info.Tracks) == 0 {
			return false
		}
		for _, tr := range info.Tracks {
			if tr.Kind != streams.KindVideo {
				continue
			}
			if len(tr.Layers) != len(rids) {
				return false
			}
			for _, l := range tr.Layers {
				if !l.Active || l.Width == 0 {
					return false
				}
			}
			return true
		}
		return false
	})
	return pub
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, bounded by the deadline
	}
}

// layerViewer plays endpoint and checks every video packet with a
// LayerCheck of g.
type layerViewer struct {
	*client.Viewer
	check *client.LayerCheck
	mu    sync.Mutex
	audio int
}

func playLayers(t *testing.T, endpoint string, g *client.SynthLayers, opts client.PlayOptions) *layerViewer {
	t.Helper()
	lv := &layerViewer{check: client.NewLayerCheck(g)}
	opts.OnPacket = func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
		if kind == webrtc.RTPCodecTypeAudio {
			lv.mu.Lock()
			lv.audio++
			lv.mu.Unlock()
			return
		}
		lv.check.Push(&p.Header, p.Payload, time.Now())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := client.Play(ctx, endpoint, opts)
	if err != nil {
		t.Fatalf("play %s: %v", endpoint, err)
	}
	lv.Viewer = v
	t.Cleanup(func() { _ = v.Close() })
	return lv
}

// TestSimulcastLayersByteForByte: a publisher sends three layers with
// payloads of their own; a viewer on each explicit layer (by name and by
// rid) gets exactly that layer's packets, byte for byte, every picture
// decodable; a viewer that asks for nothing gets the top layer.
func TestSimulcastLayersByteForByte(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	g := threeLayers()
	publishLayers(t, a, "sim", g, true)
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"?layer=low", 0},
		{"?layer=medium", 1},
		{"?layer=high", 2},
		{"?layer=h", 1},
		{"?layer=q", 0},
		{"", 2}, // auto, on a network that carries everything
	} {
		t.Run("layer"+tc.query, func(t *testing.T) {
			v := playLayers(t, a.URL()+"/whep/sim"+tc.query, g, client.PlayOptions{})
			waitUntil(t, 10*time.Second, "60 packets of the layer and audio", func() bool {
				v.mu.Lock()
				audio := v.audio
				v.mu.Unlock()
				return v.check.Report().Packets[tc.want] >= 60 && audio > 10
			})
			rep := v.check.Report()
			for j, n := range rep.Packets {
				if j != tc.want && n > 0 {
					t.Errorf("got %d packets of layer %d besides layer %d's", n, j, tc.want)
				}
			}
			if len(rep.Problems) > 0 || rep.Foreign > 0 || len(rep.Switches) > 0 {
				t.Errorf("problems %q, %d foreign packets, switches %+v", rep.Problems, rep.Foreign, rep.Switches)
			}
		})
	}
}

// A layer the stream does not have is refused before any negotiation, a
// word that is no layer name at all too.
func TestSimulcastUnknownLayer(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	publishLayers(t, a, "sim", threeLayers(), true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for query, status := range map[string]int{"?layer=x": http.StatusUnprocessableEntity, "?layer=a.b": http.StatusBadRequest} {
		_, err := client.Play(ctx, a.URL()+"/whep/sim"+query, client.PlayOptions{})
		if client.HTTPStatus(err) != status {
			t.Errorf("%s: %v, want HTTP %d", query, err, status)
		} else if status == 422 && !strings.Contains(err.Error(), "q, h, f") {
			t.Errorf("%s: %v does not name the layers", query, err)
		}
	}
}
