package streams

import (
	"errors"
	"testing"
	"time"
)

func TestSetPolicyAppliesToTheNextPublisher(t *testing.T) {
	r := NewRegistry(Config{Replace: ReplaceAlways, HealthWindow: time.Hour, GracePeriod: time.Second})
	defer r.Close()
	specs := []TrackSpec{{Kind: KindVideo, Codec: h264}}
	first, err := r.Publish("s", specs, newFakePub(), PublisherInfo{})
	if err != nil {
		t.Fatal(err)
	}
	r.SetPolicy(ReplaceNever, 2*time.Second)
	if _, err := r.Publish("s", specs, newFakePub(), PublisherInfo{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("after SetPolicy(never): %v", err)
	}
	if first.closed.Load() {
		t.Fatal("the running publication was disturbed")
	}
	r.SetPolicy("bogus", -1)
	r.mu.Lock()
	got := r.cfg
	r.mu.Unlock()
	if got.Replace != ReplaceNever || got.GracePeriod != 2*time.Second {
		t.Fatalf("invalid values must be ignored: %+v", got)
	}
}
