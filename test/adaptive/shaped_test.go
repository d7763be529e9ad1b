package adaptive

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// viewerIP is the viewer's own address on lo, so that tc can shape what the
// gateway sends it and nothing else (the publisher stays on 127.0.0.1).
var viewerIP = net.IPv4(127, 0, 0, 2)

func run(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// viewerAddress puts viewerIP on lo (this namespace's) for the test.
func viewerAddress(t *testing.T) {
	t.Helper()
	testutil.RequireIsolation(t, isolatedEnv)
	testutil.RequireTool(t, "ip")
	if err := run(t, "ip", "addr", "add", viewerIP.String()+"/8", "dev", "lo"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run(t, "ip", "addr", "del", viewerIP.String()+"/8", "dev", "lo") })
}

// shape limits what lo carries to viewerIP to rate, with a queue of limit
// full-size (1200-byte) packets (a home link's buffer: about half a second
// at 400 kbit/s), and returns the func that lifts the limit. An HTB class
// does the shaping (the kernel here has no netem); packets beyond the queue
// are dropped. The queue is bounded in bytes, as a link's buffer is: the
// gateway sends a picture's fragments to one viewer as one UDP GSO message,
// which the qdisc sees as one packet (the kernel segments it after the
// qdisc), so a queue counted in packets would hold many pictures.
func shape(t *testing.T, rate string, limit int) (lift func()) {
	t.Helper()
	testutil.RequireTool(t, "tc")
	for _, cmd := range [][]string{
		{"tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10"},
		{"tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit"},
		{"tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", rate, "ceil", rate},
		{"tc", "qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "bfifo", "limit", fmt.Sprint(limit * 1200)},
		{"tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
			"match", "ip", "dst", viewerIP.String() + "/32", "flowid", "1:20"},
	} {
		if err := run(t, cmd...); err != nil {
			_ = run(t, "tc", "qdisc", "del", "dev", "lo", "root")
			t.Fatal(err)
		}
	}
	var once sync.Once
	lift = func() {
		once.Do(func() {
			if err := run(t, "tc", "qdisc", "del", "dev", "lo", "root"); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(lift)
	return lift
}

// TestShapedViewerMovesDownAndBackUp: a viewer in auto on a path shaped to
// 400 kbit/s moves from the 1.5 Mbit/s layer to one that fits (the
// 150 kbit/s one; 500 kbit/s does not) within a few seconds, stays there
// while shaped, and goes back to the top after the limit is lifted. Every
// packet it got is its layer's own, and no picture ever depended on one the
// gateway left out: every switch starts at a key picture of the new layer.
// Audio keeps flowing throughout.
func TestShapedViewerMovesDownAndBackUp(t *testing.T) {
	viewerAddress(t)

	a := testutil.StartGateway(t, nil)
	g := testutil.ThreeLayers()
	testutil.PublishLayers(t, a, "sim", g, true)
	v := testutil.PlayLayers(t, a.URL()+"/whep/sim", g, client.PlayOptions{Options: client.Options{
		ConfigureSettingEngine: func(se *webrtc.SettingEngine) {
			se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(viewerIP) })
		},
	}})
	top := len(g.Config().Layers) - 1
	testutil.WaitUntil(t, 10*time.Second, "the top layer", func() bool {
		r := v.Check.Report()
		return r.Last == top && r.Packets[top] > 100
	})
	// Unshaped, auto stays on the top layer.
	time.Sleep(3 * time.Second) // a period with nothing to do, bounded
	if r := v.Check.Report(); len(r.Switches) != 0 || r.Last != top {
		t.Fatalf("moved on an unshaped path: %+v", r.Switches)
	}

	lift := shape(t, "400kbit", 20)
	shaped := time.Now()
	testutil.WaitUntil(t, 8*time.Second, "a lower layer after the path was shaped", func() bool {
		return v.Check.Report().Last < top
	})
	down := time.Since(shaped)
	t.Logf("down after %v", down.Round(100*time.Millisecond))
	// Shaped, it stays below the top (a try of the next layer up may come
	// and go, never the 1.5 Mbit/s one).
	audio := v.Audio()
	until := time.Now().Add(6 * time.Second)
	for time.Now().Before(until) {
		if v.Check.Report().Last == top {
			t.Fatal("back on the top layer while the path is still shaped")
		}
		time.Sleep(200 * time.Millisecond) // sampling, bounded by until
	}
	if got := v.Audio() - audio; got < 100 {
		t.Errorf("%d audio packets in 6 s on the shaped path: audio did not keep flowing", got)
	}

	lift()
	lifted := time.Now()
	testutil.WaitUntil(t, 45*time.Second, "the top layer after the limit was lifted", func() bool {
		return v.Check.Report().Last == top
	})
	t.Logf("back up after %v", time.Since(lifted).Round(100*time.Millisecond))
	testutil.WaitUntil(t, 5*time.Second, "the top layer's pictures", func() bool {
		r := v.Check.Report()
		return r.Last == top && r.Packets[top] > 200
	})

	rep := v.Check.Report()
	t.Logf("switches %+v, packets per layer %v", rep.Switches, rep.Packets)
	if len(rep.Problems) > 0 {
		t.Errorf("%d undecodable or foreign packets, the first: %q", len(rep.Problems), rep.Problems[:min(5, len(rep.Problems))])
	}
	if rep.Foreign > 0 {
		t.Errorf("%d packets of no layer", rep.Foreign)
	}
	if len(rep.Switches) < 2 || rep.Switches[0].From != top {
		t.Errorf("switches %+v: want down from the top, then back", rep.Switches)
	}
}

// TestShapedViewerOfPlainStreamKeepsAudio: a stream without simulcast
// (2.5 Mbit/s video, 64 kbit/s audio) to a viewer whose path carries
// 300 kbit/s. There is no lower layer: the gateway pauses the video so the
// audio has the path to itself, and resumes the video, at a keyframe, once
// the limit is lifted.
func TestShapedViewerOfPlainStreamKeepsAudio(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	viewerAddress(t)

	a := testutil.StartGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, a.URL()+"/whip/plain", client.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(context.Background())
	paced := make(chan struct{})
	go func() {
		defer close(paced)
		client.PaceSynth(pctx, pub, client.NewSynthVideo(client.SynthConfig{GOP: time.Second}), client.NewSynthAudio(client.SynthConfig{}), nil)
	}()
	defer func() { stop(); <-paced }()

	var mu sync.Mutex
	var asm client.SynthAssembler
	var frames []client.SynthFrame
	v, err := client.Play(ctx, a.URL()+"/whep/plain", client.PlayOptions{
		Options: client.Options{ConfigureSettingEngine: func(se *webrtc.SettingEngine) {
			se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(viewerIP) })
		}},
		OnPacket: func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
			if kind != webrtc.RTPCodecTypeVideo {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if f, ok := asm.Push(&p.Header, p.Payload, time.Now()); ok {
				frames = append(frames, f)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	videoPaused := func() bool {
		info, _ := a.Registry.Info("plain")
		return len(info.Subscribers) == 1 && info.Subscribers[0].VideoPaused
	}
	testutil.WaitUntil(t, 10*time.Second, "video", func() bool { return v.Received(webrtc.RTPCodecTypeVideo).Packets > 500 })

	lift := shape(t, "300kbit", 20)
	testutil.WaitUntil(t, 10*time.Second, "the video paused on the shaped path", videoPaused)
	time.Sleep(time.Second) // the queue drains; bounded
	audio, video := v.Received(webrtc.RTPCodecTypeAudio).Packets, v.Received(webrtc.RTPCodecTypeVideo).Packets
	time.Sleep(4 * time.Second) // audio alone on the path; bounded
	if got := v.Received(webrtc.RTPCodecTypeAudio).Packets - audio; got < 180 {
		t.Errorf("%d of 200 audio packets in 4 s with the video paused", got)
	}
	if got := v.Received(webrtc.RTPCodecTypeVideo).Packets - video; got > 0 && videoPaused() {
		t.Errorf("%d video packets while paused", got)
	}

	lift()
	mu.Lock()
	before := len(frames)
	mu.Unlock()
	testutil.WaitUntil(t, 30*time.Second, "the video back after the limit was lifted", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !videoPaused() && len(frames) > before+30
	})
	mu.Lock()
	defer mu.Unlock()
	if !frames[before].Keyframe {
		t.Errorf("the video resumed at frame %d, not a keyframe", frames[before].Frame)
	}
}
