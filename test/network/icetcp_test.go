package network

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/app"
	"github.com/wishgate/wishgate/internal/client"
)

// session is what Publisher and Viewer share.
type session interface {
	PeerConnection() *webrtc.PeerConnection
}

// selectedProtocol is the transport of the candidate pair ICE chose.
func selectedProtocol(t *testing.T, s session) webrtc.ICEProtocol {
	t.Helper()
	for _, tr := range s.PeerConnection().GetTransceivers() {
		var dt *webrtc.DTLSTransport
		if snd := tr.Sender(); snd != nil {
			dt = snd.Transport()
		}
		if dt == nil && tr.Receiver() != nil {
			dt = tr.Receiver().Transport()
		}
		if dt == nil {
			continue
		}
		pair, err := dt.ICETransport().GetSelectedCandidatePair()
		if err == nil && pair != nil {
			if pair.Local.Protocol != pair.Remote.Protocol {
				t.Fatalf("mixed pair %s", pair)
			}
			return pair.Local.Protocol
		}
	}
	t.Fatal("no selected candidate pair")
	return 0
}

// publishSynth publishes synthetic H.264 + Opus until the test ends.
func publishSynth(t *testing.T, ctx context.Context, url string, opts client.PublishOptions) *client.Publisher {
	t.Helper()
	pub, err := client.Publish(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.WaitConnected(ctx); err != nil {
		pub.Close()
		t.Fatal(err)
	}
	sendCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		client.PaceSynth(sendCtx, pub, client.NewSynthVideo(client.SynthConfig{GOP: time.Second}), client.NewSynthAudio(client.SynthConfig{}), nil)
	}()
	t.Cleanup(func() { stop(); <-done; pub.Close() })
	return pub
}

// TestICETCPPublishAndPlay: a publisher and a viewer that may only use TCP
// candidates (a network that blocks UDP) reach the gateway's one ICE-TCP
// port, and media flows end to end.
func TestICETCPPublishAndPlay(t *testing.T) {
	gw, _ := start(t, nil)
	if gw.TCPAddr() == nil {
		t.Fatal("ICE-TCP is not listening")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tcpOnly := client.Options{NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}}

	pub := publishSynth(t, ctx, gw.URL()+"/whip/tcpcam", client.PublishOptions{Options: tcpOnly})
	if p := selectedProtocol(t, pub); p != webrtc.ICEProtocolTCP {
		t.Fatalf("publisher connected over %s", p)
	}
	viewer, err := client.Play(ctx, gw.URL()+"/whep/tcpcam", client.PlayOptions{Options: tcpOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	if err := viewer.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if p := selectedProtocol(t, viewer); p != webrtc.ICEProtocolTCP {
		t.Fatalf("viewer connected over %s", p)
	}
	waitFor(t, ctx, "video and audio over ICE-TCP", func() bool {
		return viewer.Received(webrtc.RTPCodecTypeVideo).Packets > 50 && viewer.Received(webrtc.RTPCodecTypeAudio).Packets > 25
	})

	// The answer keeps the UDP host candidate first (FFmpeg takes only the
	// first) and offers the passive TCP one on the ICE-TCP port.
	checkAnswerCandidates(t, gw, viewer.PeerConnection().RemoteDescription().SDP)
	checkAnswerCandidates(t, gw, pub.PeerConnection().RemoteDescription().SDP)
}

func checkAnswerCandidates(t *testing.T, gw *app.App, answer string) {
	t.Helper()
	var cands []string
	for _, l := range strings.Split(answer, "\r\n") {
		if strings.HasPrefix(l, "a=candidate:") {
			cands = append(cands, l)
		}
	}
	if len(cands) < 2 {
		t.Fatalf("want a UDP and a TCP candidate, got %q", cands)
	}
	first := strings.Fields(cands[0])
	if strings.ToLower(first[2]) != "udp" || first[5] != itoa(gw.UDPAddr().Port) || first[7] != "host" {
		t.Fatalf("first candidate is not the UDP host one: %s", cands[0])
	}
	tcpPort := itoa(gw.TCPAddr().Port)
	for _, c := range cands {
		f := strings.Fields(c)
		if strings.ToLower(f[2]) == "tcp" && f[5] == tcpPort && strings.Contains(c, "tcptype passive") {
			return
		}
	}
	t.Fatalf("no passive TCP candidate on port %s: %q", tcpPort, cands)
}
