package cluster

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The split-brain rule mirrors the local replace rule: under stale and
// never the incumbent (older) publisher stays, under always the newer one
// wins, and an unhealthy publisher loses to a healthy one.
func TestSplitBrainRule(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	older := lease{Node: "a", Since: t0, Healthy: true}
	newer := lease{Node: "b", Since: t0.Add(time.Second), Healthy: true}
	for _, tc := range []struct {
		policy streams.ReplacePolicy
		mine   lease
		other  lease
		want   bool
	}{
		{streams.ReplaceStale, older, newer, true},
		{streams.ReplaceStale, newer, older, false},
		{streams.ReplaceNever, older, newer, true},
		{streams.ReplaceNever, newer, older, false},
		{streams.ReplaceAlways, newer, older, true},
		{streams.ReplaceAlways, older, newer, false},
		{streams.ReplaceStale, newer, lease{Node: "a", Since: t0, Healthy: false}, true},
		{streams.ReplaceStale, lease{Node: "a", Since: t0}, lease{Node: "b", Since: t0}, true}, // tie: lower id
		{streams.ReplaceStale, lease{Node: "b", Since: t0}, lease{Node: "a", Since: t0}, false},
	} {
		if got := wins(tc.policy, tc.mine, tc.other); got != tc.want {
			t.Errorf("%s: %s(%s) vs %s(%s): wins = %v, want %v", tc.policy, tc.mine.Node, tc.mine.Since.Format("05"),
				tc.other.Node, tc.other.Since.Format("05"), got, tc.want)
		}
	}
	// Both sides reach the same verdict.
	for _, p := range []streams.ReplacePolicy{streams.ReplaceStale, streams.ReplaceAlways, streams.ReplaceNever} {
		if wins(p, older, newer) == wins(p, newer, older) {
			t.Errorf("%s: both nodes would keep their publisher", p)
		}
	}
}

// A relay carries what WebRTC can: the first playable video and audio
// track of the owner's, in the owner's order; AAC and MJPEG stay behind.
func TestRelaySpecs(t *testing.T) {
	got := relaySpecs([]trackRec{
		{Kind: "video", MimeType: "video/H264", ClockRate: 90000, Fmtp: "packetization-mode=1"},
		{Kind: "audio", MimeType: "audio/mpeg4-generic", ClockRate: 44100, Channels: 2},
		{Kind: "video", MimeType: "video/VP8", ClockRate: 90000},
		{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
	})
	if len(got) != 2 || got[0].Codec.MimeType != "video/H264" || got[0].Codec.Fmtp != "packetization-mode=1" ||
		got[1].Codec.MimeType != "audio/opus" || got[1].Kind != streams.KindAudio {
		t.Fatalf("relaySpecs = %+v", got)
	}
	if len(relaySpecs([]trackRec{{Kind: "audio", MimeType: "audio/mpeg4-generic", ClockRate: 44100}})) != 0 {
		t.Fatal("an AAC-only stream has a relay track")
	}
}

// A lease records a track the owner converts as its conversion's codec
// (what the owner serves a relay); playable tracks stay as they are.
func TestLeaseTracksConverted(t *testing.T) {
	opus := streams.Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}
	convert := func(c streams.Codec) (streams.Codec, error) {
		if c.MimeType == "audio/mpeg4-generic" {
			return opus, nil
		}
		return streams.Codec{}, streams.ErrNoConversions
	}
	specs := []streams.TrackSpec{
		{Kind: streams.KindVideo, Codec: streams.Codec{MimeType: "video/H264", ClockRate: 90000}},
		{Kind: streams.KindAudio, Codec: streams.Codec{MimeType: "audio/mpeg4-generic", ClockRate: 44100, Channels: 1}},
	}
	got := relaySpecs(trackRecs(specs, convert))
	if len(got) != 2 || got[0].Codec.MimeType != "video/H264" || got[1].Codec != opus {
		t.Fatalf("relay of a converted camera: %+v", got)
	}
	if got := relaySpecs(trackRecs(specs, nil)); len(got) != 1 || got[0].Kind != streams.KindVideo {
		t.Fatalf("relay without conversions: %+v", got)
	}
}

// A lease survives its encoding; garbage is no lease.
func TestLeaseRoundTrip(t *testing.T) {
	l := lease{Node: "n1", Instance: "i", URL: "http://x:1", Since: time.Unix(5, 0).UTC(), Healthy: true,
		Tracks: trackRecs([]streams.TrackSpec{{Kind: streams.KindVideo, Codec: streams.Codec{MimeType: "video/VP8", ClockRate: 90000}}}, nil)}
	got, ok := decodeLease(l.encode())
	if !ok || got.Node != "n1" || !got.Since.Equal(l.Since) || len(got.Tracks) != 1 || got.Tracks[0].Kind != "video" {
		t.Fatalf("round trip: %+v %v", got, ok)
	}
	for _, bad := range []string{"", "n1", "{}", `{"node":""}`, "[1]"} {
		if _, ok := decodeLease(bad); ok {
			t.Errorf("%q decoded as a lease", bad)
		}
	}
}
