package network

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
)

// blackholeConn is a UDP socket whose traffic can be cut both ways, as a
// network that starts blocking UDP would.
type blackholeConn struct {
	*net.UDPConn
	cut atomic.Bool
}

func (c *blackholeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil || !c.cut.Load() {
			return n, addr, err
		}
	}
}

func (c *blackholeConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, addr, err := c.UDPConn.ReadFromUDPAddrPort(b)
		if err != nil || !c.cut.Load() {
			return n, addr, err
		}
	}
}

func (c *blackholeConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.cut.Load() {
		return len(b), nil
	}
	return c.UDPConn.WriteTo(b, addr)
}

// A viewer whose network stops passing UDP restarts ICE and continues over
// ICE-TCP; when UDP works again, another restart brings it back. Each time
// the gateway's egress follows the newly selected pair (no latch at connect)
// and media keeps flowing, on the same session and subscription.
func TestViewerMovesBetweenUDPAndTCP(t *testing.T) {
	gw, logs := start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	publishSynth(t, ctx, gw.URL()+"/whip/mover", client.PublishOptions{})

	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn := &blackholeConn{UDPConn: udp}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn})
	defer mux.Close()
	viewer, err := client.Play(ctx, gw.URL()+"/whep/mover", client.PlayOptions{Options: client.Options{
		NetworkTypes:           []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4},
		ConfigureSettingEngine: func(se *webrtc.SettingEngine) { se.SetICEUDPMux(mux) },
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	if err := viewer.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	flowing := func(what string) {
		t.Helper()
		from := viewer.Received(webrtc.RTPCodecTypeVideo).Packets
		waitFor(t, ctx, "video "+what, func() bool { return viewer.Received(webrtc.RTPCodecTypeVideo).Packets > from+100 })
	}
	egressOn := func(path string, after int) {
		t.Helper()
		waitFor(t, ctx, "the egress on "+path, func() bool {
			for _, l := range strings.Split(logs.String()[after:], "\n") {
				if strings.Contains(l, "msg=egress ") && strings.Contains(l, " path="+path) {
					return true
				}
			}
			return false
		})
	}
	if p := selectedProtocol(t, viewer); p != webrtc.ICEProtocolUDP {
		t.Fatalf("connected over %s, want UDP first", p)
	}
	egressOn("udp", 0)
	flowing("over UDP")

	mark := len(logs.String())
	conn.cut.Store(true)
	if err := viewer.RestartICE(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "a TCP pair", func() bool { return pairProtocol(viewer) == "tcp" })
	egressOn("tcp", mark)
	flowing("over ICE-TCP after the restart")

	mark = len(logs.String())
	conn.cut.Store(false)
	if err := viewer.RestartICE(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "a UDP pair again", func() bool { return pairProtocol(viewer) == "udp" })
	egressOn("udp", mark)
	flowing("over UDP again")
}

// pairProtocol is the selected pair's transport, "" while there is none
// (during a restart).
func pairProtocol(s session) string {
	for _, tr := range s.PeerConnection().GetTransceivers() {
		if r := tr.Receiver(); r != nil && r.Transport() != nil {
			if pair, err := r.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
				return pair.Local.Protocol.String()
			}
		}
	}
	return ""
}
