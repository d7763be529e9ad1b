package streams

import (
	"testing"
	"time"
)

// TestStateFollowsPublisher: a stream is live only while its publisher is
// connected and sending; a publisher that is down or silent for the health
// window leaves it waiting, though still attached (its readers held).
func TestStateFollowsPublisher(t *testing.T) {
	const window = 500 * time.Millisecond
	r, pub, fp := setup(t, Config{Replace: ReplaceStale, HealthWindow: window, GracePeriod: time.Minute})
	state := func() State {
		info, ok := r.Info("s")
		if !ok || info.Publisher == nil {
			t.Fatalf("stream s without its publisher: %+v", info)
		}
		return info.State
	}
	if got := state(); got != StateLive {
		t.Fatalf("just published: %s, want live (setting up within the window)", got)
	}
	writePkt(pub, 1, 0, idr)
	if got := state(); got != StateLive {
		t.Fatalf("sending: %s, want live", got)
	}
	fp.connected.Store(false)
	if got := state(); got != StateWaiting {
		t.Fatalf("transport down: %s, want waiting", got)
	}
	fp.connected.Store(true)
	writePkt(pub, 2, 3000, pframe)
	if got := state(); got != StateLive {
		t.Fatalf("back: %s, want live", got)
	}
	waitFor(t, func() bool { return state() == StateWaiting }) // silent past the window
	writePkt(pub, 3, 6000, pframe)
	if got := state(); got != StateLive {
		t.Fatalf("sending again: %s, want live", got)
	}
}
