package reliability

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// TestNACKFloodIsBounded: a viewer asks, hundreds of times a second, for
// every packet of the last two seconds again (a 1 KB NACK names ~1000
// sequence numbers). Answering all of it would multiply the gateway's
// output to that viewer a thousandfold and starve everyone else of CPU; the
// other viewers must keep >= 99.9 % of the packets, and the attacker gets a
// bounded number of retransmissions.
func TestNACKFloodIsBounded(t *testing.T) {
	testutil.Exclusive(t) // it measures delivery or timing under its own load
	gw := startGateway(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := publish(t, ctx, gw, "live", client.SynthConfig{}, client.PublishOptions{})
	url := gw.URL() + "/whep/live"
	healthy := []*watcher{watch(t, ctx, url, client.PlayOptions{}), watch(t, ctx, url, client.PlayOptions{})}
	var lastSeq atomic.Uint32
	var got atomic.Uint64
	// The attacker's traffic goes through the proxy, which counts what the
	// gateway sends it (its own SRTP replay check would hide resends).
	proxy := newLossyProxy(t, gw.UDPAddr())
	attacker, err := client.Play(ctx, url, client.PlayOptions{Options: client.Options{NoAudio: true,
		HTTPClient: viaProxy(t, gw.UDPAddr().Port, proxy.Port())},
		OnPacket: func(kind webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
			lastSeq.Store(uint32(p.SequenceNumber))
			got.Add(1)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer attacker.Close()
	if err := attacker.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 100); err != nil {
		t.Fatal(err)
	}
	for _, w := range healthy {
		waitFor(t, ctx, "first picture", func() bool { _, _, _, _, _, seen := w.state(); return seen })
	}
	ssrc := uint32(attacker.Track(webrtc.RTPCodecTypeVideo).SSRC())
	pc := attacker.PeerConnection()

	start := src.lastFrame()
	fwdBefore := proxy.Forwarded.Load()
	sent, asked := 0, 0
	attackStart := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	for src.lastFrame() < start+150 && sent < 5000 { // five seconds
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		last := uint16(lastSeq.Load())
		var pairs []rtcp.NackPair
		for k := 0; k < 64; k++ { // 64 pairs of 17: the last ~1000 packets
			pairs = append(pairs, rtcp.NackPair{PacketID: last - uint16(17*(k+1)), LostPackets: 0xffff})
		}
		if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: pairs}}); err != nil {
			t.Fatal(err)
		}
		sent++
		asked += 64 * 17
	}
	tick.Stop()
	attack := time.Since(attackStart)
	src.halt()
	checkReceived(t, ctx, src, healthy, 0.999)
	toAttacker := proxy.Forwarded.Load() - fwdBefore
	stream := src.packetsFrom(start)
	t.Logf("attacker sent %d NACKs naming %d packets in %v; the gateway sent it %d packets (the stream itself: %d video)",
		sent, asked, attack.Round(time.Millisecond), toAttacker, stream)
	// The budget (whep/nack.go): 200 retransmissions a second, burst 400.
	// Allow the stream itself, its audio and RTCP, and scheduling slack.
	if limit := 2*stream + uint64(200*attack.Seconds()) + 400 + 500; toAttacker > limit {
		t.Errorf("the gateway sent the NACK flooder %d packets in %v, more than %d: retransmissions are not bounded",
			toAttacker, attack.Round(time.Millisecond), limit)
	}
}
