package main

import (
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"
	"golang.org/x/net/ipv4"

	"github.com/wishgate/wishgate/internal/rtc"
)

// The load tool's media path. A pion viewer costs ≈ 5–6 µs of CPU per
// packet (its mux's read goroutine, the SRTP session, the interceptors, the
// track reader's goroutine): at 800 viewers × 333 packets/s that is more than
// the one core the tool has. So each viewer's UDP socket is a leanConn: pion
// still runs ICE, DTLS and RTCP on it, but the RTP never reaches pion. The
// socket is read in batches (recvmmsg) on pion's one read goroutine per
// viewer; each RTP packet is authenticated and decrypted in place with the
// viewer's own SRTP context (keys from its DTLS handshake, rtc.SRTPKeys) and
// fed to the frame assembler there; STUN, DTLS and RTCP go up to pion. The
// viewer's feedback — NACKs for gaps and a receiver report a second, as a
// browser sends — is written by the tool's feedback loop (feedback).
type leanConn struct {
	*net.UDPConn
	batch *ipv4.PacketConn
	msgs  []ipv4.Message
	bufs  [][]byte
	n     int // messages read by the last batch
	next  int // the next of them to hand out
	v     *viewer
}

const leanBatch = 16

func newLeanConn(c *net.UDPConn, v *viewer) *leanConn {
	l := &leanConn{UDPConn: c, batch: ipv4.NewPacketConn(c), v: v,
		msgs: make([]ipv4.Message, leanBatch), bufs: make([][]byte, leanBatch)}
	for i := range l.msgs {
		l.bufs[i] = make([]byte, 1500)
		l.msgs[i].Buffers = l.bufs[i : i+1]
	}
	_ = c.SetReadBuffer(1 << 20)
	return l
}

// ReadFromAddrPort is what pion's UDP mux reads with: the packets pion must
// see, never the RTP.
func (l *leanConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		if l.next >= l.n {
			n, err := l.batch.ReadBatch(l.msgs, 0)
			if err != nil {
				return 0, netip.AddrPort{}, err
			}
			l.n, l.next = n, 0
		}
		m := &l.msgs[l.next]
		d := l.bufs[l.next][:m.N]
		l.next++
		if isRTP(d) {
			l.v.onRTP(d, time.Now())
			continue
		}
		addr, ok := m.Addr.(*net.UDPAddr)
		if !ok {
			continue
		}
		return copy(b, d), addr.AddrPort(), nil
	}
}

// ReadFrom serves callers that do not know ReadFromAddrPort.
func (l *leanConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, ap, err := l.ReadFromAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(ap), nil
}

// isRTP: RFC 7983's range for RTP/RTCP (first byte 128–191) with a payload
// type outside RTCP's 192–223 (RFC 5761 §4).
func isRTP(b []byte) bool {
	return len(b) >= 12 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223)
}

// onRTP takes one SRTP packet on the viewer's read goroutine. Packets that
// arrive before the viewer's own DTLS handshake is through (the server
// finishes first and may send at once) wait, as pion's SRTP endpoint would
// keep them, and are taken in order once the keys are known.
func (v *viewer) onRTP(d []byte, now time.Time) {
	if v.srtp == nil {
		if !v.startSRTP() {
			if len(v.early) < maxEarly {
				v.early = append(v.early, earlyPacket{b: append([]byte(nil), d...), at: now})
			}
			return
		}
		for _, e := range v.early {
			v.decrypt(e.b, e.at)
		}
		v.early = nil
	}
	v.decrypt(d, now)
}

// maxEarly bounds the packets kept before the keys are known.
const maxEarly = 512

type earlyPacket struct {
	b  []byte
	at time.Time
}

func (v *viewer) decrypt(d []byte, now time.Time) {
	out, err := v.srtp.DecryptRTP(d[:0], d, &v.hdr)
	if err != nil {
		v.mu.Lock()
		v.undecryptable++
		v.mu.Unlock()
		return
	}
	h := &v.hdr
	payload := out[h.MarshalSize():]
	if h.Padding && len(payload) > 0 {
		payload = payload[:max(0, len(payload)-int(payload[len(payload)-1]))]
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rtpPackets++
	if v.firstRTP.IsZero() {
		v.firstRTP = now
	}
	if !v.videoPTs[h.PayloadType] {
		v.audioFrames++
		return
	}
	v.videoSSRC = h.SSRC
	v.trackSeq(h.SequenceNumber)
	f, ok := v.asm.Push(h, payload, now)
	v.broken = v.asm.Broken
	if !ok {
		return
	}
	if f.Keyframe && v.firstKey.IsZero() {
		v.firstKey = now
	}
	if v.firstKey.IsZero() {
		return
	}
	for uint64(len(v.frames)) <= f.Frame {
		v.frames = append(v.frames, false)
	}
	v.frames[f.Frame] = true
	if f.SentAt.After(v.postAt) {
		v.latencies = append(v.latencies, latency{sent: f.SentAt, ms: float64(now.Sub(f.SentAt).Microseconds()) / 1000})
	}
}

// startSRTP keys the viewer's SRTP context from its DTLS handshake and
// learns the video payload types from the answer. False until connected.
func (v *viewer) startSRTP() bool {
	pc := v.pcRef.Load()
	if pc == nil {
		return false
	}
	cfg, err := rtc.SRTPKeys(pc)
	if err != nil {
		return false
	}
	// No replay window: a retransmission the viewer asked for is welcome.
	ctx, err := srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile, srtp.SRTPNoReplayProtection())
	if err != nil {
		return false
	}
	v.videoPTs = videoPayloadTypes(pc.RemoteDescription().SDP)
	v.srtp = ctx
	return true
}

func videoPayloadTypes(answer string) map[uint8]bool {
	videoPTs := map[uint8]bool{}
	var sd sdp.SessionDescription
	if sd.UnmarshalString(answer) != nil {
		return videoPTs
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" {
			continue
		}
		for _, f := range md.MediaName.Formats {
			if n, err := strconv.ParseUint(f, 10, 7); err == nil {
				videoPTs[uint8(n)] = true
			}
		}
	}
	return videoPTs
}

// trackSeq follows the video sequence numbers for NACKs and reports, under
// v.mu: a gap's numbers become pending NACKs (at most maxMissing), a
// late packet (a retransmission) clears its own.
func (v *viewer) trackSeq(seq uint16) {
	if !v.seqStarted {
		v.seqStarted, v.maxSeq, v.baseSeq, v.seqReceived = true, seq, seq, 1
		return
	}
	v.seqReceived++
	switch d := int16(seq - v.maxSeq); {
	case d > 0:
		for s := v.maxSeq + 1; s != seq && len(v.missing) < maxMissing; s++ {
			v.missing = append(v.missing, s)
		}
		if seq < v.maxSeq {
			v.cycles++
		}
		v.maxSeq = seq
	case d < 0:
		for i, s := range v.missing {
			if s == seq {
				v.missing = append(v.missing[:i], v.missing[i+1:]...)
				break
			}
		}
	}
}

const maxMissing = 64

// feedback sends the viewer's pending NACKs (if the tool sends any) and,
// when report is set, a receiver report about its video, as pion's NACK
// generator and report interceptor would.
func (v *viewer) feedback(nack, report bool) error {
	pc := v.pcRef.Load()
	if pc == nil {
		return nil
	}
	v.mu.Lock()
	var pkts []rtcp.Packet
	if nack && len(v.missing) > 0 && v.videoSSRC != 0 {
		pkts = append(pkts, &rtcp.TransportLayerNack{MediaSSRC: v.videoSSRC, Nacks: rtcp.NackPairsFromSequenceNumbers(v.missing)})
		v.missing = v.missing[:0]
	}
	if report && v.seqStarted {
		ext := v.cycles<<16 | uint32(v.maxSeq)
		expected := ext - uint32(v.baseSeq) + 1
		lost := int64(expected) - int64(v.seqReceived)
		pkts = append(pkts, &rtcp.ReceiverReport{SSRC: v.ssrc, Reports: []rtcp.ReceptionReport{{
			SSRC: v.videoSSRC, LastSequenceNumber: ext, TotalLost: uint32(max(0, lost)),
		}}})
	}
	v.mu.Unlock()
	if len(pkts) == 0 {
		return nil
	}
	return pc.WriteRTCP(pkts)
}
