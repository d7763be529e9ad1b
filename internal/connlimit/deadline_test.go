package connlimit

import (
	"testing"
	"time"
)

// A read deadline that passes counts its connection once; one set in the
// past, to interrupt a pending read of the server's own, does not.
func TestTimedOutCounted(t *testing.T) {
	s := serve(t, Config{})
	dial(t, s)
	dial(t, s)
	waitFor(t, "accepted", func() bool { return len(s.accepted()) == 2 })
	a, b := s.accepted()[0], s.accepted()[1]
	buf := make([]byte, 1)

	_ = a.SetReadDeadline(time.Unix(1, 0)) // an abort
	if _, err := a.Read(buf); !isTimeout(err) {
		t.Fatalf("read past an abort deadline: %v", err)
	}
	if got := s.l.TimedOut(); got != (TimedOut{}) {
		t.Fatalf("an abort counted: %+v", got)
	}
	for range 2 {
		_ = a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := a.Read(buf); !isTimeout(err) {
			t.Fatalf("read past a deadline: %v", err)
		}
	}
	if got := s.l.TimedOut(); got != (TimedOut{Read: 1}) {
		t.Fatalf("one connection timed out twice: %+v, want one read", got)
	}
	_ = b.SetDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := b.Read(buf); !isTimeout(err) {
		t.Fatalf("read past a deadline: %v", err)
	}
	if got := s.l.TimedOut(); got != (TimedOut{Read: 2}) {
		t.Fatalf("%+v, want two reads", got)
	}
}
