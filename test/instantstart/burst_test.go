package instantstart

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

// source is a pion WHIP publisher sending synthetic H.264 (30 fps) that
// either answers keyframe requests with an IDR, as browsers do, or ignores
// them, as OBS and FFmpeg do.
type source struct {
	pub   *client.Publisher
	video *client.SynthVideo

	mu     sync.Mutex
	sent   uint64 // pictures sent
	lastKF uint64 // frame number of the last keyframe sent
	kfAt   time.Time
}

func startSource(t *testing.T, ctx context.Context, url string, gop time.Duration, answers bool) *source {
	t.Helper()
	pub, err := client.Publish(ctx, url, client.PublishOptions{Options: client.Options{NoAudio: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	s := &source{pub: pub, video: client.NewSynthVideo(client.SynthConfig{GOP: gop, Bitrate: 1_000_000})}
	sendCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		client.PaceSynth(sendCtx, pub, s.video, nil, func(ss client.SynthSent) {
			s.mu.Lock()
			s.sent = ss.Frame + 1
			if ss.Keyframe {
				s.lastKF, s.kfAt = ss.Frame, ss.At
			}
			s.mu.Unlock()
		})
	}()
	if answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-pub.KeyframeRequests():
					s.video.ForceKeyframe()
				case <-sendCtx.Done():
					return
				}
			}
		}()
	}
	t.Cleanup(func() { stop(); wg.Wait() })
	return s
}

// waitGOPAge waits until the source's current GOP is at least age old and
// returns the frame number of its keyframe.
func (s *source) waitGOPAge(t *testing.T, ctx context.Context, age time.Duration) uint64 {
	t.Helper()
	var kf uint64
	waitFor(t, ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		kf = s.lastKF
		return !s.kfAt.IsZero() && time.Since(s.kfAt) >= age
	})
	return kf
}

// joined is what a pion WHEP viewer was sent from its join on.
type joined struct {
	mu     sync.Mutex
	asm    client.SynthAssembler
	frames []client.SynthFrame
	bytes  int // video payload bytes
	at     time.Time
}

func join(t *testing.T, ctx context.Context, url string) *joined {
	t.Helper()
	j := &joined{at: time.Now()}
	v, err := client.Play(ctx, url, client.PlayOptions{Options: client.Options{NoAudio: true},
		OnPacket: func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
			if kind != webrtc.RTPCodecTypeVideo {
				return
			}
			j.mu.Lock()
			defer j.mu.Unlock()
			j.bytes += len(p.Payload)
			if f, ok := j.asm.Push(&p.Header, p.Payload, time.Now()); ok {
				j.frames = append(j.frames, f)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return j
}

func (j *joined) snapshot() (frames []client.SynthFrame, bytes int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]client.SynthFrame(nil), j.frames...), j.bytes
}

// A publisher that ignores keyframe requests (OBS; a 3 s GOP here). The
// gateway probes it once, 1 s into its first GOP, and learns from the
// missing answer that it is deaf; a viewer joining 1.2 s into a later GOP is
// then sent that GOP at once, from its keyframe, and nothing older: within
// its first second the cached pictures and one second of live ones.
func TestJoinerOfDeafPublisherGetsOneGOP(t *testing.T) {
	gw := testutil.StartGatewayLog(t, nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src := startSource(t, ctx, gw.URL()+"/whip/deaf", 3*time.Second, false)
	waitFor(t, ctx, func() bool {
		info, ok := gw.Registry.Info("deaf")
		return ok && len(info.Tracks) > 0 && info.Tracks[0].KeyframeAnswers == streams.AnswersNo
	})
	if n := src.pub.KeyframeRequestCount(); n < 1 {
		t.Fatalf("publisher judged deaf without being asked (%d requests)", n)
	}
	kf := src.waitGOPAge(t, ctx, 1200*time.Millisecond)
	src.mu.Lock()
	joinedAt := src.sent
	src.mu.Unlock()
	j := join(t, ctx, gw.URL()+"/whep/deaf")
	waitFor(t, ctx, func() bool { f, _ := j.snapshot(); return len(f) > 0 })
	start := time.Since(j.at)
	firstAt := time.Now()
	waitFor(t, ctx, func() bool { return time.Since(firstAt) >= time.Second })
	frames, bytes := j.snapshot()
	if !frames[0].Keyframe || frames[0].Frame != kf {
		t.Fatalf("first picture %d (keyframe %v), want the cached keyframe %d", frames[0].Frame, frames[0].Keyframe, kf)
	}
	if start > 600*time.Millisecond {
		t.Fatalf("first picture after %v: the cache of a known deaf publisher is sent at once", start)
	}
	// Cached pictures, plus live ones for the time to connect and one second.
	cached := int(joinedAt - kf)
	maxFrames := cached + 30*int((start+time.Second)/time.Second+1) + 5
	perFrame := 1_000_000 / 8 / 30
	if len(frames) > maxFrames || bytes > (maxFrames+4)*perFrame*13/10 {
		t.Fatalf("viewer was sent %d pictures, %d bytes in its first second of video; want at most the %d cached "+
			"and ≈ 30 a second live (%d pictures, ≈ %d bytes)", len(frames), bytes, cached, maxFrames, maxFrames*perFrame)
	}
	if len(frames) < cached {
		t.Fatalf("viewer was sent %d pictures, fewer than the %d cached", len(frames), cached)
	}
	for i := 1; i < len(frames); i++ {
		// A picture may be lost (UDP on a loaded machine), never repeated.
		if frames[i].Frame <= frames[i-1].Frame {
			t.Fatalf("picture %d followed %d", frames[i].Frame, frames[i-1].Frame)
		}
	}
	t.Logf("joined %d pictures into the GOP; sent %d pictures, %d bytes in %v; first after %v",
		cached, len(frames), bytes, time.Since(j.at).Round(time.Millisecond), start.Round(time.Millisecond))
}

// A publisher that ignores keyframe requests with a GOP longer than the
// burst bound: a late joiner is not sent the old pictures; it starts at the
// next keyframe.
func TestJoinerOfLongGOPWaitsForKeyframe(t *testing.T) {
	gw := testutil.StartGatewayLog(t, nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src := startSource(t, ctx, gw.URL()+"/whip/long", 5*time.Second, false)
	kf := src.waitGOPAge(t, ctx, 3500*time.Millisecond)
	j := join(t, ctx, gw.URL()+"/whep/long")
	waitFor(t, ctx, func() bool { f, _ := j.snapshot(); return len(f) >= 10 })
	frames, _ := j.snapshot()
	if !frames[0].Keyframe || frames[0].Frame != kf+150 {
		t.Fatalf("first picture %d (keyframe %v), want the next live keyframe %d, not the 3.5 s old cached one %d",
			frames[0].Frame, frames[0].Keyframe, kf+150, kf)
	}
	if n := src.pub.KeyframeRequestCount(); n < 2 {
		t.Fatalf("publisher asked %d times while the viewer waited ≈ 2 s, want the join's request and a repeat", n)
	}
}

// A publisher that answers keyframe requests (a browser) with a long GOP:
// joiners are not sent the 3 s old cache; the publisher is asked once for
// all of them and they start at its fresh keyframe.
func TestJoinersOfAnsweringPublisherGetFreshKeyframe(t *testing.T) {
	gw := testutil.StartGatewayLog(t, nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src := startSource(t, ctx, gw.URL()+"/whip/browser", 30*time.Second, true)
	src.waitGOPAge(t, ctx, 3*time.Second)
	before := src.pub.KeyframeRequestCount()
	src.mu.Lock()
	joinedAt := src.sent
	src.mu.Unlock()
	var viewers []*joined
	for range 3 {
		viewers = append(viewers, join(t, ctx, gw.URL()+"/whep/browser"))
	}
	for _, j := range viewers {
		waitFor(t, ctx, func() bool { f, _ := j.snapshot(); return len(f) >= 30 })
	}
	for i, j := range viewers {
		frames, bytes := j.snapshot()
		if !frames[0].Keyframe || frames[0].Frame < joinedAt {
			t.Fatalf("viewer %d: first picture %d (keyframe %v), want a fresh keyframe after %d", i, frames[0].Frame, frames[0].Keyframe, joinedAt)
		}
		// One keyframe (4 P-frames' worth) and live P-frames, no cache.
		perFrame := 1_000_000 / 8 / 30
		if limit := (len(frames) + 3 + 10) * perFrame * 13 / 10; bytes > limit {
			t.Fatalf("viewer %d was sent %d bytes for %d pictures, want at most ≈ %d (no cached GOP)", i, bytes, len(frames), limit)
		}
	}
	// The three joins came within a few ms: one request (two if the last
	// join fell outside the throttle).
	if n := src.pub.KeyframeRequestCount() - before; n < 1 || n > 2 {
		t.Fatalf("3 joiners cost the publisher %d keyframe requests, want 1", n)
	}
	if info, _ := gw.Registry.Info("browser"); info.Tracks[0].KeyframeAnswers != streams.AnswersYes {
		t.Fatalf("publisher judged %q, want yes", info.Tracks[0].KeyframeAnswers)
	}
}
