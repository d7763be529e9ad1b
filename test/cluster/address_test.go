package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
)

// unreachable is a loopback address no socket of the tests listens on:
// node 1 advertises it to viewers as its NAT 1:1 address, as a node behind
// a NAT advertises a public address the other nodes cannot reach.
const unreachable = "127.0.0.201"

// Relays dial the origin at the address it advertises to the cluster
// (cluster_advertise_url), not at the public address its answers carry
// for viewers.
func TestRelayUsesAdvertisedAddress(t *testing.T) {
	_, nodes := startCluster(t, 2, func(i int, c *config.Config) {
		if i == 1 {
			c.PublicIPs = []string{unreachable}
		}
	})
	n1, n2 := nodes[0], nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Publish(ctx, n1.URL()+"/whip/natted", client.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	answer := pub.PeerConnection().RemoteDescription().SDP
	if !strings.Contains(answer, " "+unreachable+" ") || strings.Contains(answer, " 127.0.0.1 ") {
		t.Fatalf("node 1's answer does not carry only its NAT 1:1 address:\n%s", answer)
	}
	// The publisher stands for one outside the NAT, whose packets to the
	// public address arrive at the node's socket.
	port := n1.UDPAddr().Port
	if err := pub.PeerConnection().AddICECandidate(webrtc.ICECandidateInit{
		Candidate: fmt.Sprintf("candidate:natfwd 1 udp 2130706431 127.0.0.1 %d typ host", port)}); err != nil {
		t.Fatal(err)
	}
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	feedOn(t, pub, 25, 0)

	v := play(t, n2, "natted")
	v.waitFrames(t, 20)
	if _, bad := v.seen(); bad != 0 {
		t.Fatalf("%d payloads differ from what was sent", bad)
	}
	if relayReaders(t, n1, "natted") != 1 {
		t.Fatalf("origin has %d relay readers, want 1", relayReaders(t, n1, "natted"))
	}
}
