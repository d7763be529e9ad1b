package hostile

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// stunCounter is a UDP socket of the test's that counts the STUN binding
// requests it receives: the gateway's connectivity checks.
type stunCounter struct {
	conn *net.UDPConn
	n    atomic.Int64
	done chan struct{}
}

func listenSTUN(t *testing.T, addr string) *stunCounter {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		t.Fatal(err)
	}
	s := &stunCounter{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 1500)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// RFC 8489 §5: type 0x0001 (binding request), magic cookie.
			if n >= 20 && binary.BigEndian.Uint16(buf) == 0x0001 && binary.BigEndian.Uint32(buf[4:]) == 0x2112A442 {
				s.n.Add(1)
			}
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-s.done
	})
	return s
}

func (s *stunCounter) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func hostCandidate(foundation int, addr string, port int) string {
	return fmt.Sprintf("candidate:%d 1 udp 2122260223 %s %d typ host generation 0", foundation, addr, port)
}

// dropped reads wishgate_ice_remote_candidates_dropped_total from /metrics.
func dropped(t *testing.T, a *attacker) map[string]int {
	t.Helper()
	r := a.do("GET", "/metrics", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("/metrics: %d", r.status)
	}
	out := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(r.body))
	for sc.Scan() {
		l := sc.Text()
		const prefix = `wishgate_ice_remote_candidates_dropped_total{reason="`
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		reason, val, _ := strings.Cut(l[len(prefix):], `"} `)
		n, err := strconv.ParseFloat(val, 64)
		if err != nil {
			t.Fatalf("metric line %q", l)
		}
		out[reason] = int(n)
	}
	return out
}

// TestNoChecksToForbiddenAddresses: a viewer names, in its offer and in a
// PATCH, the addresses the attacker used — multicast groups, the
// broadcast address, 0.0.0.0, the cloud metadata service (also as a mapped
// and a NAT64 address), link-local and private addresses an operator
// denied, the gateway's own HTTP, RTSP and media ports. Two allowed
// listeners of the test's receive connectivity checks again and again
// (proof that checks are sent); the forbidden listeners on loopback receive
// none, and every refused candidate is counted by reason.
func TestNoChecksToForbiddenAddresses(t *testing.T) {
	testutil.RequireIsolation(t, isolatedEnv)
	gw := startGateway(t, func(c *config.Config) {
		c.ICERemoteNetworks = []string{"deny 127.0.0.2/32"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	target := publish(t, ctx, gw, "target")
	defer target.Close()

	httpPort := gw.HTTPAddr().(*net.TCPAddr).Port
	rtspPort := gw.RTSPAddr().(*net.TCPAddr).Port
	allowedOffer := listenSTUN(t, "127.0.0.1:0")
	allowedPatch := listenSTUN(t, "127.0.0.1:0")
	denied := listenSTUN(t, "127.0.0.2:0")
	unspecified := listenSTUN(t, "127.0.0.1:0") // 0.0.0.0:port arrives here
	ownHTTP := listenSTUN(t, fmt.Sprintf("127.0.0.1:%d", httpPort))
	ownRTSP := listenSTUN(t, fmt.Sprintf("127.0.0.1:%d", rtspPort))
	forbidden := map[string]*stunCounter{"denied": denied, "unspecified": unspecified, "own HTTP port": ownHTTP, "own RTSP port": ownRTSP}

	offerCands := []string{
		hostCandidate(1, "127.0.0.1", allowedOffer.port()),
		hostCandidate(2, "127.0.0.2", denied.port()),
		hostCandidate(3, "0.0.0.0", unspecified.port()),
		hostCandidate(4, "224.0.0.251", 5353),
		hostCandidate(5, "169.254.169.254", 80),
	}
	a := newAttacker(t, gw)
	r := a.do("POST", "/whep/target", "application/sdp", withCandidates(golden(t, "chromium-156-whep.sdp"), offerCands))
	if r.status != http.StatusCreated {
		t.Fatalf("viewer: %d %s", r.status, r.body)
	}
	patchCands := []string{
		hostCandidate(6, "127.0.0.1", httpPort),
		hostCandidate(7, "127.0.0.1", rtspPort),
		hostCandidate(8, "127.0.0.1", gw.UDPAddr().Port),
		hostCandidate(9, "255.255.255.255", 9),
		hostCandidate(10, "239.255.255.250", 1900),
		hostCandidate(11, "fe80::1", 5000),
		hostCandidate(12, "100.100.100.200", 80),
		hostCandidate(13, "fd00:ec2::254", 80),
		hostCandidate(14, "::ffff:169.254.169.254", 80),
		hostCandidate(15, "64:ff9b::a9fe:a9fe", 80),
		hostCandidate(16, "127.0.0.2", denied.port()+1),
		hostCandidate(17, "127.0.0.1", allowedPatch.port()), // last
	}
	r = a.do("PATCH", r.header.Get("Location"), "application/trickle-ice-sdpfrag", fragment(patchCands))
	if r.status != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	// Checks are sent to every pair in turn: once both allowed listeners
	// have had several, any other candidate ICE held would have had some.
	waitFor(t, ctx, "connectivity checks at the allowed candidates", func() bool {
		return allowedOffer.n.Load() >= 5 && allowedPatch.n.Load() >= 5
	})
	for name, s := range forbidden {
		if n := s.n.Load(); n != 0 {
			t.Errorf("%d connectivity checks reached the %s listener", n, name)
		}
	}
	want := map[string]int{"denied": 2, "unspecified": 1, "multicast": 2, "link_local": 4, "broadcast": 1, "own_socket": 3, "metadata": 2}
	got := dropped(t, a)
	for reason, n := range want {
		if got[reason] != n {
			t.Errorf("dropped{reason=%q} = %d, want %d (all: %v)", reason, got[reason], n, got)
		}
	}
	t.Logf("checks at the allowed listeners: %d and %d; drops %v", allowedOffer.n.Load(), allowedPatch.n.Load(), got)
	ctl.check(t, 0.999)
}
