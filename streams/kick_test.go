package streams

import (
	"errors"
	"testing"
	"time"
)

func TestKickBySessionID(t *testing.T) {
	r := NewRegistry(DefaultConfig())
	t.Cleanup(r.Close)
	fp := newFakePub()
	if _, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}}, fp, PublisherInfo{Protocol: "rtsp", SessionID: "pub1"}); err != nil {
		t.Fatal(err)
	}
	st, tracks, err := r.Lookup("s")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := r.Subscribe(st, SubscribeOptions{Tracks: tracks, Info: SubscriberInfo{Protocol: "rtsp", SessionID: "sub1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	other, err := r.Subscribe(st, SubscribeOptions{Tracks: tracks, Info: SubscriberInfo{Protocol: "rtsp", SessionID: "sub2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	if r.Kick("") || r.Kick("nobody") {
		t.Fatal("kicked a session that does not exist")
	}
	if !r.Kick("sub1") {
		t.Fatal("sub1 not found")
	}
	select {
	case <-sub.Done():
		if !errors.Is(sub.Err(), ErrKicked) {
			t.Errorf("sub1 ended with %v", sub.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sub1 still running")
	}
	select {
	case <-other.Done():
		t.Fatal("sub2 ended too")
	default:
	}
	if !r.Kick("pub1") {
		t.Fatal("pub1 not found")
	}
	select {
	case err := <-fp.kicked:
		if !errors.Is(err, ErrKicked) {
			t.Errorf("publisher kicked with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("publisher not kicked")
	}
}
