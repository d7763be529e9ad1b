// Package adapt decides, from a viewer's RTCP receiver reports, which
// simulcast layer of a video its network carries, and whether it carries
// video at all.
//
// It is a loss- and delay-based estimator on the reports every receiver
// already sends (RFC 3550 §6.4): the fraction lost, the round-trip time (our
// sender report echoed back, so it grows with the queue on the path to the
// viewer), and what really arrived (the report's highest sequence number and
// cumulative loss, against what was sent). It needs nothing per packet and no
// header extension, and works with every WebRTC receiver; why it was chosen
// over transport-wide CC or REMB is in docs/performance.md.
//
// Down: a congested interval (much loss, or a queue building up) means the
// path carries about what arrived; the highest layer that fits in that, with
// headroom and the other tracks' bitrate, is taken at once. Up: nothing says
// how much more a path carries until more is sent, so after a quiet spell
// the next layer up is tried; if the path congests within the probe window
// the controller goes back and waits twice as long before the next try.
// Hysteresis: at most one switch per MinSwitch, except going back from a
// failed probe. Below the lowest layer there is no video: when the path
// carries less than half of even that, twice in a row, video pauses and the
// audio keeps the path to itself, until a quiet spell lets video try again.
//
// The package is pure: time comes in with each report, so the policy is
// tested without a network.
package adapt

import (
	"time"
)

// Config tunes a Controller; zero fields take DefaultConfig's.
type Config struct {
	// MinSwitch: at most one switch per this, but for going back from a
	// failed probe.
	MinSwitch time.Duration
	// UpHold: clean reports for this long before a layer up is tried;
	// doubled after each failed try, up to MaxUpHold.
	UpHold, MaxUpHold time.Duration
	// ProbeWindow: congestion this soon after going up means the try failed.
	ProbeWindow time.Duration
	// LossHigh: an interval losing this fraction or more is congested;
	// LossLow: one losing less is clean.
	LossHigh, LossLow float64
	// QueueDelay: a round trip this much above the least seen means a queue
	// is building on the path: congested (half of it: not clean).
	QueueDelay time.Duration
	// Headroom: a layer fits when its bitrate and the other tracks' take at
	// most this fraction of the estimate.
	Headroom float64
	// PauseBelow: video pauses only when the path carries less than this
	// fraction of the lowest layer: with more, a picture with losses (and
	// retransmissions) is still better than none.
	PauseBelow float64
}

// DefaultConfig is the configuration the gateway uses.
func DefaultConfig() Config {
	return Config{
		MinSwitch: 2500 * time.Millisecond, UpHold: 4 * time.Second, MaxUpHold: 32 * time.Second,
		ProbeWindow: 4 * time.Second, LossHigh: 0.10, LossLow: 0.02, QueueDelay: 150 * time.Millisecond,
		Headroom: 0.85, PauseBelow: 0.5,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MinSwitch > 0 {
		d.MinSwitch = c.MinSwitch
	}
	if c.UpHold > 0 {
		d.UpHold = c.UpHold
	}
	if c.MaxUpHold > 0 {
		d.MaxUpHold = c.MaxUpHold
	}
	if c.ProbeWindow > 0 {
		d.ProbeWindow = c.ProbeWindow
	}
	if c.LossHigh > 0 {
		d.LossHigh = c.LossHigh
	}
	if c.LossLow > 0 {
		d.LossLow = c.LossLow
	}
	if c.QueueDelay > 0 {
		d.QueueDelay = c.QueueDelay
	}
	if c.Headroom > 0 {
		d.Headroom = c.Headroom
	}
	if c.PauseBelow > 0 {
		d.PauseBelow = c.PauseBelow
	}
	return d
}

// Layer is one layer the controller may pick: active layers, lowest first.
// A video without simulcast is one layer.
type Layer struct {
	RID     string
	Bitrate float64 // bits per second
}

// Report is what one receiver report says about the interval it covers.
type Report struct {
	At      time.Time
	Lost    float64 // fraction lost, 0..1
	RTT     time.Duration
	HaveRTT bool
	// Received is what reached the viewer in bits per second (video), 0 if
	// not known.
	Received float64
	// Other is the bitrate of the other tracks on the same path (audio).
	Other float64
}

// Decision is what the viewer should get now.
type Decision struct {
	RID    string // the layer; "" with Paused
	Paused bool   // no video: the path does not carry the lowest layer
	// Bps is what the path carries, when a congested interval measured it
	// (a switch down); 0 otherwise.
	Bps float64
	// Why says what moved the decision ("" when nothing changed).
	Why string
}

// Controller is one viewer's adaptation of one video. Not safe for
// concurrent use: one viewer's RTCP reader feeds it.
type Controller struct {
	cfg Config

	cur        Decision
	lastSwitch time.Time
	cleanSince time.Time
	upHold     time.Duration
	probing    bool
	probeFrom  Decision
	probeAt    time.Time
	short      int // congested reports in a row with the lowest layer too large
	estimate   float64

	rtts   [30]time.Duration // the last reports' RTTs, for the least
	nrtt   int
	rttPos int
}

// New starts a controller at the layer the viewer starts on (the best), at
// now: the first switch comes MinSwitch later at the earliest, so a start
// burst's losses move nothing.
func New(cfg Config, start string, now time.Time) *Controller {
	c := &Controller{cfg: cfg.withDefaults(), cur: Decision{RID: start}, lastSwitch: now}
	c.upHold = c.cfg.UpHold
	return c
}

// Estimate is the last congested interval's throughput, 0 before one.
func (c *Controller) Estimate() float64 { return c.estimate }

// Current is the last decision.
func (c *Controller) Current() Decision { return c.cur }

// Update takes one report and the layers active now (lowest first) and
// returns the decision. current is the layer the viewer really gets now
// (streams may have moved it, a layer having gone silent).
func (c *Controller) Update(r Report, layers []Layer, current string) Decision {
	cfg := &c.cfg
	if len(layers) == 0 {
		return c.cur
	}
	if !c.cur.Paused && current != "" {
		c.cur.RID = current
	}
	pos := indexOf(layers, c.cur.RID)
	if pos < 0 && !c.cur.Paused {
		pos = len(layers) - 1
		c.cur.RID = layers[pos].RID
	}
	queue := time.Duration(0)
	if r.HaveRTT {
		c.addRTT(r.RTT)
		queue = r.RTT - c.minRTT()
	}
	congested := r.Lost >= cfg.LossHigh || queue > cfg.QueueDelay
	clean := r.Lost < cfg.LossLow && queue <= cfg.QueueDelay/2
	since := r.At.Sub(c.lastSwitch)
	switch {
	case congested:
		c.cleanSince = time.Time{}
		if c.probing && r.At.Sub(c.probeAt) < cfg.ProbeWindow {
			c.probing = false
			c.upHold = min(2*c.upHold, cfg.MaxUpHold)
			return c.move(c.probeFrom, r.At, "the layer tried was too much")
		}
		c.probing = false
		est := r.Received
		if est <= 0 && !c.cur.Paused && pos >= 0 {
			est = layers[pos].Bitrate * (1 - r.Lost)
		}
		if est <= 0 {
			return c.cur
		}
		c.estimate = est
		fit := -1
		for i, l := range layers {
			if l.Bitrate+r.Other <= cfg.Headroom*est {
				fit = i
			}
		}
		if est < cfg.PauseBelow*layers[0].Bitrate {
			if c.short++; c.short >= 2 && !c.cur.Paused && since >= cfg.MinSwitch {
				c.short = 0
				return c.move(Decision{Paused: true}, r.At, "the path carries less than half the lowest layer")
			}
		} else {
			c.short = 0
		}
		fit = max(fit, 0)
		if !c.cur.Paused && fit < pos && since >= cfg.MinSwitch {
			d := c.move(Decision{RID: layers[fit].RID}, r.At, "congested")
			d.Bps = est
			return d
		}
	case clean:
		c.short = 0
		if c.cleanSince.IsZero() {
			c.cleanSince = r.At
		}
		if c.probing && r.At.Sub(c.probeAt) >= cfg.ProbeWindow {
			c.probing = false
			c.upHold = cfg.UpHold
		}
		if r.At.Sub(c.cleanSince) < c.upHold || since < cfg.MinSwitch {
			return c.cur
		}
		next := 0
		if !c.cur.Paused {
			next = pos + 1
		}
		if next >= len(layers) {
			return c.cur
		}
		from := c.cur
		d := c.move(Decision{RID: layers[next].RID}, r.At, "trying a layer up")
		c.probing, c.probeFrom, c.probeAt = true, from, r.At
		return d
	default:
		c.cleanSince = time.Time{}
		c.short = 0
	}
	return c.cur
}

func (c *Controller) move(d Decision, now time.Time, why string) Decision {
	c.cur = Decision{RID: d.RID, Paused: d.Paused}
	c.lastSwitch = now
	c.cleanSince = time.Time{}
	out := c.cur
	out.Why = why
	return out
}

func (c *Controller) addRTT(d time.Duration) {
	c.rtts[c.rttPos] = d
	c.rttPos = (c.rttPos + 1) % len(c.rtts)
	c.nrtt = min(c.nrtt+1, len(c.rtts))
}

// minRTT: the least of the last reports' round trips, the path without a
// queue (it forgets after len(rtts) reports, so a route change is learnt).
func (c *Controller) minRTT() time.Duration {
	m := c.rtts[0]
	for _, d := range c.rtts[:c.nrtt] {
		m = min(m, d)
	}
	return m
}

func indexOf(layers []Layer, rid string) int {
	for i, l := range layers {
		if l.RID == rid {
			return i
		}
	}
	return -1
}
