package cluster

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// loopbackAPI is a pion API on loopback only with quick ICE timeouts;
// configure adds the role's settings.
func loopbackAPI(t *testing.T, configure func(*webrtc.SettingEngine)) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICETimeouts(300*time.Millisecond, time.Second, 100*time.Millisecond)
	configure(&se)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}

// relayTo negotiates a recvonly session from a fresh edge peer to an
// origin that advertises only 127.0.0.201 (its NAT 1:1 address, which no
// socket listens on) and, being ICE-lite, never probes the edge itself: the
// session connects only if the edge dials the origin's advertised address.
func relayTo(t *testing.T, advertise bool) webrtc.PeerConnectionState {
	t.Helper()
	origin, err := loopbackAPI(t, func(se *webrtc.SettingEngine) {
		se.SetLite(true)
		se.SetNAT1To1IPs([]string{"127.0.0.201"}, webrtc.ICECandidateTypeHost)
	}).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer origin.Close()
	edge, err := loopbackAPI(t, func(*webrtc.SettingEngine) {}).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer edge.Close()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, "v", "s")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := origin.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	if _, err := edge.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	states := make(chan webrtc.PeerConnectionState, 16)
	edge.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		select {
		case states <- s:
		default:
		}
	})
	offer, err := edge.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := edge.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := origin.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := origin.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(origin)
	if err := origin.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	sdp := origin.LocalDescription().SDP
	if !strings.Contains(sdp, " 127.0.0.201 ") || strings.Contains(sdp, " 127.0.0.1 ") {
		t.Fatalf("the origin's answer should carry only its NAT 1:1 address:\n%s", sdp)
	}
	if err := edge.SetRemoteDescription(*origin.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	if advertise {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := dialAdvertised(ctx, edge, "localhost"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-states:
			if s == webrtc.PeerConnectionStateConnected || s == webrtc.PeerConnectionStateFailed {
				return s
			}
		case <-deadline:
			t.Fatal("the session neither connected nor failed in 10 s")
		}
	}
}

// A relay reaches an origin whose answers carry only an address the
// cluster cannot reach by dialling the address the origin advertises to
// the cluster (here a name, resolved); without it the same session fails.
func TestDialAdvertised(t *testing.T) {
	if got := relayTo(t, false); got != webrtc.PeerConnectionStateFailed {
		t.Fatalf("without the advertised address: %s, want failed (the set-up proves nothing)", got)
	}
	if got := relayTo(t, true); got != webrtc.PeerConnectionStateConnected {
		t.Fatalf("with the advertised address: %s, want connected", got)
	}
}

func TestAnswerUDP(t *testing.T) {
	sdp := "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
		"a=candidate:1 1 udp 2130706431 203.0.113.5 8189 typ host\r\n" +
		"a=candidate:2 1 udp 2130706431 2001:db8::5 8189 typ host\r\n" +
		"a=candidate:3 1 tcp 1671430143 203.0.113.5 8189 typ host tcptype passive\r\n" +
		"a=candidate:4 1 udp 2130706431 203.0.113.5 9000 typ host\r\n"
	listed, ports := answerUDP(sdp)
	if len(listed) != 3 || len(ports) != 2 || ports[0] != 8189 || ports[1] != 9000 {
		t.Fatalf("listed %v ports %v", listed, ports)
	}
}
