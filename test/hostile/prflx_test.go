package hostile

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"

	"github.com/wishgate/wishgate/internal/config"
)

// prober is a UDP socket of the attacker's that sends the gateway binding
// requests with a session's ICE credentials, as a client's ICE agent would,
// and counts the binding success responses it gets.
type prober struct {
	conn     *net.UDPConn
	sent     atomic.Int64
	answered atomic.Int64
}

// iceCreds reads a=ice-ufrag and a=ice-pwd from an SDP.
func iceCreds(t *testing.T, sdp string) (ufrag, pwd string) {
	t.Helper()
	u := regexp.MustCompile(`a=ice-ufrag:(\S+)`).FindStringSubmatch(sdp)
	p := regexp.MustCompile(`a=ice-pwd:(\S+)`).FindStringSubmatch(sdp)
	if u == nil || p == nil {
		t.Fatalf("no ICE credentials in %q", sdp)
	}
	return u[1], p[1]
}

func bindingRequest(t *testing.T, username, pwd string) []byte {
	t.Helper()
	var tie [8]byte
	_, _ = rand.Read(tie[:])
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(username),
		ice.AttrControlling(binary.BigEndian.Uint64(tie[:])), ice.PriorityAttr(1845501695),
		stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

// TestPeerReflexiveBounded: a viewer that signals no candidate at all, then
// sends binding requests with its session's credentials from many sockets,
// each of which the gateway would learn as a peer-reflexive candidate (an
// address ICE then checks and keeps). They meet the candidate policy, as
// signalled ones do — a denied address gets no answer — and a cap: with
// max_remote_candidates 4 the session learns at most 8, answers those
// only, and counts the rest; the control viewer loses nothing.
func TestPeerReflexiveBounded(t *testing.T) {
	const limit, sockets = 4, 20
	gw := startGateway(t, func(c *config.Config) {
		c.RTSPAddr = ""
		c.MaxRemoteCandidates = limit
		c.ICERemoteNetworks = []string{"deny 127.0.0.2/32"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	target := publish(t, ctx, gw, "target")
	defer target.Close()

	offer := withCandidates(golden(t, "chromium-156-whep.sdp"), nil)
	a := newAttacker(t, gw)
	r := a.do("POST", "/whep/target", "application/sdp", offer)
	if r.status != http.StatusCreated {
		t.Fatalf("viewer: %d %s", r.status, r.body)
	}
	clientUfrag, _ := iceCreds(t, string(offer))
	gwUfrag, gwPwd := iceCreds(t, r.body)
	before := dropped(t, a)

	media := gw.UDPAddr()
	var probers []*prober
	var wg sync.WaitGroup
	probe := func(src string) *prober {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)})
		if err != nil {
			t.Fatal(err)
		}
		p := &prober{conn: conn}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				n, err := conn.Read(buf)
				if errors.Is(err, net.ErrClosed) {
					return
				}
				var m stun.Message
				m.Raw = buf[:n]
				if m.Decode() == nil && m.Type == stun.BindingSuccess {
					p.answered.Add(1)
				}
			}
		}()
		return p
	}
	for range sockets {
		probers = append(probers, probe("127.0.0.1"))
	}
	denied := probe("127.0.0.2")
	defer func() {
		for _, p := range append(probers, denied) {
			p.conn.Close()
		}
		wg.Wait()
	}()

	// Every socket sends a request each 20 ms, until the answered ones
	// have had several answers and every socket has sent 25 requests:
	// then any socket the gateway would answer has been answered.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	done := func() bool {
		var answered int
		for _, p := range probers {
			if p.answered.Load() >= 3 {
				answered++
			}
		}
		return answered >= 2*limit && denied.sent.Load() >= 25
	}
	for !done() {
		for _, p := range append(probers, denied) {
			if _, err := p.conn.WriteToUDP(bindingRequest(t, gwUfrag+":"+clientUfrag, gwPwd), media); err != nil {
				t.Fatal(err)
			}
			p.sent.Add(1)
		}
		select {
		case <-ctx.Done():
			t.Fatal("timed out waiting for the gateway's answers")
		case <-tick.C:
		}
	}
	var answered int
	for _, p := range probers {
		if p.answered.Load() > 0 {
			answered++
		}
	}
	if answered != 2*limit {
		t.Errorf("%d of %d sockets were answered (learnt as peer-reflexive candidates), want %d", answered, sockets, 2*limit)
	}
	if n := denied.answered.Load(); n != 0 {
		t.Errorf("a denied address got %d answers", n)
	}
	after := dropped(t, a)
	if after["denied"] <= before["denied"] || after["over_cap"] <= before["over_cap"] {
		t.Errorf("drops before %v, after %v: the denied and the over-cap addresses were not counted", before, after)
	}
	t.Logf("%d sockets answered; drops %v", answered, after)
	ctl.check(t, 0.999)
}
