package reliability

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// lossyProxy is an in-process UDP relay between one WebRTC peer and the
// gateway's media port. Gateway-to-peer RTP/RTCP can be dropped at a rate,
// reordered (a packet held back behind the next few) or, in blackhole mode,
// everything in both directions is dropped: a network that died.
type lossyProxy struct {
	front *net.UDPConn // the peer's only remote candidate
	back  *net.UDPConn // the gateway sees this address (peer-reflexive)
	gw    *net.UDPAddr

	peer atomic.Pointer[net.UDPAddr]

	// Policy, set before or during the run.
	lossPerMille atomic.Int32 // gateway->peer RTP/RTCP dropped per 1000
	reorderEvery atomic.Int32 // hold one packet of every N back behind the next 2
	blackhole    atomic.Bool

	Forwarded, Dropped, Reordered atomic.Uint64

	wg sync.WaitGroup
}

func newLossyProxy(t *testing.T, gw *net.UDPAddr) *lossyProxy {
	t.Helper()
	front, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		front.Close()
		t.Fatal(err)
	}
	p := &lossyProxy{front: front, back: back, gw: gw}
	p.wg.Add(2)
	go p.up()
	go p.down()
	t.Cleanup(p.close)
	return p
}

func (p *lossyProxy) close() {
	p.front.Close()
	p.back.Close()
	p.wg.Wait()
}

// Port is the port the peer must be told the gateway is at.
func (p *lossyProxy) Port() int { return p.front.LocalAddr().(*net.UDPAddr).Port }

// up relays peer -> gateway untouched (unless blackholed).
func (p *lossyProxy) up() {
	defer p.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := p.front.ReadFromUDP(buf)
		if err != nil {
			return
		}
		p.peer.Store(from)
		if p.blackhole.Load() {
			p.Dropped.Add(1)
			continue
		}
		_, _ = p.back.WriteToUDP(buf[:n], p.gw)
	}
}

// down relays gateway -> peer through the loss and reorder policy. STUN and
// DTLS (RFC 7983 demultiplexing: first byte outside 128..191) are never
// touched, so the session sets up; only media suffers.
func (p *lossyProxy) down() {
	defer p.wg.Done()
	rng := rand.New(rand.NewPCG(7, 11)) // deterministic
	buf := make([]byte, 2048)
	var held []byte
	heldFor := 0
	count := 0
	for {
		n, _, err := p.back.ReadFromUDP(buf)
		if err != nil {
			return
		}
		peer := p.peer.Load()
		if peer == nil {
			continue
		}
		if p.blackhole.Load() {
			p.Dropped.Add(1)
			continue
		}
		pkt := buf[:n]
		media := n > 0 && pkt[0] >= 128 && pkt[0] <= 191
		if media {
			count++
			if loss := p.lossPerMille.Load(); loss > 0 && rng.Int32N(1000) < loss {
				p.Dropped.Add(1)
				continue
			}
			if every := p.reorderEvery.Load(); every > 0 && held == nil && count%int(every) == 0 {
				held, heldFor = bytes.Clone(pkt), 2
				p.Reordered.Add(1)
				continue
			}
		}
		_, _ = p.front.WriteToUDP(pkt, peer)
		p.Forwarded.Add(1)
		if held != nil {
			if heldFor--; heldFor == 0 {
				_, _ = p.front.WriteToUDP(held, peer)
				held = nil
			}
		}
	}
}

// viaProxy is an HTTP client for a viewer whose media must go through the
// proxy: the offer's own candidates are removed (the gateway then only
// learns the proxy's address, as peer-reflexive) and the answer's host
// candidate points at the proxy instead of the gateway.
func viaProxy(t *testing.T, gwPort, proxyPort int) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: &rewriter{base: tr, from: " " + strconv.Itoa(gwPort) + " typ host", to: " " + strconv.Itoa(proxyPort) + " typ host"}}
}

type rewriter struct {
	base     http.RoundTripper
	from, to string
}

func (r *rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		var kept []string
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if !strings.HasPrefix(l, "a=candidate:") {
				kept = append(kept, l)
			}
		}
		body := strings.Join(kept, "")
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(strings.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b = bytes.ReplaceAll(b, []byte(r.from), []byte(r.to))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}
