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
	kf, _ := s.waitLaterGOPAge(t, ctx, 0, false, age)
	return kf
}

// waitLaterGOPAge is waitGOPAge for a GOP whose keyframe comes after frame
// after (any GOP when !later); it also returns when that keyframe was sent.
func (s *source) waitLaterGOPAge(t *testing.T, ctx context.Context, after uint64, later bool, age time.Duration) (uint64, time.Time) {
	t.Helper()
	var kf uint64
	var at time.Time
	waitFor(t, ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		kf, at = s.lastKF, s.kfAt
		return !at.IsZero() && (!later || kf > after) && time.Since(at) >= age
	})
	return kf, at
}

// state is the number of pictures sent and the frame number and send time
// of the last keyframe.
func (s *source) state() (sent, kf uint64, kfAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, s.lastKF, s.kfAt
}

// joined is what a pion WHEP viewer was sent from its join on.
type joined struct {
	v       *client.Viewer
	mu      sync.Mutex
	asm     client.SynthAssembler
	frames  []client.SynthFrame
	bytes   int   // video payload bytes
	upTo    []int // bytes when each of frames was complete
	at      time.Time
	firstAt time.Time // when its first whole picture arrived
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
				if len(j.frames) == 0 {
					j.firstAt = time.Now()
				}
				j.frames = append(j.frames, f)
				j.upTo = append(j.upTo, j.bytes)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	j.v = v
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
// missing answer that it is deaf; a viewer whose connection comes up
// 1.2–2 s into a later GOP is then sent that GOP at once, from its
// keyframe, and nothing older: within its first second the cached pictures
// and one second of live ones.
//
// The gateway plans a viewer's start when its connection is up. On a
// loaded machine a join can take longer than the GOP leaves (past the
// 2.5 s burst bound, or past the next keyframe): such an attempt proves
// nothing either way, so the viewer leaves and the next GOP is tried, a
// bounded number of times.
func TestJoinerOfDeafPublisherGetsOneGOP(t *testing.T) {
	gw := testutil.StartGatewayLog(t, nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := startSource(t, ctx, gw.URL()+"/whip/deaf", 3*time.Second, false)
	waitFor(t, ctx, func() bool {
		info, ok := gw.Registry.Info("deaf")
		return ok && len(info.Tracks) > 0 && info.Tracks[0].KeyframeAnswers == streams.AnswersNo
	})
	if n := src.pub.KeyframeRequestCount(); n < 1 {
		t.Fatalf("publisher judged deaf without being asked (%d requests)", n)
	}
	// Connected by this age of the GOP, the plan (made a moment later on
	// the gateway's side) still finds the cache within its 2.5 s bound.
	const latestConnect = 2 * time.Second
	_, after, _ := src.state()
	for attempt := 1; ; attempt++ {
		kf, kfAt := src.waitLaterGOPAge(t, ctx, after, true, 1200*time.Millisecond)
		after = kf
		j := join(t, ctx, gw.URL()+"/whep/deaf")
		if err := j.v.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		connectedAt := time.Now()
		sentAtConnect, kfNow, _ := src.state()
		if age := connectedAt.Sub(kfAt); age > latestConnect || kfNow != kf {
			const attempts = 5
			if attempt == attempts {
				t.Fatalf("in %d attempts no viewer connected within %v of a keyframe (last: %v): the machine is too loaded to tell", attempts, latestConnect, age)
			}
			t.Logf("attempt %d: the viewer connected %v into the GOP, too late to tell; trying the next GOP", attempt, age.Round(time.Millisecond))
			_ = j.v.Close()
			continue
		}
		waitFor(t, ctx, func() bool { f, _ := j.snapshot(); return len(f) > 0 })
		j.mu.Lock()
		firstAt := j.firstAt
		j.mu.Unlock()
		start := firstAt.Sub(connectedAt)
		// The first second of pictures, by arrival, however late this
		// goroutine looks.
		waitFor(t, ctx, func() bool { return time.Since(firstAt) >= time.Second })
		j.mu.Lock()
		frames := append([]client.SynthFrame(nil), j.frames...)
		n := 0
		for n < len(frames) && frames[n].ReceivedAt.Sub(firstAt) < time.Second {
			n++
		}
		frames, bytes := frames[:n], j.upTo[n-1]
		j.mu.Unlock()
		if !frames[0].Keyframe || frames[0].Frame != kf {
			t.Fatalf("first picture %d (keyframe %v), want the cached keyframe %d (connected %v into its GOP)",
				frames[0].Frame, frames[0].Keyframe, kf, connectedAt.Sub(kfAt).Round(time.Millisecond))
		}
		if start > 600*time.Millisecond {
			t.Fatalf("first picture %v after the connection: the cache of a known deaf publisher is sent at once", start)
		}
		// Cached pictures, plus live ones for the time to the first picture
		// and one second.
		cached := int(sentAtConnect - kf)
		maxFrames := cached + 30*int((max(start, 0)+time.Second)/time.Second+1) + 5
		perFrame := 1_000_000 / 8 / 30
		if len(frames) > maxFrames || bytes > (maxFrames+4)*perFrame*13/10 {
			t.Fatalf("viewer was sent %d pictures, %d bytes in its first second of video; want at most the %d cached "+
				"and ≈ 30 a second live (%d pictures, ≈ %d bytes)", len(frames), bytes, cached, maxFrames, maxFrames*perFrame)
		}
		if len(frames) < cached-2 {
			t.Fatalf("viewer was sent %d pictures, fewer than the %d cached", len(frames), cached)
		}
		for i := 1; i < len(frames); i++ {
			// A picture may be lost (UDP on a loaded machine), never repeated.
			if frames[i].Frame <= frames[i-1].Frame {
				t.Fatalf("picture %d followed %d", frames[i].Frame, frames[i-1].Frame)
			}
		}
		t.Logf("attempt %d: connected %d pictures into the GOP; sent %d pictures, %d bytes in the first second; first %v after connecting",
			attempt, cached, len(frames), bytes, start.Round(time.Millisecond))
		return
	}
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
