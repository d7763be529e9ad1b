// Package multicast checks RTSP over UDP multicast both ways, in a private
// network namespace the test binary makes for itself (only loopback, with
// multicast on and a route for 224.0.0.0/4), so no group traffic can reach
// a real network: an ffmpeg reader plays a stream the gateway sends to a
// multicast group, and the gateway pulls a camera over multicast for a pion
// WHEP viewer.
package multicast

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/streams"
)

const isolatedEnv = "WISHGATE_MULTICAST_NETNS"

// The route names 127.0.0.1 as the source: lo's address is host-scoped, so
// the kernel would otherwise send multicast from 0.0.0.0, which RTSP
// clients that check the sender (gortsplib does) discard.
func TestMain(m *testing.M) {
	if code, ran := testutil.RunIsolated(isolatedEnv, "ip link set lo multicast on", "ip route add 224.0.0.0/4 dev lo src 127.0.0.1"); ran {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}

func clip(t *testing.T) [][][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rtsp", "testsrc-baseline.h264"))
	if err != nil {
		t.Fatal(err)
	}
	return testutil.AccessUnits(testutil.AnnexBNALs(b))
}

func startGateway(t *testing.T, mutate func(*config.Config)) (*gatewayLog, func() string) {
	t.Helper()
	lb := &testutil.LogBuffer{}
	a := testutil.StartGatewayLog(t, mutate, slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo})))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", lb.String())
		}
	})
	return &gatewayLog{a.Registry, a.Sources(), "rtsp://" + a.RTSPAddr().String(), a.URL()}, lb.String
}

type gatewayLog struct {
	reg     *streams.Registry
	sources *bridge.Sources
	rtsp    string
	http    string
}

func waitLive(t *testing.T, reg *streams.Registry, name string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if info, ok := reg.Info(name); ok && info.State == streams.StateLive && len(info.Tracks) > 0 && info.Tracks[0].Packets > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not live", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ffmpeg reads a camera stream from the gateway over UDP multicast and
// decodes 50 frames; the gateway sent them to a group of its range.
func TestRTSPReaderOverMulticast(t *testing.T) {
	testutil.RequireIsolation(t, isolatedEnv)
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	cam := testutil.StartCamera(t, clip(t), 25, testutil.CameraOptions{})
	gw, log := startGateway(t, func(c *config.Config) {
		c.RTSPMulticastRange = "239.77.0.0/16"
	})
	if err := gw.sources.Add(bridge.SourceConfig{Name: "cam", URL: cam.URL, Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	waitLive(t, gw.reg, "cam")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-v", "error", "-rtsp_transport", "udp_multicast",
		"-i", gw.rtsp+"/cam", "-map", "0:v", "-frames:v", "50", "-f", "framecrc", "-")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg over UDP multicast: %v\n%s", err, stderr.String())
	}
	frames := testutil.CountFrames(stdout.String())
	if frames != 50 {
		t.Fatalf("ffmpeg decoded %d frames over multicast, want 50 (%s)", frames, stderr.String())
	}
	if !strings.Contains(log(), "transport=UDP-multicast") {
		t.Fatalf("the gateway did not log a multicast reader")
	}
	if !strings.Contains(log(), "multicast=\"239.77.0.0/16 ports 8002,8003\"") {
		t.Errorf("the start-up log does not name the multicast range and ports")
	}
}

// The gateway pulls a camera that sends over UDP multicast
// (#transport=multicast) and a pion WHEP viewer gets its video.
func TestCameraPulledOverMulticast(t *testing.T) {
	testutil.RequireIsolation(t, isolatedEnv)
	cam := testutil.StartCamera(t, clip(t), 25, testutil.CameraOptions{MulticastIPRange: "239.88.0.0/16", MulticastRTPPort: 9002})
	gw, _ := startGateway(t, nil)
	if err := gw.sources.Add(bridge.SourceConfig{Name: "mcam", URL: cam.URL, Transport: bridge.TransportMulticast}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			st, _ := gw.sources.Get("mcam")
			t.Logf("source: %+v", st)
		}
	})
	waitLive(t, gw.reg, "mcam")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, _ := gw.sources.Get("mcam")
		if st.Transport == string(bridge.TransportMulticast) && st.State == bridge.StatePlaying {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("source %+v, want playing over multicast", st)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	idr := make(chan struct{}, 1)
	v, err := client.Play(ctx, gw.http+"/whep/mcam", client.PlayOptions{Options: client.Options{NoAudio: true},
		OnPacket: func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
			if kind == webrtc.RTPCodecTypeVideo && len(p.Payload) > 1 && (p.Payload[0]&0x1f == 5 ||
				p.Payload[0]&0x1f == 28 && p.Payload[1]&0x9f == 0x85) {
				select {
				case idr <- struct{}{}:
				default:
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 100); err != nil {
		t.Fatalf("viewer: %v", err)
	}
	select {
	case <-idr:
	default:
		t.Fatal("100 video packets and no IDR among them")
	}
}
