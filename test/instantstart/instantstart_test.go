// Package instantstart checks the GOP cache end to end: a real pion WHIP
// publisher that ignores keyframe requests, the in-process gateway, and a
// real pion WHEP viewer joining in the middle of a GOP.
package instantstart

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestViewerJoiningMidGOPStartsAtCachedKeyframe(t *testing.T) {
	gw := testutil.StartGatewayLog(t, nil, slog.New(slog.DiscardHandler))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, gw.URL()+"/whip/cam", client.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	// A 30 s GOP: the publisher's next keyframe is far beyond this test, and
	// it never answers PLI (like OBS or an RTSP camera), so only the cache
	// can start the viewer.
	video := client.NewSynthVideo(client.SynthConfig{GOP: 30 * time.Second, Bitrate: 1_000_000})
	var mu sync.Mutex
	var sent uint64
	sendCtx, stopSend := context.WithCancel(ctx)
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		client.PaceSynth(sendCtx, pub, video, client.NewSynthAudio(client.SynthConfig{}), func(s client.SynthSent) {
			if s.Kind == webrtc.RTPCodecTypeVideo {
				mu.Lock()
				sent = s.Frame + 1
				mu.Unlock()
			}
		})
	}()
	defer func() { stopSend(); <-sendDone }()

	// Join mid-GOP: once the publisher has sent 20 pictures.
	waitFor(t, ctx, func() bool { mu.Lock(); defer mu.Unlock(); return sent >= 20 })

	var frames []client.SynthFrame
	var asm client.SynthAssembler
	got := make(chan struct{}, 1)
	viewer, err := client.Play(ctx, gw.URL()+"/whep/cam", client.PlayOptions{
		OnPacket: func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
			if kind != webrtc.RTPCodecTypeVideo {
				return
			}
			if f, ok := asm.Push(&p.Header, p.Payload, time.Now()); ok {
				mu.Lock()
				frames = append(frames, f)
				mu.Unlock()
				select {
				case got <- struct{}{}:
				default:
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	var joinedAt uint64
	mu.Lock()
	joinedAt = sent
	mu.Unlock()

	// Wait for ten live pictures after the join.
	waitFor(t, ctx, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(frames) > 0 && frames[len(frames)-1].Frame >= joinedAt+10
	})
	mu.Lock()
	defer mu.Unlock()
	if !frames[0].Keyframe || frames[0].Frame != 0 {
		t.Fatalf("first picture %d (keyframe %v), want the cached keyframe 0", frames[0].Frame, frames[0].Keyframe)
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].Frame != frames[i-1].Frame+1 {
			t.Fatalf("picture %d followed %d: the GOP was not delivered whole", frames[i].Frame, frames[i-1].Frame)
		}
	}
	if asm.Broken != 0 {
		t.Fatalf("%d broken pictures", asm.Broken)
	}
	t.Logf("joined after picture %d; received pictures 0..%d; publisher got %d keyframe requests",
		joinedAt, frames[len(frames)-1].Frame, pub.KeyframeRequestCount())
}

func waitFor(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met before the deadline")
		case <-tick.C:
		}
	}
}
