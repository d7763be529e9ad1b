package streams

import (
	"errors"
	"testing"
)

// A relay (PublisherInfo.Origin set) gives way to any publisher and never
// takes a stream from one, whatever the replace policy.
func TestRelayYields(t *testing.T) {
	for _, policy := range []ReplacePolicy{ReplaceStale, ReplaceAlways, ReplaceNever} {
		t.Run(string(policy), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Replace = policy
			r := NewRegistry(cfg)
			defer r.Close()
			specs := []TrackSpec{{Kind: KindVideo, Codec: Codec{MimeType: "video/H264", ClockRate: 90000}}}
			relay := newFakePub()
			rp, err := r.Publish("s", specs, relay, PublisherInfo{Kind: SessionRelay, Origin: "n1"})
			if err != nil {
				t.Fatal(err)
			}
			// A second relay (the owner moved) replaces the first.
			relay2 := newFakePub()
			if _, err := r.Publish("s", specs, relay2, PublisherInfo{Kind: SessionRelay, Origin: "n3"}); err != nil {
				t.Fatalf("relay replacing a relay: %v", err)
			}
			if err := <-relay.kicked; !errors.Is(err, ErrReplaced) {
				t.Fatalf("first relay kicked with %v", err)
			}
			rp.Close() // a replaced publication closing changes nothing
			local := newFakePub()
			lp, err := r.Publish("s", specs, local, PublisherInfo{Kind: SessionWHIP})
			if err != nil {
				t.Fatalf("local publisher after a relay: %v", err)
			}
			if err := <-relay2.kicked; !errors.Is(err, ErrReplaced) {
				t.Fatalf("relay kicked with %v", err)
			}
			if _, err := r.Publish("s", specs, newFakePub(), PublisherInfo{Kind: SessionRelay, Origin: "n2"}); !errors.Is(err, ErrConflict) {
				t.Fatalf("relay over a local publisher: %v, want ErrConflict", err)
			}
			if info, _ := r.Info("s"); info.Publisher == nil || info.Publisher.Kind != SessionWHIP {
				t.Fatalf("publisher now %+v", info.Publisher)
			}
			lp.Close()
		})
	}
}

// SetAdmit's function is asked before a publisher attaches; its error is
// the Publish error and nothing changes.
func TestAdmitRefuses(t *testing.T) {
	r := NewRegistry(DefaultConfig())
	defer r.Close()
	refuse := errors.New("owned elsewhere")
	var asked []PublisherInfo
	r.SetAdmit(func(name string, specs []TrackSpec, info PublisherInfo) error {
		asked = append(asked, info)
		if info.Kind == SessionWHIP {
			return refuse
		}
		return nil
	})
	specs := []TrackSpec{{Kind: KindAudio, Codec: Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}}
	if _, err := r.Publish("s", specs, newFakePub(), PublisherInfo{Kind: SessionWHIP}); !errors.Is(err, refuse) {
		t.Fatalf("Publish: %v", err)
	}
	if _, ok := r.Info("s"); ok {
		t.Fatal("a refused publisher created the stream")
	}
	p, err := r.Publish("s", specs, newFakePub(), PublisherInfo{Kind: SessionRTSPPublish})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if len(asked) != 2 {
		t.Fatalf("admit asked %d times, want 2", len(asked))
	}
}
