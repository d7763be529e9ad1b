package adapt

import (
	"testing"
	"time"
)

var three = []Layer{{"q", 150_000}, {"h", 500_000}, {"f", 1_500_000}}

// run feeds one report per second from t0 and returns the decisions.
type run struct {
	t   *testing.T
	c   *Controller
	now time.Time
	cur string
}

func newRun(t *testing.T, start string) *run {
	t0 := time.Unix(1000, 0)
	return &run{t: t, c: New(Config{}, start, t0), now: t0, cur: start}
}

// step advances one second and reports; the viewer then gets the decision.
func (r *run) step(rep Report) Decision {
	r.now = r.now.Add(time.Second)
	rep.At = r.now
	d := r.c.Update(rep, three, r.cur)
	if !d.Paused {
		r.cur = d.RID
	}
	return d
}

func clean() Report { return Report{HaveRTT: true, RTT: 20 * time.Millisecond, Received: 0} }

func TestShapedPathGoesDownThenBackUp(t *testing.T) {
	r := newRun(t, "f")
	for range 5 {
		if d := r.step(clean()); d.RID != "f" {
			t.Fatalf("moved on a clean path: %+v", d)
		}
	}
	// 400 kbit/s: most of f is lost, what arrives is the path's rate.
	d := r.step(Report{Lost: 0.7, HaveRTT: true, RTT: 400 * time.Millisecond, Received: 380_000, Other: 64_000})
	if d.RID != "q" || d.Why == "" || d.Bps != 380_000 {
		t.Fatalf("congested at 380 kbit/s: %+v, want q (h needs 500k) and the path's 380 kbit/s", d)
	}
	// The queue drains: one more lossy report moves nothing (MinSwitch).
	if d := r.step(Report{Lost: 0.3, Received: 300_000}); d.RID != "q" {
		t.Fatalf("second switch within MinSwitch: %+v", d)
	}
	// Unshaped: after UpHold of clean reports, one layer up; after the probe
	// window, the next.
	var ups []string
	for range 20 {
		if d := r.step(clean()); d.Why != "" {
			ups = append(ups, d.RID)
		}
	}
	if len(ups) != 2 || ups[0] != "h" || ups[1] != "f" {
		t.Fatalf("went up %v, want h then f", ups)
	}
}

func TestFailedProbeBacksOff(t *testing.T) {
	r := newRun(t, "f")
	r.step(clean())
	r.step(clean())
	r.step(Report{Lost: 0.5, Received: 300_000})
	if r.cur != "q" {
		t.Fatalf("on %s", r.cur)
	}
	var tries []time.Time
	for range 60 {
		rep := clean()
		if r.cur == "h" {
			rep = Report{Lost: 0.4, Received: 350_000} // h does not fit: still shaped
		}
		if d := r.step(rep); d.RID == "h" && d.Why != "" {
			tries = append(tries, r.now)
		}
	}
	if len(tries) < 3 {
		t.Fatalf("%d tries in a minute", len(tries))
	}
	for i := 2; i < len(tries); i++ {
		if a, b := tries[i-1].Sub(tries[i-2]), tries[i].Sub(tries[i-1]); b <= a {
			t.Errorf("tries at %v: the waits do not grow (%v then %v)", tries, a, b)
		}
	}
	if r.cur != "q" {
		t.Errorf("ends on %s", r.cur)
	}
}

func TestQueueDelayIsCongestion(t *testing.T) {
	r := newRun(t, "f")
	for range 4 {
		r.step(clean())
	}
	// No loss yet, but the round trip grew by 300 ms: a queue.
	if d := r.step(Report{HaveRTT: true, RTT: 320 * time.Millisecond, Received: 600_000}); d.RID != "h" {
		t.Fatalf("%+v, want h", d)
	}
}

func TestNoSwitchRightAfterStart(t *testing.T) {
	r := newRun(t, "f")
	if d := r.step(Report{Lost: 0.5, Received: 200_000}); d.RID != "f" {
		t.Fatalf("switched within MinSwitch of the start: %+v", d)
	}
	if d := r.step(Report{Lost: 0.5, Received: 200_000}); d.RID != "f" {
		t.Fatalf("switched within MinSwitch of the start: %+v", d)
	}
	if d := r.step(Report{Lost: 0.5, Received: 200_000}); d.RID != "q" {
		t.Fatalf("%+v, want q", d)
	}
}

func TestModerateLossHolds(t *testing.T) {
	r := newRun(t, "h")
	for range 20 {
		if d := r.step(Report{Lost: 0.05, Received: 480_000}); d.Why != "" {
			t.Fatalf("moved on 5 %% loss: %+v", d)
		}
	}
}

// Below half of the lowest layer, video pauses (audio keeps the path);
// a quiet spell brings it back at the lowest layer.
func TestVideoPausesBelowTheLowestLayer(t *testing.T) {
	one := []Layer{{"", 2_500_000}}
	t0 := time.Unix(1000, 0)
	c := New(Config{}, "", t0)
	now := t0
	step := func(rep Report) Decision {
		now = now.Add(time.Second)
		rep.At = now
		return c.Update(rep, one, "")
	}
	step(clean())
	step(clean())
	// 20 % loss on a 2.5 Mbit/s stream: a damaged picture, not no picture.
	for range 5 {
		if d := step(Report{Lost: 0.2, Received: 2_000_000}); d.Paused {
			t.Fatal("paused at 20 % loss")
		}
	}
	step(Report{Lost: 0.8, Received: 400_000})
	if d := step(Report{Lost: 0.8, Received: 400_000}); !d.Paused {
		t.Fatalf("%+v, want paused at 400 kbit/s for a 2.5 Mbit/s video", d)
	}
	var resumed bool
	for range 10 {
		if d := step(clean()); !d.Paused {
			resumed = true
			break
		}
	}
	if !resumed {
		t.Fatal("video never tried again on a clean path")
	}
}

// The layer the viewer really gets (streams moved it off a silent layer)
// is where the controller goes on from.
func TestFollowsTheRealLayer(t *testing.T) {
	r := newRun(t, "f")
	r.cur = "h"
	for range 10 {
		r.step(clean())
	}
	if r.cur != "f" {
		t.Fatalf("on %s, want back up to f", r.cur)
	}
}
