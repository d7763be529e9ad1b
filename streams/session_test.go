package streams

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestKickBySessionID: one catalogue lists the publisher and the readers,
// and one Kick ends any of them.
func TestKickBySessionID(t *testing.T) {
	r := NewRegistry(DefaultConfig())
	t.Cleanup(r.Close)
	fp := newFakePub()
	if _, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}}, fp, PublisherInfo{Kind: SessionRTSPPublish, SessionID: "pub1"}); err != nil {
		t.Fatal(err)
	}
	st, tracks, err := r.Lookup("s")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := r.Subscribe(st, SubscribeOptions{Tracks: tracks, Info: SubscriberInfo{Kind: SessionRTSPRead, SessionID: "sub1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	other, err := r.Subscribe(st, SubscribeOptions{Tracks: tracks, Info: SubscriberInfo{Kind: SessionRTSPRead, SessionID: "sub2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	if got := sessionIDs(r); got != "pub1/rtsp-publish sub1/rtsp-read sub2/rtsp-read" {
		t.Fatalf("sessions before the kicks: %s", got)
	}
	if r.Kick("") || r.Kick("nobody") {
		t.Fatal("kicked a session that does not exist")
	}
	if !r.Kick("sub1") {
		t.Fatal("sub1 not found")
	}
	// Gone from the catalogue before Kick returned, and not kickable twice.
	if got := sessionIDs(r); got != "pub1/rtsp-publish sub2/rtsp-read" {
		t.Errorf("sessions after kicking sub1: %s", got)
	}
	if r.Kick("sub1") {
		t.Error("sub1 kicked twice")
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
	// The publisher has left: its stream waits for another one, sub2 stays
	// for the grace period.
	if info, _ := r.Info("s"); info.Publisher != nil || info.State != StateWaiting || len(info.Subscribers) != 1 {
		t.Errorf("stream after the publisher's kick: %+v", info)
	}
	if got := sessionIDs(r); got != "sub2/rtsp-read" {
		t.Errorf("sessions after kicking pub1: %s", got)
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

// sessionIDs lists the catalogue as "id/kind ...", oldest first.
func sessionIDs(r *Registry) string {
	var parts []string
	for _, s := range r.Sessions() {
		parts = append(parts, s.ID+"/"+s.Kind.String())
	}
	return strings.Join(parts, " ")
}

// TestSessionKinds: every kind has its own name, publishers and readers
// are told apart, and the protocol of a reader is what the API lists.
func TestSessionKinds(t *testing.T) {
	names := map[string]bool{}
	for _, k := range SessionKinds() {
		if k.String() == "unknown" || names[k.String()] {
			t.Errorf("kind %d named %q", k, k)
		}
		names[k.String()] = true
	}
	pubs := map[SessionKind]bool{SessionWHIP: true, SessionRTSPPublish: true, SessionRTSPSource: true, SessionRelay: true}
	for _, k := range SessionKinds() {
		if k.Publishes() != pubs[k] {
			t.Errorf("%s: Publishes() = %v", k, k.Publishes())
		}
	}
	for k, want := range map[SessionKind]string{SessionWHEP: "whep", SessionRTSPRead: "rtsp", SessionRelayRead: "relay", SessionRTSPSource: "rtsp"} {
		if got := k.Protocol(); got != want {
			t.Errorf("%s: Protocol() = %q, want %q", k, got, want)
		}
	}
}
