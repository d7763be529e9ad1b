package testutil

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/streams"
)

// ThreeLayers is a simulcast publisher's video as browsers name it: q
// (320x180, 150 kbit/s), h (640x360, 500 kbit/s) and f (1280x720,
// 1.5 Mbit/s), a key picture every second.
func ThreeLayers() *client.SynthLayers {
	return client.NewSynthLayers(client.SynthLayersConfig{GOP: time.Second, Layers: []client.SynthLayer{
		{RID: "q", Width: 320, Height: 180, Bitrate: 150_000},
		{RID: "h", Width: 640, Height: 360, Bitrate: 500_000},
		{RID: "f", Width: 1280, Height: 720, Bitrate: 1_500_000},
	}})
}

// PublishLayers publishes g and synthetic audio to stream name of gateway a
// from a pion simulcast publisher (which answers keyframe requests if
// answerPLI) until the test ends, and returns once every layer is ingested
// with its size.
func PublishLayers(t testing.TB, a *app.App, name string, g *client.SynthLayers, answerPLI bool) *client.Publisher {
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
	WaitUntil(t, 10*time.Second, "every layer ingested with its size", func() bool {
		info, ok := a.Registry.Info(name)
		if !ok {
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

// WaitUntil polls cond until it holds, failing the test after d.
func WaitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, bounded by the deadline
	}
}

// LayerViewer is a pion WHEP viewer whose video goes to a LayerCheck.
type LayerViewer struct {
	*client.Viewer
	Check *client.LayerCheck
	mu    sync.Mutex
	audio int
}

// Audio is the audio packets received so far.
func (v *LayerViewer) Audio() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.audio
}

// PlayLayers plays endpoint (a stream of g) until the test ends.
func PlayLayers(t testing.TB, endpoint string, g *client.SynthLayers, opts client.PlayOptions) *LayerViewer {
	t.Helper()
	lv := &LayerViewer{Check: client.NewLayerCheck(g)}
	opts.OnPacket = func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
		if kind == webrtc.RTPCodecTypeAudio {
			lv.mu.Lock()
			lv.audio++
			lv.mu.Unlock()
			return
		}
		lv.Check.Push(&p.Header, p.Payload, time.Now())
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
