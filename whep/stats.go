package whep

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"

	"github.com/wishgate/wishgate/internal/rtc"
	"github.com/wishgate/wishgate/internal/signaling"
)

// rrStats is what a viewer's RTCP receiver reports say about one track we
// send it. Written by that track's RTCP reader, read by the API: atomics only.
type rrStats struct {
	clockRate uint32
	have      atomic.Bool
	haveRTT   atomic.Bool
	rttNs     atomic.Int64
	jitterNs  atomic.Int64
	fracLost  atomic.Uint32 // fraction lost as sent: 0..255 = 0..255/256
}

// observe takes one report block about our SSRC (RFC 3550 §6.4.1-2).
func (r *rrStats) observe(rep rtcp.ReceptionReport, now time.Time) {
	r.fracLost.Store(uint32(rep.FractionLost))
	if r.clockRate > 0 {
		r.jitterNs.Store(int64(float64(rep.Jitter) / float64(r.clockRate) * float64(time.Second)))
	}
	// RTT = A - LSR - DLSR in 1/65536 s, A being the arrival time in the
	// middle 32 bits of NTP. LSR 0 means the viewer has had no sender
	// report from us yet, so there is no round trip to measure.
	if rep.LastSenderReport != 0 {
		a := uint32(rtc.NTPTime(now) >> 16)
		rtt := int32(a - rep.LastSenderReport - rep.Delay)
		// On loopback the true value is below the 15 µs resolution and
		// rounding can make it slightly negative: that is a zero RTT, but
		// a large negative one is a bogus report and is ignored.
		if rtt > -66 { // -1 ms
			r.rttNs.Store(int64(max(rtt, 0)) * int64(time.Second) / 65536)
			r.haveRTT.Store(true)
		}
	}
	r.have.Store(true)
}

// observeRR files the report blocks of rr that are about track's SSRC.
func (s *session) observeRR(track int, rr *rtcp.ReceiverReport) {
	if track < 0 || track >= len(s.rr) || track >= len(s.sink.tracks) || s.sink.tracks[track] == nil {
		return
	}
	b := s.sink.tracks[track].bound.Load()
	if b == nil {
		return
	}
	now := time.Now()
	for _, rep := range rr.Reports {
		if rep.SSRC == b.ssrc {
			s.rr[track].observe(rep, now)
			if a := s.adapt; a != nil && a.track == track {
				a.observe(s, rep, &s.rr[track], now)
			}
		}
	}
}

// MediaStats implements signaling.StatsReporter. The RTCP figures are the
// first track's with a report (video before audio in the stream's order);
// fraction lost is the worst of all tracks.
func (s *session) MediaStats() signaling.MediaStats {
	var st signaling.MediaStats
	for i, lt := range s.sink.tracks {
		if lt != nil {
			_, packets, octets := s.egress.Sent(i)
			st.BytesSent += octets
			st.PacketsSent += packets
		}
	}
	for i := range s.rr {
		r := &s.rr[i]
		if !r.have.Load() {
			continue
		}
		if !st.HaveRR {
			st.HaveRR = true
			st.Jitter = time.Duration(r.jitterNs.Load())
		}
		if !st.HaveRTT && r.haveRTT.Load() {
			st.HaveRTT = true
			st.RTT = time.Duration(r.rttNs.Load())
		}
		st.FractionLost = max(st.FractionLost, float64(r.fracLost.Load())/256)
	}
	return st
}
