package whep

import (
	"sync"
	"time"

	"github.com/pion/rtcp"

	"github.com/wishgate/wishgate/internal/adapt"
	"github.com/wishgate/wishgate/streams"
)

// adapter fits a viewer in LayerAuto to its network: each receiver report
// about the video (RFC 3550 §6.4.2) becomes an adapt.Report, and the
// controller's decision a layer (SetAutoLayer) or a pause of the video
// (SetPaused). It runs on the video sender's RTCP reader; nothing per packet.
type adapter struct {
	track   int // stream track index of the video
	layered bool

	mu  sync.Mutex // the RTCP reader and a layer extension POST
	on  bool       // the viewer's layer is auto
	ctl *adapt.Controller

	have                bool
	prevAt              time.Time
	prevExt, prevLost   uint32
	prevBytes, prevPkts uint64 // video sent to the viewer
	prevOther           uint64 // other tracks' bytes sent
}

// newAdapter returns the adapter of the session's video (nil without
// video), on when the viewer's layer is auto.
func newAdapter(s *session, matches []match, c streams.LayerChoice) *adapter {
	for _, m := range matches {
		if m.track.Kind == streams.KindVideo {
			a := &adapter{track: m.track.Index, layered: m.track.Layered()}
			a.set(s, c.Mode == streams.LayerAuto)
			return a
		}
	}
	return nil
}

// set turns adaptation on (a fresh controller, from the layer sent now) or
// off (a paused video resumes: the viewer chose its layer).
func (a *adapter) set(s *session, on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.on, a.have = on, false
	if on {
		// From the best layer, as a new viewer starts: the estimator
		// moves down from there if the network says so.
		start := ""
		if best, ok := streams.Best(s.sub.Layers(a.track)); ok {
			start = best.RID
			s.sub.SetAutoLayer(a.track, start, 0)
		}
		a.ctl = adapt.New(adapt.Config{}, start, time.Now())
		return
	}
	s.sub.SetPaused(a.track, false)
}

// observe takes one report block about the video's SSRC.
func (a *adapter) observe(s *session, rep rtcp.ReceptionReport, rr *rrStats, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.on {
		return
	}
	_, pkts, bytes := s.egress.Sent(a.track)
	var other uint64
	for i, t := range s.sink.tracks {
		if t != nil && i != a.track {
			_, _, b := s.egress.Sent(i)
			other += b
		}
	}
	ext, lost := rep.LastSequenceNumber, rep.TotalLost&0xffffff
	prevAt, prevExt, prevLost, prevBytes, prevPkts, prevOther, had := a.prevAt, a.prevExt, a.prevLost, a.prevBytes, a.prevPkts, a.prevOther, a.have
	a.have, a.prevAt, a.prevExt, a.prevLost, a.prevBytes, a.prevPkts, a.prevOther = true, now, ext, lost, bytes, pkts, other
	dt := now.Sub(prevAt).Seconds()
	if !had || dt < 0.2 {
		return // the first report, or a second one in the same breath
	}
	// Packets that arrived in the interval: expected (the highest sequence
	// number's advance) less lost (the cumulative count is 24-bit signed).
	lostNow := int64(int32((lost-prevLost)<<8) >> 8)
	received := max(0, int64(ext-prevExt)-lostNow)
	size := 0.0
	if dp := pkts - prevPkts; dp > 0 {
		size = float64(bytes-prevBytes) / float64(dp)
	} else if pkts > 0 {
		size = float64(bytes) / float64(pkts)
	}
	r := adapt.Report{
		At: now, Lost: float64(rep.FractionLost) / 256,
		Received: float64(received) * size * 8 / dt,
		Other:    float64(other-prevOther) * 8 / dt,
	}
	if rr.haveRTT.Load() {
		r.HaveRTT, r.RTT = true, time.Duration(rr.rttNs.Load())
	}
	layers, current := a.layers(s)
	d := a.ctl.Update(r, layers, current)
	if d.Why == "" {
		return
	}
	s.log.Debug("adapting to the viewer's network", "layer", d.RID, "video_paused", d.Paused, "why", d.Why,
		"estimate_bps", int64(a.ctl.Estimate()), "lost", r.Lost, "rtt", r.RTT)
	s.sub.SetPaused(a.track, d.Paused)
	if a.layered && !d.Paused {
		s.sub.SetAutoLayer(a.track, d.RID, d.Bps)
	}
}

// layers lists the active layers lowest first (a plain video is one
// layer) and the one the viewer gets now.
func (a *adapter) layers(s *session) ([]adapt.Layer, string) {
	if !a.layered {
		return []adapt.Layer{{Bitrate: s.sub.Bitrate(a.track)}}, ""
	}
	var out []adapt.Layer
	for _, l := range streams.Ranked(s.sub.Layers(a.track)) {
		if l.Active {
			out = append(out, adapt.Layer{RID: l.RID, Bitrate: l.BitrateBps})
		}
	}
	cur, _ := s.sub.Layer(a.track)
	return out, cur.RID
}
