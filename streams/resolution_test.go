package streams

import "testing"

// TestTrackResolution: the size appears in the snapshot once a keyframe
// carrying an SPS passes, and follows a later SPS with another size.
func TestTrackResolution(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	size := func() (int, int) {
		info, ok := r.Info("s")
		if !ok {
			t.Fatal("stream gone")
		}
		return info.Tracks[0].Width, info.Tracks[0].Height
	}
	writePkt(pub, 1, 0, idr)
	if w, h := size(); w != 0 || h != 0 {
		t.Fatalf("size %dx%d before any SPS", w, h)
	}
	// 1920x1080 Constrained Baseline SPS (as in internal/codec's tests).
	sps1080 := []byte{
		0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02,
		0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
		0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20,
	}
	writePkt(pub, 2, 3000, sps1080)
	writePkt(pub, 3, 3000, idr)
	if w, h := size(); w != 1920 || h != 1080 {
		t.Fatalf("size %dx%d, want 1920x1080", w, h)
	}
	// A P-frame never changes it.
	writePkt(pub, 4, 6000, pframe)
	if w, h := size(); w != 1920 || h != 1080 {
		t.Fatalf("size %dx%d after a P-frame", w, h)
	}
}
