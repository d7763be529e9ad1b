package whep

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// idlePub is a publisher that never sends: the benchmark writes itself.
type idlePub struct{}

func (idlePub) Connected() bool     { return true }
func (idlePub) RequestKeyframe(int) {}
func (idlePub) Kick(error)          {}

// The harness stream's codecs.
var (
	h264Codec = streams.Codec{MimeType: "video/H264", ClockRate: 90000,
		Fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	opusCodec = streams.Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}
)

// harness is a real WHEP session on loopback: the gateway's engine and
// handler on one side, a pion viewer (reading and discarding) on the other.
type harness struct {
	engine *rtc.Engine
	reg    *streams.Registry
	h      *Handler
	pub    *streams.Publication
	viewer *webrtc.PeerConnection
	sess   *session
	// video receives the viewer's video packets when a test reads it; the
	// benchmark leaves it nil and the reader discards.
	video chan *rtp.Packet
	// reports receives the sender reports about the viewer's video.
	reports chan *rtcp.SenderReport
}

func newHarness(tb testing.TB, video chan *rtp.Packet) *harness {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine, err := rtc.NewEngine(rtc.EngineConfig{UDPAddr: "127.0.0.1:0", Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	hs := &harness{engine: engine, reg: streams.NewRegistry(streams.DefaultConfig()), video: video,
		reports: make(chan *rtcp.SenderReport, 64)}
	hs.h = &Handler{Engine: engine, Registry: hs.reg, Logger: log}
	hs.pub, err = hs.reg.Publish("s", []streams.TrackSpec{{Kind: streams.KindVideo, Codec: h264Codec},
		{Kind: streams.KindAudio, Codec: opusCodec}}, idlePub{}, streams.PublisherInfo{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(hs.close)

	// The viewer runs no interceptors, so the allocations measured are the
	// gateway's (the benchmark counts every goroutine's).
	me := &webrtc.MediaEngine{}
	for _, id := range []client.CodecID{client.CodecH264, client.CodecOpus} {
		if err := me.RegisterCodec(id.Params(), id.Kind()); err != nil {
			tb.Fatal(err)
		}
	}
	se := client.LoopbackSettingEngine(nil)
	// Loopback loses nothing, so the NACK test asks again for a packet the
	// viewer already has; SRTP replay protection would drop that copy.
	se.DisableSRTPReplayProtection(true)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(*se),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	hs.viewer, err = api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := hs.viewer.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			tb.Fatal(err)
		}
	}
	hs.viewer.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			go func() {
				buf := make([]byte, 1500)
				for {
					n, _, err := r.Read(buf)
					if err != nil {
						return
					}
					pkts, err := rtcp.Unmarshal(buf[:n])
					if err != nil {
						continue
					}
					for _, p := range pkts {
						if sr, ok := p.(*rtcp.SenderReport); ok {
							select {
							case hs.reports <- sr:
							default:
							}
						}
					}
				}
			}()
		}
		buf := make([]byte, 1500)
		for {
			n, _, err := t.Read(buf)
			if err != nil {
				return
			}
			if hs.video != nil && t.Kind() == webrtc.RTPCodecTypeVideo {
				p := &rtp.Packet{}
				if p.Unmarshal(append([]byte(nil), buf[:n]...)) == nil {
					select {
					case hs.video <- p:
					default:
					}
				}
			}
		}
	})
	offer, _ := hs.viewer.CreateOffer(nil)
	gathered := webrtc.GatheringCompletePromise(hs.viewer)
	if err := hs.viewer.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	parsed, err := rtc.ParseOffer([]byte(hs.viewer.LocalDescription().SDP))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, res, err := hs.h.Offer(signaling.OfferRequest{Context: ctx, Stream: "s", Offer: parsed, SessionID: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	hs.sess = res.(*session)
	if err := hs.viewer.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		tb.Fatal(err)
	}
	for hs.sess.sink.tracks[0].bound.Load() == nil || hs.viewer.ConnectionState() != webrtc.PeerConnectionStateConnected {
		select {
		case <-ctx.Done():
			tb.Fatal("viewer did not connect")
		case <-time.After(5 * time.Millisecond):
		}
	}
	return hs
}

func (hs *harness) close() {
	_ = hs.viewer.Close()
	hs.h.Close()
	hs.reg.Close()
	_ = hs.engine.Close()
}

// BenchmarkViewerWrite is the per-viewer cost of one video packet written
// outside a batch (the start burst, a NACK answer): the sink's header
// rewrite, the egress's SRTP (AES-GCM or AES-CM as negotiated) and one
// send on the shared UDP socket. Steady state must not allocate.
func BenchmarkViewerWrite(b *testing.B) {
	hs := newHarness(b, nil)
	payload := make([]byte, 1180)
	payload[0] = 0x41
	var hdr rtp.Header
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hdr = rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i / 9 * 3000), Marker: i%9 == 8}
		if err := hs.sess.sink.WriteRTP(0, &hdr, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdaptReport is what a viewer's bandwidth adaptation costs per
// receiver report (about one a second per viewer): the report's deltas,
// the track's bitrate, the controller. Nothing of it runs per packet.
func BenchmarkAdaptReport(b *testing.B) {
	hs := newHarness(b, nil)
	a := hs.sess.adapt
	if a == nil {
		b.Fatal("no adapter: the viewer is not in auto")
	}
	rep := rtcp.ReceptionReport{SSRC: hs.sess.sink.tracks[0].bound.Load().ssrc}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Second)
		rep.LastSequenceNumber += 300
		if i%7 == 3 {
			rep.FractionLost, rep.TotalLost = 40, rep.TotalLost+30 // now and then a lossy interval
		} else {
			rep.FractionLost = 0
		}
		a.observe(hs.sess, rep, &hs.sess.rr[0], now)
	}
}

// BenchmarkFanoutEgress is one published packet's whole way to a real pion
// viewer in direct delivery: the track's fan-out worker, the subscription's
// rewrite, the egress sealing it (SRTP as negotiated) into the worker's
// batch and the batch's flush (sendmmsg on the media socket). Steady state
// must not allocate.
func BenchmarkFanoutEgress(b *testing.B) {
	hs := newHarness(b, nil)
	payload := make([]byte, 1180)
	seq := uint16(0)
	write := func(first byte) {
		seq++
		payload[0] = first
		p := streams.NewPacket()
		p.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, PayloadType: 102, Marker: true}
		p.SetPayload(payload)
		hs.pub.Write(0, p, time.Now())
	}
	deadline := time.Now().Add(10 * time.Second)
	sent := func() uint64 { _, n, _ := hs.sess.egress.Sent(0); return n }
	for sent() == 0 || !hs.sess.sub.Direct() {
		write(0x65) // keyframes until the workers write the viewer
		if time.Now().After(deadline) {
			b.Fatal("the viewer never reached direct delivery")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		want := sent() + 1
		write(0x41)
		for spins := 0; sent() < want; spins++ {
			if spins%1024 == 1023 && time.Now().After(deadline) {
				b.Fatalf("packet %d not sent (egress %d, subscription sent %d skipped %d dropped %d)", i, sent(), hs.sess.sub.Sent.Load(), hs.sess.sub.Skipped.Load(), hs.sess.sub.Dropped.Load())
			}
			runtime.Gosched()
		}
		if i%1024 == 0 {
			deadline = time.Now().Add(10 * time.Second)
		}
	}
}
