package rtpconv

import "testing"

// TestGiantFragmentedNALU: a source that sends an FU start and then middle
// fragments forever (lost end bit, or hostile) must not grow the reassembly
// buffer without bound; the unit is dropped and counted, and the next
// well-formed unit still goes through.
func TestGiantFragmentedNALU(t *testing.T) {
	middle := make([]byte, 1400)
	for i := range middle {
		middle[i] = 0xAB
	}
	const n = (maxNALUSize / 1400) + 100 // past the bound
	t.Run("h264", func(t *testing.T) {
		h := &H264{}
		var c collector
		seq := uint16(0)
		push := func(p []byte, marker bool) error {
			seq++
			return h.Push(rtpPkt(seq, 1000, marker, p), c.emit)
		}
		_ = push(append([]byte{0x7c, 0x85}, middle...), false)
		dropped := false
		for i := 0; i < n; i++ {
			if err := push(append([]byte{0x7c, 0x05}, middle...), false); err != nil {
				dropped = true
			}
			if len(h.fu) > maxNALUSize {
				t.Fatalf("reassembly buffer at %d bytes after %d fragments", len(h.fu), i)
			}
		}
		if !dropped || h.Stats.LostFragments == 0 {
			t.Fatalf("giant unit not dropped (lost=%d)", h.Stats.LostFragments)
		}
		if len(c.pkts) != 0 {
			t.Fatalf("%d packets emitted for a dropped unit", len(c.pkts))
		}
		seq++
		if err := h.Push(rtpPkt(seq, 4000, true, slice(500)), c.emit); err != nil || len(c.pkts) != 1 {
			t.Fatalf("next unit: err %v, %d packets", err, len(c.pkts))
		}
	})
	t.Run("h265", func(t *testing.T) {
		h := &H265{}
		var c collector
		seq := uint16(0)
		push := func(p []byte) error {
			seq++
			return h.Push(rtpPkt(seq, 1000, false, p), c.emit)
		}
		_ = push(append([]byte{0x62, 0x01, 0x93}, middle...))
		dropped := false
		for i := 0; i < n; i++ {
			if err := push(append([]byte{0x62, 0x01, 0x13}, middle...)); err != nil {
				dropped = true
			}
			if len(h.fu) > maxNALUSize {
				t.Fatalf("reassembly buffer at %d bytes after %d fragments", len(h.fu), i)
			}
		}
		if !dropped || h.Stats.LostFragments == 0 || len(c.pkts) != 0 {
			t.Fatalf("giant unit not dropped (lost=%d, emitted %d)", h.Stats.LostFragments, len(c.pkts))
		}
	})
}

// TestNestedAggregates: an FU whose type says STAP-A/AP, or an aggregate
// holding one, is dropped instead of being re-emitted as a packet no
// receiver can parse (found by FuzzH264Push / FuzzH265Push).
func TestNestedAggregates(t *testing.T) {
	for _, tc := range []struct {
		name string
		push func(*collector) error
	}{
		{"h264 FU-A of STAP-A", func(c *collector) error {
			h := &H264{}
			err := h.Push(rtpPkt(1, 0, false, []byte{0x7c, 0x98, 1, 2, 3}), c.emit)
			_ = h.Push(rtpPkt(2, 0, true, []byte{0x7c, 0x58, 4}), c.emit)
			return err
		}},
		{"h264 STAP-A holding an FU-A", func(c *collector) error {
			return (&H264{MaxPayload: 16}).Push(rtpPkt(1, 0, true, append([]byte{0x78, 0, 20}, append([]byte{0x7c}, filler(19, 1)...)...)), c.emit)
		}},
		{"h265 FU of AP", func(c *collector) error {
			h := &H265{}
			err := h.Push(rtpPkt(1, 0, false, []byte{0x62, 0x01, 0xb0, 1, 2}), c.emit)
			_ = h.Push(rtpPkt(2, 0, true, []byte{0x62, 0x01, 0x70, 3}), c.emit)
			return err
		}},
		{"h265 AP holding an FU", func(c *collector) error {
			return (&H265{}).Push(rtpPkt(1, 0, true, []byte{0x60, 0x01, 0, 3, 0x62, 0x01, 0x93}), c.emit)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c collector
			err := tc.push(&c)
			if err == nil || len(c.pkts) != 0 {
				t.Fatalf("err %v, %d packets emitted", err, len(c.pkts))
			}
		})
	}
}
