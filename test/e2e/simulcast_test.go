package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/testutil"
)

// TestSimulcastPublisherForwardsOneLayer: a browser-style simulcast
// publisher (three rids on one m-line, no a=ssrc) is accepted, and viewers
// get exactly one layer, never an interleaving of several.
func TestSimulcastPublisherForwardsOneLayer(t *testing.T) {
	a := testutil.StartGateway(t, nil)

	me := &webrtc.MediaEngine{}
	for _, c := range client.Codecs(client.CodecH264) {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(*client.LoopbackSettingEngine(nil)))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	rids := []string{"q", "h", "f"}
	var layers []*webrtc.TrackLocalStaticRTP
	for _, rid := range rids {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000},
			"video", "sim", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, tr)
	}
	snd, err := pc.AddTrack(layers[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers[1:] {
		if err := snd.AddEncoding(l); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	r := do(t, http.MethodPost, a.URL()+"/whip/sim", sdpType, []byte(pc.LocalDescription().SDP))
	if r.Status != http.StatusCreated {
		t.Fatalf("simulcast offer: %d %s", r.Status, r.Body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.Body}); err != nil {
		t.Fatalf("answer: %v", err)
	}
	defer do(t, http.MethodDelete, a.URL()+r.Header.Get("Location"), "", nil)
	// pion's sender does not stamp mid/rid itself: a simulcast sender must
	// (RFC 8852), with the ids the answer kept.
	midID, ridID := extID(t, r.Body, sdp.SDESMidURI), extID(t, r.Body, sdp.SDESRTPStreamIDURI)
	mid := attr(r.Body, "mid")

	var mu sync.Mutex
	seen := map[byte]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := client.Play(ctx, a.URL()+"/whep/sim", client.PlayOptions{
		Options: client.Options{NoAudio: true},
		OnPacket: func(_ webrtc.RTPCodecType, _ webrtc.RTPCodecParameters, p *rtp.Packet) {
			if len(p.Payload) > 1 {
				mu.Lock()
				seen[p.Payload[1]]++
				mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for n := 0; n < 2000; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			nal := byte(0x41)
			if n%10 == 0 {
				nal = 0x65
			}
			for i, l := range layers {
				payload := append([]byte{nal, byte(i)}, bytes.Repeat([]byte{byte(n)}, 100)...)
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true,
					SequenceNumber: uint16(n), Timestamp: uint32(n) * 3000}, Payload: payload}
				_ = pkt.Header.SetExtension(midID, []byte(mid))
				_ = pkt.Header.SetExtension(ridID, []byte(rids[i]))
				_ = l.WriteRTP(pkt)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	if err := v.WaitPackets(ctx, webrtc.RTPCodecTypeVideo, 60); err != nil {
		t.Fatalf("viewer got %d packets: %v", v.Received(webrtc.RTPCodecTypeVideo).Packets, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Errorf("viewer received layers %v, want exactly one", seen)
	}
}

func extID(t *testing.T, desc, uri string) uint8 {
	t.Helper()
	for _, l := range strings.Split(desc, "\r\n") {
		var id uint8
		var u string
		if _, err := fmt.Sscanf(l, "a=extmap:%d %s", &id, &u); err == nil && u == uri {
			return id
		}
	}
	t.Fatalf("answer has no extmap for %s", uri)
	return 0
}

func attr(desc, key string) string {
	for _, l := range strings.Split(desc, "\r\n") {
		if v, ok := strings.CutPrefix(l, "a="+key+":"); ok {
			return v
		}
	}
	return ""
}
