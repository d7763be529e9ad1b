package whep

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/streams"
)

// Placeholder SSRCs in fuzz inputs: handed to the session as the SSRCs it
// sends the viewer's video and audio under (random per session), so that
// seeds and the corpus address the real tracks in every fuzz process.
const (
	fuzzVideoSSRC uint32 = 0xc0ffee00
	fuzzAudioSSRC uint32 = 0xc0ffee01
)

// FuzzViewerRTCP feeds any datagram to a live WHEP session's RTCP dispatch
// (handleRTCP, what a viewer's PLI/FIR, NACKs and receiver reports reach)
// for each track it sends, on a real pion viewer with packets in the
// tracks' history. Besides not panicking: the retransmissions stay within
// the viewer's budget (resendBurst + resendRate a second since the session
// began), keyframe requests reaching the publisher within the track's
// throttle (one per keyframeThrottle, 500 ms), and the receiver-report
// figures (MediaStats, rrStats) are those of the input's last report block
// about the track's SSRC, in range: fraction lost in [0, 1), jitter and RTT
// non-negative and within what 32 bits of the report can say.
func FuzzViewerRTCP(f *testing.F) {
	began := time.Now()
	video := make(chan *rtp.Packet, 1024)
	hs := newHarness(f, video)
	s := hs.sess
	deadline := time.Now().Add(10 * time.Second)
	for s.sink.tracks[1].bound.Load() == nil {
		if time.Now().After(deadline) {
			f.Fatal("the audio track was not bound")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ssrcs := []uint32{s.sink.tracks[0].bound.Load().ssrc, s.sink.tracks[1].bound.Load().ssrc}

	// Packets in the history: keyframes until the viewer plays, then
	// P-frames, and audio.
	seq, aseq := uint16(0), uint16(0)
	write := func(i int, seq uint16, ts uint32, payload ...byte) {
		p := streams.NewPacket()
		pt := uint8(102)
		if i == 1 {
			pt = 111
		}
		p.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, PayloadType: pt, SSRC: 7 + uint32(i), Marker: true}
		p.SetPayload(payload)
		hs.pub.Write(i, p, time.Now())
	}
	var last *rtp.Packet
	for last == nil || !s.sub.Direct() {
		if time.Now().After(deadline) {
			f.Fatal("the viewer never played in direct delivery")
		}
		seq++
		write(0, seq, uint32(seq)*3000, 0x65, byte(seq))
		select {
		case last = <-video:
		case <-time.After(20 * time.Millisecond):
		}
	}
	for i := 0; i < 64; i++ {
		seq++
		write(0, seq, uint32(seq)*3000, 0x41, byte(seq))
		aseq++
		write(1, aseq, uint32(aseq)*960, 0xfc, byte(aseq))
	}
	for quiet := false; !quiet; {
		select {
		case last = <-video:
		case <-time.After(200 * time.Millisecond):
			quiet = true
		}
	}

	marshal := func(pkts ...rtcp.Packet) []byte {
		b, err := rtcp.Marshal(pkts)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	keyframeRequests := func() uint64 {
		info, ok := hs.reg.Info("s")
		if !ok || len(info.Tracks) == 0 {
			f.Fatal("no stream info")
		}
		return info.Tracks[0].KeyframeRequests
	}

	// The properties checked below are not vacuous: a NACK is answered,
	// a PLI reaches the publisher, a report block is filed.
	before := s.sub.Retransmitted.Load()
	s.handleRTCP(0, marshal(&rtcp.TransportLayerNack{MediaSSRC: ssrcs[0],
		Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{last.SequenceNumber})}))
	if s.sub.Retransmitted.Load() != before+1 {
		f.Fatalf("a NACK of %d was not answered", last.SequenceNumber)
	}
	for kf := keyframeRequests(); keyframeRequests() == kf; {
		if time.Now().After(deadline) {
			f.Fatal("no PLI reached the publisher")
		}
		time.Sleep(100 * time.Millisecond)
		s.handleRTCP(0, marshal(&rtcp.PictureLossIndication{MediaSSRC: ssrcs[0]}))
	}
	s.handleRTCP(0, marshal(&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{SSRC: ssrcs[0], FractionLost: 64}}}))
	if st := s.MediaStats(); !st.HaveRR || st.FractionLost != 0.25 {
		f.Fatalf("a receiver report was not filed: %+v", st)
	}

	// Seeds.
	pairs := make([]rtcp.NackPair, 100)
	for i := range pairs {
		pairs[i] = rtcp.NackPair{PacketID: uint16(i * 17), LostPackets: 0xffff}
	}
	nack := marshal(&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: fuzzVideoSSRC, Nacks: pairs})
	anack := marshal(&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: fuzzAudioSSRC,
		Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{1, 2, 3, 40, 64, 65, 1000})})
	pli := marshal(&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: fuzzVideoSSRC})
	fir := marshal(&rtcp.FullIntraRequest{SenderSSRC: 1, MediaSSRC: fuzzVideoSSRC,
		FIR: []rtcp.FIREntry{{SSRC: fuzzVideoSSRC, SequenceNumber: 1}, {SSRC: 99, SequenceNumber: 2}}})
	rr := marshal(&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{
		{SSRC: fuzzVideoSSRC, FractionLost: 255, TotalLost: 0xffffff, LastSequenceNumber: 0xffffffff,
			Jitter: 0xffffffff, LastSenderReport: 0x12345678, Delay: 0x10000},
		{SSRC: 0xdeadbeef, FractionLost: 3, Jitter: 10},
		{SSRC: fuzzAudioSSRC, FractionLost: 12, Jitter: 480, LastSenderReport: 1, Delay: 0xffffffff},
	}})
	many := make([]rtcp.ReceptionReport, 31)
	for i := range many {
		many[i] = rtcp.ReceptionReport{SSRC: uint32(i) * 0x9e3779b9, FractionLost: uint8(i * 8), Jitter: uint32(i) << 20}
	}
	many[30].SSRC = fuzzVideoSSRC
	rrMany := marshal(&rtcp.ReceiverReport{SSRC: 1, Reports: many})
	sr := marshal(&rtcp.SenderReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: fuzzVideoSSRC, FractionLost: 200}}})
	remb := marshal(&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: 1, SSRCs: []uint32{fuzzVideoSSRC}})
	bye := marshal(&rtcp.Goodbye{Sources: []uint32{1}})
	for _, seed := range [][]byte{
		pli, fir, nack, anack, rr, rrMany, sr, remb, bye,
		append(append(append([]byte(nil), rr...), pli...), nack...), // compound
		append(append([]byte(nil), bye...), anack...),
		nack[:len(nack)-3], rr[:len(rr)-5], pli[:4], fir[:10], // truncated
		{}, {0x80}, {0x81, 0xcd, 0x00, 0x00}, {0x8f, 0xce, 0xff, 0xff}, // headers alone, lengths past the end
		bytes.Repeat([]byte{0xff}, 64), bytes.Repeat([]byte{0x81, 0xcd, 0x00, 0x02}, 16), // garbage
	} {
		f.Add(seed)
	}

	ph := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	phVideo, phAudio := ph(fuzzVideoSSRC), ph(fuzzAudioSSRC)
	realVideo, realAudio := ph(ssrcs[0]), ph(ssrcs[1])
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.ReplaceAll(bytes.ReplaceAll(data, phVideo, realVideo), phAudio, realAudio)
		for _, i := range s.sendIdx {
			s.handleRTCP(i, data)
		}

		// The NACK budget.
		elapsed := time.Since(s.start).Seconds()
		if n := s.sub.Retransmitted.Load(); float64(n) > resendBurst+resendRate*elapsed+1 {
			t.Fatalf("%d retransmissions in %.1f s: over the budget of %d + %d/s", n, elapsed, resendBurst, resendRate)
		}
		// The keyframe throttle (shared with the subscription's own
		// requests and the track's probe).
		if n, most := keyframeRequests(), 1+uint64(time.Since(began)/(500*time.Millisecond)); n > most {
			t.Fatalf("%d keyframe requests reached the publisher in %v: more than %d", n, time.Since(began), most)
		}
		// The report figures: the last block about each track's SSRC
		// (the harness's viewer runs no interceptors, so it sends no
		// reports of its own to the session's RTCP readers).
		if pkts, err := rtcp.Unmarshal(data); err == nil {
			for _, i := range s.sendIdx {
				var want *rtcp.ReceptionReport
				for _, p := range pkts {
					if rr, ok := p.(*rtcp.ReceiverReport); ok {
						for j := range rr.Reports {
							if rr.Reports[j].SSRC == ssrcs[i] {
								want = &rr.Reports[j]
							}
						}
					}
				}
				if want == nil {
					continue
				}
				r := &s.rr[i]
				if !r.have.Load() || r.fracLost.Load() != uint32(want.FractionLost) {
					t.Fatalf("track %d: fraction lost %d filed, the report said %d", i, r.fracLost.Load(), want.FractionLost)
				}
				jitter := float64(want.Jitter) / float64(r.clockRate) * float64(time.Second)
				if got := float64(r.jitterNs.Load()); math.Abs(got-jitter) > 1000 {
					t.Fatalf("track %d: jitter %v ns filed, the report said %d at %d Hz", i, got, want.Jitter, r.clockRate)
				}
			}
		}
		st := s.MediaStats()
		if math.IsNaN(st.FractionLost) || st.FractionLost < 0 || st.FractionLost >= 1 {
			t.Fatalf("fraction lost %v", st.FractionLost)
		}
		if st.Jitter < 0 || st.Jitter > time.Duration(math.MaxUint32/48000+1)*time.Second {
			t.Fatalf("jitter %v", st.Jitter)
		}
		if st.HaveRTT && !st.HaveRR || st.RTT < 0 || st.RTT > time.Duration(math.MaxInt32/65536+1)*time.Second {
			t.Fatalf("RTT %v (have %v, have RR %v)", st.RTT, st.HaveRTT, st.HaveRR)
		}
	})
}
