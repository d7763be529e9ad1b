package stats

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCounterNeverDecreases: entities come, restart and go; the total only
// grows and keeps what the gone ones counted.
func TestCounterNeverDecreases(t *testing.T) {
	c := newCounter()
	var last uint64
	step := func(obs map[string]uint64, want uint64) {
		t.Helper()
		for k, v := range obs {
			c.observe(k, v)
		}
		c.sweep()
		got := c.value()
		if got != want || got < last {
			t.Fatalf("total %d, want %d (previous %d)", got, want, last)
		}
		last = got
	}
	step(map[string]uint64{"a": 10, "b": 5}, 15)
	step(map[string]uint64{"a": 20, "b": 7}, 27)
	step(map[string]uint64{"a": 25}, 32) // b gone: its 7 stay
	step(map[string]uint64{"a": 3}, 35)  // a restarted: its 25 retire
	step(map[string]uint64{}, 35)
}

func TestBitrateOverWindow(t *testing.T) {
	reg := streams.NewRegistry(streams.DefaultConfig())
	defer reg.Close()
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	s := &Sampler{cfg: Config{Registry: reg, Interval: time.Second, Window: 5 * time.Second, Now: clock},
		rates: map[string][]sample{}, totals: newTotals()}
	// No goroutine: drive samples by hand.
	if got := s.Bitrate("x", 0, 100); got != 0 {
		t.Fatalf("rate %f with no samples", got)
	}
	s.rates["x/0"] = []sample{{at: now, bytes: 0}}
	now = now.Add(2 * time.Second)
	if got := s.Bitrate("x", 0, 250_000); got != 1_000_000 {
		t.Fatalf("rate %f, want 1e6", got)
	}
	if got := s.Bitrate("x", 0, 0); got != 0 {
		t.Fatalf("rate %f for a counter below its sample", got)
	}
}

// TestSessionTotals: WHEP bytes come from the edge's sessions and outlive
// them.
func TestSessionTotals(t *testing.T) {
	tot := newTotals()
	whep := signaling.SessionInfo{ID: "v", Kind: streams.SessionWHEP, Stats: &signaling.MediaStats{BytesSent: 1000, PacketsSent: 10}}
	tot.update(nil, []signaling.SessionInfo{whep})
	tot.update(nil, nil) // gone
	got := tot.snapshot()
	if got.BytesOut["whep"] != 1000 || got.PacketsOut["whep"] != 10 {
		t.Errorf("totals %+v", got)
	}
}

// TestIngestDropTotals: publishers' drops are counted per track by reason,
// and the tracks' counts survive the stream.
func TestIngestDropTotals(t *testing.T) {
	tot := newTotals()
	info := func(name string, d streams.IngestDrops) streams.StreamInfo {
		return streams.StreamInfo{Name: name, Tracks: []streams.TrackInfo{{Index: 0, Kind: streams.KindVideo, Dropped: d}}}
	}
	tot.update([]streams.StreamInfo{
		info("a", streams.IngestDrops{Malformed: 2, Unsupported: 1}),
		info("b", streams.IngestDrops{Oversized: 4}),
	}, nil)
	tot.update([]streams.StreamInfo{info("a", streams.IngestDrops{Malformed: 5, Unsupported: 1})}, nil)
	want := streams.IngestDrops{Malformed: 5, Unsupported: 1, Oversized: 4}
	if got := tot.snapshot().IngestDropped; got != want {
		t.Errorf("ingest drops %+v, want %+v", got, want)
	}
}
