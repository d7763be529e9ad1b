package reliability

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// TestHostileViewerRTCP: a viewer floods the gateway with RTCP (its own
// SRTCP keys let it send anything): keyframe-request storms, NACKs for
// every sequence number, absurd receiver reports and garbage packets. The
// publisher sees keyframe requests only at the throttled rate, and the
// other viewers keep >= 99.9 % of the packets.
func TestHostileViewerRTCP(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	gw := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := publish(t, ctx, gw, "live", client.SynthConfig{}, client.PublishOptions{})
	url := gw.URL() + "/whep/live"
	healthy := []*watcher{watch(t, ctx, url, client.PlayOptions{}), watch(t, ctx, url, client.PlayOptions{})}
	attacker := watch(t, ctx, url, client.PlayOptions{})
	if err := attacker.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 10); err != nil {
		t.Fatal(err)
	}
	for _, w := range healthy {
		waitFor(t, ctx, "first picture", func() bool { _, _, _, _, _, seen := w.state(); return seen })
	}
	ssrc := uint32(attacker.Track(webrtc.RTPCodecTypeVideo).SSRC())
	pc := attacker.PeerConnection()

	plisBefore := src.pub.KeyframeRequestCount()
	rng := rand.New(rand.NewPCG(1, 2))
	start := src.lastFrame()
	sent := 0
	attackStart := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	for src.lastFrame() < start+120 && sent < 20000 { // four seconds
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		garbage := make([]byte, 8+4*rng.IntN(30))
		for i := range garbage {
			garbage[i] = byte(rng.Uint32())
		}
		garbage[0] = 0x80 | garbage[0]&0x1f // version 2, so it reaches the parsers
		pkts := []rtcp.Packet{
			&rtcp.PictureLossIndication{MediaSSRC: ssrc},
			&rtcp.FullIntraRequest{MediaSSRC: ssrc, FIR: []rtcp.FIREntry{{SSRC: ssrc, SequenceNumber: uint8(sent)}}},
			&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: uint16(rng.Uint32()), LostPackets: 0xffff}}},
			&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: ssrc, FractionLost: 255, TotalLost: 0xffffff,
				LastSequenceNumber: rng.Uint32(), Jitter: rng.Uint32(), LastSenderReport: rng.Uint32(), Delay: rng.Uint32()}}},
			rawRTCP(garbage),
		}
		for i, p := range pkts {
			// pion may refuse to send some garbage; the rest goes out.
			if err := pc.WriteRTCP([]rtcp.Packet{p}); err != nil && i < len(pkts)-1 {
				t.Fatalf("attacker WriteRTCP: %v", err)
			}
			sent++
		}
	}
	tick.Stop()
	attack := time.Since(attackStart)
	src.halt()
	checkReceived(t, ctx, src, healthy, 0.999)

	plis := src.pub.KeyframeRequestCount() - plisBefore
	t.Logf("attacker sent %d RTCP packets in %v; the publisher got %d keyframe requests", sent, attack.Round(time.Millisecond), plis)
	// The throttle allows about two per second; be generous, the point is
	// that thousands of requests did not pass through.
	if max := uint64(attack.Seconds()*4) + 4; plis > max {
		t.Errorf("publisher got %d keyframe requests in %v (more than %d)", plis, attack, max)
	}
	// RTCP, however hostile, is the viewer's own business: it does not
	// end the attacker's session either, and what its reports say stays
	// within the API's bounds.
	if st := attacker.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
		t.Errorf("attacker's connection %s: its RTCP ended its own session", st)
	}
	var view struct {
		Readers []struct {
			RTTMs        *float64 `json:"rtt_ms"`
			JitterMs     *float64 `json:"jitter_ms"`
			FractionLost *float64 `json:"fraction_lost"`
		} `json:"readers"`
	}
	req, _ := http.NewRequest(http.MethodGet, gw.URL()+"/api/v1/streams/live", nil)
	req.Close = true // no idle connection outlives the test (goleak)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil || resp.StatusCode != http.StatusOK || len(view.Readers) != 3 {
		t.Fatalf("stream view: %d %v, %d readers", resp.StatusCode, err, len(view.Readers))
	}
	reported := 0
	for _, r := range view.Readers {
		if r.FractionLost != nil {
			reported++
			if *r.FractionLost < 0 || *r.FractionLost > 1 {
				t.Errorf("fraction_lost %v out of [0, 1]", *r.FractionLost)
			}
		}
		if r.RTTMs != nil && *r.RTTMs < 0 || r.JitterMs != nil && *r.JitterMs < 0 {
			t.Errorf("negative rtt_ms %v or jitter_ms %v", deref(r.RTTMs), deref(r.JitterMs))
		}
	}
	if reported == 0 {
		t.Error("no reader has receiver-report figures: the absurd reports were not even read")
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func rawRTCP(b []byte) *rtcp.RawPacket {
	p := rtcp.RawPacket(b)
	return &p
}
