package rtc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/streams"
)

// egressPeer negotiates the recorded Chromium WHEP offer, its candidates
// replaced by cands (placed in the first m-section), on a peer of e.
func egressPeer(t *testing.T, e *Engine, cands []string) *Peer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", "chromium-156-whep.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, l := range splitLines(string(b)) {
		if strings.HasPrefix(l, "a=candidate:") {
			continue
		}
		sb.WriteString(l + "\r\n")
		if l == "a=mid:0" {
			for _, c := range cands {
				sb.WriteString("a=" + c + "\r\n")
			}
		}
	}
	offer, err := ParseOffer([]byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(offer.SDP, "a=candidate:") || len(offer.Candidates) != len(cands) {
		t.Fatalf("offer SDP keeps candidates, or %d of %d were taken", len(offer.Candidates), len(cands))
	}
	h264 := streams.Codec{MimeType: "video/H264", ClockRate: 90000, Fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	c, err := ChooseEgressCodec(offer.Media[0], h264)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := e.NewPeerConnection(RoleEgress, offer, []Chosen{{Kind: webrtc.RTPCodecTypeVideo, Codec: c}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	p := e.NewPeer(pc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.Negotiate(ctx, offer, AnswerOptions{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// remoteAddrs waits until the ICE agent holds want remote candidates and
// returns their addresses; pion adds them asynchronously.
func remoteAddrs(t *testing.T, pc *webrtc.PeerConnection, want int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got []string
		for _, s := range pc.GetStats() {
			if c, ok := s.(webrtc.ICECandidateStats); ok && c.Type == webrtc.StatsTypeRemoteCandidate {
				got = append(got, fmt.Sprintf("%s:%d", c.IP, c.Port))
			}
		}
		slices.Sort(got)
		if len(got) == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func cand(prio int, addr string, port int) string {
	return fmt.Sprintf("candidate:%d 1 udp %d %s %d typ host generation 0", prio, prio, addr, port)
}

func TestOfferCandidatesScreenedAndCapped(t *testing.T) {
	e := newTestEngine(t, EngineConfig{MaxRemoteCandidates: 3})
	p := egressPeer(t, e, []string{
		cand(10, "192.0.2.1", 5000),
		cand(50, "192.0.2.2", 5000),
		cand(40, "192.0.2.3", 5000),
		cand(30, "192.0.2.4", 5000),
		cand(90, "192.0.2.2", 5000), // the same transport address again
		cand(99, "224.0.0.251", 5353),
		cand(99, "169.254.169.254", 80),
		cand(99, "255.255.255.255", 9),
		cand(99, "127.0.0.1", e.UDPAddr().Port), // the media socket itself
		"candidate:1 1 tcp 99 192.0.2.9 9 typ host tcptype active",
		"candidate:1 1 udp 99 x.local 9 typ host",
	})
	got := remoteAddrs(t, p.PC, 3)
	// Three of four allowed: the highest priorities (50, 40, 30).
	if want := []string{"192.0.2.2:5000", "192.0.2.3:5000", "192.0.2.4:5000"}; !slices.Equal(got, want) {
		t.Fatalf("agent's remote candidates %v, want %v", got, want)
	}
	drops := e.CandidateDrops()
	for reason, n := range map[string]uint64{"multicast": 1, "link_local": 1, "broadcast": 1, "own_socket": 1, "unsupported": 2, "duplicate": 1, "over_cap": 1} {
		if drops[reason] != n {
			t.Errorf("drops[%s] = %d, want %d (%v)", reason, drops[reason], n, drops)
		}
	}
}

func TestTrickleCap(t *testing.T) {
	e := newTestEngine(t, EngineConfig{MaxRemoteCandidates: 4})
	p := egressPeer(t, e, []string{cand(1, "192.0.2.1", 5000)})
	ctx := context.Background()
	frag := func(cands ...string) *Fragment {
		f := &Fragment{}
		for _, c := range cands {
			f.Candidates = append(f.Candidates, FragCandidate{Mid: "0", Candidate: c})
		}
		return f
	}
	// Two new, one known, one forbidden: fits (1 + 2 <= 4).
	if _, err := p.Patch(ctx, frag(cand(2, "192.0.2.2", 5000), cand(3, "192.0.2.3", 5000),
		cand(1, "192.0.2.1", 5000), cand(9, "239.255.255.250", 1900))); err != nil {
		t.Fatal(err)
	}
	remoteAddrs(t, p.PC, 3)
	// Two more would make five: refused whole.
	_, err := p.Patch(ctx, frag(cand(4, "192.0.2.4", 5000), cand(5, "192.0.2.5", 5000)))
	var le *CandidateLimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrTooManyCandidates) || le.Limit != 4 || le.Have != 3 || le.New != 2 {
		t.Fatalf("over the limit: %v", err)
	}
	if !strings.Contains(err.Error(), "max_remote_candidates") {
		t.Fatalf("the error does not name the limit: %v", err)
	}
	// Forbidden and known ones cost nothing: still room for exactly one.
	if _, err := p.Patch(ctx, frag(cand(9, "0.0.0.0", 9), cand(2, "192.0.2.2", 5000), cand(6, "192.0.2.6", 5000))); err != nil {
		t.Fatal(err)
	}
	got := remoteAddrs(t, p.PC, 4)
	if want := []string{"192.0.2.1:5000", "192.0.2.2:5000", "192.0.2.3:5000", "192.0.2.6:5000"}; !slices.Equal(got, want) {
		t.Fatalf("agent's remote candidates %v, want %v", got, want)
	}
}
