package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wishbench against an in-process gateway: 3 viewers, a short window. The
// report must be sane: every viewer joined and got a keyframe, latency was
// measured, nearly every frame arrived whole, the floors were measured.
func TestWishbenchAgainstGateway(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	gw := testutil.StartGatewayLog(t, nil, slog.New(slog.DiscardHandler))

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	r, err := run(ctx, Config{
		WHIP: gw.URL() + "/whip/bench", WHEP: gw.URL() + "/whep/bench",
		Viewers: 3, Stagger: 50 * time.Millisecond, Warmup: 500 * time.Millisecond, Measure: 2 * time.Second,
		ServerPID: os.Getpid(), FloorTime: 300 * time.Millisecond, ViewerNACK: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	r.WriteTable(&table)
	t.Log("\n" + table.String())

	switch {
	case r.Joined != 3 || r.Failed != 0:
		t.Fatalf("joined %d, failed %d", r.Joined, r.Failed)
	case r.JoinFirstRTPMS.N != 3 || r.JoinFirstKeyframeMS.N != 3 || r.NoKeyframe != 0:
		t.Fatalf("join times: rtp %+v keyframe %+v", r.JoinFirstRTPMS, r.JoinFirstKeyframeMS)
	case r.JoinFirstKeyframeMS.P50 <= 0 || r.JoinFirstKeyframeMS.P50 < r.JoinFirstRTPMS.P50:
		t.Fatalf("keyframe join %+v before first RTP %+v", r.JoinFirstKeyframeMS, r.JoinFirstRTPMS)
	case r.LatencyMS.N == 0 || r.LatencyMS.P50 <= 0:
		t.Fatalf("latency not measured: %+v", r.LatencyMS)
	case r.FramesSent < 30:
		t.Fatalf("%d frames sent in a 2 s window at 30 fps", r.FramesSent)
	case r.DeliveredMin <= 0.9:
		t.Fatalf("delivered min %.3f", r.DeliveredMin)
	case r.PacketRate < 250 || r.PacketRate > 450:
		t.Fatalf("packet rate %.0f/s, want ≈ 330 for 2.5 Mbit/s + audio", r.PacketRate)
	case r.Server == nil || r.Server.Cores <= 0 || r.Server.RSSMB <= 0:
		t.Fatalf("server usage %+v", r.Server)
	case r.Floor == nil || r.Floor.PionWriteUS <= 0 || r.Floor.SRTPSendtoUS <= 0 || r.Floor.RatioToPion <= 0:
		t.Fatalf("floor %+v", r.Floor)
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, u := range []string{"http://example.com/whip/x", "http://10.0.0.1/whip/x", "ftp://127.0.0.1/x"} {
		if checkTarget(u, "") == nil {
			t.Errorf("%s accepted", u)
		}
	}
	// -link allows only a peer on a veth's small subnet: lo's /8 is not one,
	// and a name that is no interface is an error.
	for _, link := range []string{"lo", "no-such-if0"} {
		if checkTarget("http://127.0.0.2:8080/whip/x", link) != nil {
			t.Errorf("loopback refused with -link %s", link)
		}
		if checkTarget("http://10.1.2.3:8080/whip/x", link) == nil {
			t.Errorf("10.1.2.3 accepted with -link %s", link)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8080/whip/x", "http://localhost/whip/x", "http://[::1]:80/whip/x"} {
		if err := checkTarget(u, ""); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
}

// -ab against an in-process gateway: the viewers of a simulcast stream are
// moved between the top layer and auto through the layer extension (a
// refused POST fails the run), every phase is measured, and the viewers get
// their pictures in both kinds of phase.
func TestWishbenchAB(t *testing.T) {
	gw := testutil.StartGatewayLog(t, nil, slog.New(slog.DiscardHandler))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := run(ctx, Config{
		WHIP: gw.URL() + "/whip/bench", WHEP: gw.URL() + "/whep/bench",
		Viewers: 2, Stagger: 50 * time.Millisecond, Warmup: time.Second, Measure: 4 * time.Second,
		ServerPID: os.Getpid(), ViewerNACK: true, Simulcast: true, AB: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	r.WriteTable(&table)
	t.Log("\n" + table.String())
	ab := r.AB
	switch {
	case r.Joined != 2:
		t.Fatalf("joined %d", r.Joined)
	case ab == nil || len(ab.Phases) != 2 || ab.Phases[0].Auto || !ab.Phases[1].Auto:
		t.Fatalf("phases %+v", ab)
	case ab.FixedMillicores <= 0 || ab.AutoMillicores <= 0 || ab.Ratio <= 0:
		t.Fatalf("A/B figures %+v", ab)
	}
	for i, p := range ab.Phases {
		if p.DeliveredMin < 0.8 {
			t.Errorf("phase %d: delivered min %.3f", i+1, p.DeliveredMin)
		}
	}
	// Refused without what it needs.
	if _, err := run(ctx, Config{WHIP: gw.URL() + "/whip/x", WHEP: gw.URL() + "/whep/x", Viewers: 1, AB: 1}); err == nil {
		t.Error("-ab without -simulcast accepted")
	}
}
