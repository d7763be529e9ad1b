package apispec

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
)

// feed sends synthetic H.264 (SPS/PPS/IDR every 25 frames) and Opus at 50
// packets/s until the test ends.
func feed(t *testing.T, pub *client.Publisher) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var seq uint16
		for n := uint32(0); n < 1_000_000; n++ {
			payloads := [][]byte{append([]byte{0x41}, bytes.Repeat([]byte{0x22}, 300)...)}
			if n%25 == 0 {
				payloads = [][]byte{
					{24, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 0, 4, 0x68, 0xce, 0x3c, 0x80},
					append([]byte{0x65}, bytes.Repeat([]byte{0x11}, 800)...),
				}
			}
			for i, p := range payloads {
				_ = pub.WriteRTP(webrtc.RTPCodecTypeVideo, &rtp.Packet{
					Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: n * 1800, Marker: i == len(payloads)-1}, Payload: p})
				seq++
			}
			_ = pub.WriteRTP(webrtc.RTPCodecTypeAudio, &rtp.Packet{
				Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: n * 960}, Payload: bytes.Repeat([]byte{0xfc}, 60)})
			select {
			case <-tick.C:
			case <-quit:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(quit)
		wg.Wait()
	})
}

// publish starts a pion WHIP publisher whose signaling goes through hc.
func publish(t *testing.T, a *app.App, stream string, hc *client.Options) *client.Publisher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, a.URL()+"/whip/"+stream, client.PublishOptions{Options: *hc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	feed(t, pub)
	return pub
}

// play starts a pion WHEP viewer and waits for video.
func play(t *testing.T, a *app.App, stream string, hc *client.Options) *client.Viewer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := client.Play(ctx, a.URL()+"/whep/"+stream, client.PlayOptions{Options: *hc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 3); err != nil {
		t.Fatal(err)
	}
	return v
}
