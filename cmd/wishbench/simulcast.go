package main

import (
	"context"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
)

// simulcastLayers is the publisher's video with -simulcast: the configured
// stream as the top layer "f", with "h" at half its size and a third of its
// bitrate and "q" at a quarter of its size and a tenth, as a browser would
// encode them. Viewers on the top layer receive what they would without
// simulcast, so the per-viewer figures compare.
func simulcastLayers(top client.SynthConfig) (rids []string, layers []*client.SynthVideo) {
	h, q := top, top
	h.Bitrate, h.Width, h.Height = top.Bitrate/3, top.Width/2, top.Height/2
	q.Bitrate, q.Width, q.Height = top.Bitrate/10, top.Width/4, top.Height/4
	return []string{"q", "h", "f"}, []*client.SynthVideo{client.NewSynthVideo(q), client.NewSynthVideo(h), client.NewSynthVideo(top)}
}

// paceSimulcast sends every layer's next picture each frame interval and
// the audio every 20 ms through p until ctx ends, as PaceSynth does for one
// track; onSent hears of the top layer's pictures and the audio, which is
// what a viewer of the top layer receives.
func paceSimulcast(ctx context.Context, p *client.Publisher, layers []*client.SynthVideo, a *client.SynthAudio, onSent func(client.SynthSent)) {
	top := layers[len(layers)-1]
	vt := time.NewTicker(top.FrameInterval())
	defer vt.Stop()
	at := time.NewTicker(a.Interval())
	defer at.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-vt.C:
			now := time.Now()
			for j, v := range layers {
				frame := v.Frame()
				kf := v.IsKeyframe(frame)
				pkts := v.Next(now)
				for _, pkt := range pkts {
					_ = p.WriteLayer(j, pkt)
				}
				if v == top {
					onSent(client.SynthSent{Kind: webrtc.RTPCodecTypeVideo, Frame: frame, Keyframe: kf, Packets: len(pkts), At: now})
				}
			}
		case <-at.C:
			now := time.Now()
			frame := a.Frame()
			_ = p.WriteRTP(webrtc.RTPCodecTypeAudio, a.Next(now))
			onSent(client.SynthSent{Kind: webrtc.RTPCodecTypeAudio, Frame: frame, Packets: 1, At: now})
		}
	}
}
