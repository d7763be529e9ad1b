package streams

import "testing"

// TestIngestDrops: a publisher's drops are counted on the track by reason
// and shown in the snapshot; bad indices and reasons count nothing.
func TestIngestDrops(t *testing.T) {
	r := NewRegistry(DefaultConfig())
	t.Cleanup(r.Close)
	pub, err := r.Publish("s", []TrackSpec{{Kind: KindVideo, Codec: h264}, {Kind: KindVideo, Codec: h264}},
		newFakePub(), PublisherInfo{Kind: SessionWHIP})
	if err != nil {
		t.Fatal(err)
	}
	pub.Drop(0, DropMalformed)
	pub.Drop(0, DropMalformed)
	pub.Drop(0, DropUnsupported)
	pub.Drop(0, DropOversized)
	pub.Drop(-1, DropMalformed)
	pub.Drop(len(pub.Tracks()), DropMalformed)
	pub.Drop(0, numIngestDrops)
	info, ok := r.Info("s")
	if !ok {
		t.Fatal("stream gone")
	}
	want := IngestDrops{Malformed: 2, Unsupported: 1, Oversized: 1}
	if got := info.Tracks[0].Dropped; got != want || got.Total() != 4 {
		t.Fatalf("drops %+v, want %+v", got, want)
	}
	for _, tr := range info.Tracks[1:] {
		if tr.Dropped.Total() != 0 {
			t.Errorf("track %d: drops %+v counted on the wrong track", tr.Index, tr.Dropped)
		}
	}
	if n := testing.AllocsPerRun(100, func() { pub.Drop(0, DropMalformed) }); n != 0 {
		t.Errorf("Drop allocates %v times", n)
	}
}
