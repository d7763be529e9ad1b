package streams

import "testing"

// TestKeyframesCountPictures: an H.264 keyframe arrives as SPS, PPS and the
// IDR's slices (often FU-A fragments), every one flagged as a keyframe
// packet; the counter counts the picture once.
func TestKeyframesCountPictures(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	sps, pps := []byte{0x67, 0x42, 0xc0, 0x1f}, []byte{0x68, 0xce, 0x3c, 0x80}
	fuStart, fuEnd := []byte{0x7c, 0x85, 0x01}, []byte{0x7c, 0x45, 0x02} // FU-A of an IDR
	seq := uint16(0)
	send := func(ts uint32, payloads ...[]byte) {
		for _, p := range payloads {
			seq++
			writePkt(pub, seq, ts, p)
		}
	}
	send(0, sps, pps, fuStart, fuEnd, idr)                                                     // one picture: two slices
	send(3000, pframe, pframe)                                                                 // not a keyframe
	send(6000, sps, pps, idr)                                                                  // the next keyframe
	send(9000, []byte{0x78, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f, 0x00, 0x03, 0x65, 0x88, 0x01}) // STAP-A(SPS, IDR)
	info, _ := r.Info("s")
	if got := info.Tracks[0].Keyframes; got != 3 {
		t.Fatalf("keyframes = %d for 3 keyframe pictures in %d packets", got, info.Tracks[0].Packets)
	}
}

// TestNoDropsBeforeRun: a subscriber that has not started reading (a WHEP
// viewer whose ICE never connects) neither queues nor counts drops; once it
// runs, a reader that falls behind still does.
func TestNoDropsBeforeRun(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	s, tracks, err := r.Lookup("s")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks, QueueSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range 100 {
		writePkt(pub, uint16(i), uint32(i*3000), pframe)
	}
	if d, n := sub.Dropped.Load(), len(sub.queue); d != 0 || n != 0 {
		t.Fatalf("before Run: %d dropped, %d queued, want none", d, n)
	}
	sub.running.Store(true) // as Run does; nobody reads the queue
	for i := range 100 {
		writePkt(pub, uint16(100+i), uint32((100+i)*3000), pframe)
	}
	if d := sub.Dropped.Load(); d != 96 {
		t.Fatalf("a reader that never reads: %d dropped, want 96 (100 - a queue of 4)", d)
	}
}
