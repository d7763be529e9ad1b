package rtc

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/streams"
)

// Egress writes one viewer's RTP without pion's per-packet write path
// (interceptor chain, SRTP session lookup, a sendto per packet): each of the
// viewer's SSRCs has its own SRTP context, keyed from the viewer's DTLS
// handshake (SRTPKeys), and the sealed packets go
//
//   - on UDP, into a fan-out worker's Batch for the engine's one media
//     socket, to the remote address of the selected ICE candidate pair (an
//     address ICE has verified, never one a packet named);
//   - on ICE-TCP, into a bounded queue that the viewer's own writer
//     goroutine drains into its TCP connection (tcpegress.go), so a full
//     TCP window stalls nobody else.
//
// Which of the two is chosen when the session starts and again whenever the
// selected pair changes (an ICE restart, a move to TCP): Repath. All RTP of
// an SSRC goes through its one context, retransmissions included, so the
// rollover counter the viewer infers never diverges from ours. pion still
// does everything else: ICE (consent, keepalives), DTLS, and RTCP both ways
// (sender reports go out through pion's SRTCP session, whep/reports.go).
type Egress struct {
	e       *Engine
	pc      *webrtc.PeerConnection
	streams []egressStream
	path    atomic.Pointer[egressPath]

	mu      sync.Mutex // path changes and Close
	tcp     *tcpWriter
	writers []*tcpWriter // every writer started, for Wait
	closed  bool
}

// egressPath is where the viewer's packets go now: exactly one field is set.
type egressPath struct {
	udp *net.UDPAddr
	tcp *tcpWriter
}

// egressStream is one SSRC: its SRTP context and what was sent on it.
type egressStream struct {
	mu  sync.Mutex // the context: a worker, the burst and NACK answers share it
	ctx *srtp.Context
	hdr rtp.Header // scratch for EncryptRTP

	ssrc    atomic.Uint32
	packets atomic.Uint64
	octets  atomic.Uint64 // payload bytes (RFC 3550 §6.4.1)
}

// NewEgress prepares an egress for pc with n streams (whep: one per stream
// track index). Nothing is written until Start.
func (e *Engine) NewEgress(pc *webrtc.PeerConnection, n int) *Egress {
	return &Egress{e: e, pc: pc, streams: make([]egressStream, n)}
}

// Start derives the SRTP contexts and chooses the path. Call it once pc is
// connected (DTLS done, a pair selected).
func (g *Egress) Start() error {
	cfg, err := SRTPKeys(g.pc)
	if err != nil {
		return err
	}
	for i := range g.streams {
		// An SRTP context per SSRC: the video and audio workers then
		// never share one.
		if g.streams[i].ctx, err = srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile); err != nil {
			return fmt.Errorf("rtc: SRTP context: %w", err)
		}
	}
	return g.Repath()
}

// Repath re-reads the selected candidate pair and moves the viewer's
// packets to it (UDP: the batch path with the pair's remote address; TCP:
// the pair's connection and a writer of its own).
func (g *Egress) Repath() error {
	pair, err := g.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
		return errors.New("rtc: no selected candidate pair")
	}
	ip := net.ParseIP(pair.Remote.Address)
	if ip == nil {
		return fmt.Errorf("rtc: selected remote candidate %q is not an IP address", pair.Remote.Address)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	var next egressPath
	switch pair.Local.Protocol {
	case webrtc.ICEProtocolUDP:
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		if cur := g.path.Load(); cur != nil && cur.udp != nil && cur.udp.IP.Equal(ip) && cur.udp.Port == int(pair.Remote.Port) {
			return nil // the same address: nothing to do
		}
		next.udp = &net.UDPAddr{IP: ip, Port: int(pair.Remote.Port)}
	case webrtc.ICEProtocolTCP:
		remote := net.JoinHostPort(ip.String(), strconv.Itoa(int(pair.Remote.Port)))
		if g.tcp != nil && g.tcp.remote == remote {
			return nil
		}
		conn := g.e.tcpConns.lookup(remote)
		if conn == nil {
			return fmt.Errorf("rtc: no ICE-TCP connection from %s", remote)
		}
		next.tcp = newTCPWriter(conn, remote)
		g.writers = append(g.writers, next.tcp)
	default:
		return fmt.Errorf("rtc: selected pair protocol %q", pair.Local.Protocol)
	}
	old := g.tcp
	g.tcp = next.tcp
	g.path.Store(&next)
	if old != nil {
		old.close()
	}
	return nil
}

// Path names the current path: "udp", "tcp", or "" before Start.
func (g *Egress) Path() string {
	switch p := g.path.Load(); {
	case p == nil:
		return ""
	case p.tcp != nil:
		return "tcp"
	}
	return "udp"
}

// WriteBatch seals the packet for stream i and queues it in b (UDP) or in
// the viewer's TCP queue. It never blocks; streams.ErrDropped means the TCP
// queue was full and the packet was dropped.
func (g *Egress) WriteBatch(b *Batch, i int, h *rtp.Header, payload []byte) error {
	p := g.path.Load()
	switch {
	case p == nil:
		return nil // not started
	case p.tcp != nil:
		return g.writeTCP(p.tcp, i, h, payload)
	}
	out, err := g.streams[i].seal(b.slot(), h, payload)
	if err != nil {
		return err
	}
	b.commit(p.udp, len(out))
	return nil
}

// Write seals and sends one packet at once, outside any batch (the paced
// start burst, NACK answers): a batch of one, so it never blocks either.
// Safe for concurrent use with WriteBatch.
func (g *Egress) Write(i int, h *rtp.Header, payload []byte) error {
	b := g.e.single.Get().(*Batch)
	err := g.WriteBatch(b, i, h, payload)
	b.Flush()
	g.e.single.Put(b)
	return err
}

func (g *Egress) writeTCP(w *tcpWriter, i int, h *rtp.Header, payload []byte) error {
	f := w.frame()
	if f == nil {
		return streams.ErrDropped
	}
	out, err := g.streams[i].seal(f.b[2:2], h, payload)
	if err != nil {
		w.recycle(f)
		return err
	}
	// RFC 4571 framing, as pion's ICE-TCP does (RFC 6544 §3).
	f.b[0], f.b[1] = byte(len(out)>>8), byte(len(out))
	f.n = 2 + len(out)
	return w.push(f)
}

// Sent is what stream i has sent so far, for its sender reports: the SSRC
// of its last packet, packets and payload octets (retransmissions included,
// as they are transmitted packets of the same SSRC, RFC 3550 §6.4.1).
func (g *Egress) Sent(i int) (ssrc uint32, packets, octets uint64) {
	s := &g.streams[i]
	return s.ssrc.Load(), s.packets.Load(), s.octets.Load()
}

// Close stops the TCP writer, if any; later writes are dropped. Idempotent.
func (g *Egress) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	g.path.Store(nil)
	if g.tcp != nil {
		g.tcp.close()
		g.tcp = nil
	}
}

// Wait waits for the TCP writers to exit, after Close. One blocked on a
// full TCP window returns when the peer connection's close tears the
// connection down, so close pc first.
func (g *Egress) Wait() {
	g.mu.Lock()
	ws := g.writers
	g.mu.Unlock()
	for _, w := range ws {
		<-w.done
	}
}

// seal marshals h and payload into dst (len 0, cap ≥ slotBytes) and
// encrypts them in place with the stream's context.
func (s *egressStream) seal(dst []byte, h *rtp.Header, payload []byte) ([]byte, error) {
	hl, err := h.MarshalTo(dst[:cap(dst)])
	if err != nil {
		return nil, err
	}
	if hl+len(payload)+srtpOverhead > cap(dst) {
		return nil, errTooLarge
	}
	n := hl + copy(dst[hl:cap(dst)], payload)
	s.mu.Lock()
	out, err := s.ctx.EncryptRTP(dst[:0], dst[:n], &s.hdr)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s.ssrc.Store(h.SSRC)
	s.packets.Add(1)
	s.octets.Add(uint64(len(payload)))
	return out, nil
}

// srtpOverhead bounds what SRTP adds: a 16-byte tag (AES-GCM; AES-CM's is
// 10) and the rollover counter some modes append.
const srtpOverhead = 16 + 4

var errTooLarge = errors.New("rtc: RTP packet too large to send")
