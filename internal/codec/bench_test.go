package codec

import "testing"

// benchCases are per-codec packets on the slow path of each parser: every
// length field present, and the decision made as late as possible.
func benchCases(tb testing.TB) []sample {
	tb.Helper()
	s := payloaderSamples(tb)
	return []sample{
		{"h264-stapa", "video/H264", s["h264/idr"][0]},
		{"h264-fua-continuation", "video/H264", s["h264/idr"][2]},
		{"h264-stapa-no-keyframe", "video/H264",
			[]byte{0x78, 0x00, 0x01, 0x06, 0x00, 0x01, 0x68, 0x00, 0x01, 0x09, 0x00, 0x02, 0x41, 0x9a}},
		{"h265-ap", "video/H265", s["h265/idr"][0]},
		{"h265-fu-start", "video/H265", s["h265/idr"][1]},
		{"vp8-all-extensions", "video/VP8", []byte{0x90, 0xf0, 0x81, 0x23, 0x07, 0x41, 0x50}},
		{"vp9-layers", "video/VP9", []byte{0xa8, 0x81, 0x23, 0x00, 0x00}},
		{"av1", "video/AV1", s["av1/key"][0]},
		{"opus", "audio/opus", []byte{0xfc, 0xff, 0xfe}},
		{"unknown", "video/rtx", []byte{0x00, 0x01, 0x65}},
	}
}

func BenchmarkKeyframe(b *testing.B) {
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			id := Parse(c.mime) // once per track, as streams does
			b.ReportAllocs()
			for b.Loop() {
				id.Keyframe(c.payload)
			}
		})
	}
}

func BenchmarkH264NALTypes(b *testing.B) {
	p := payloaderSamples(b)["h264/idr"][0]
	dst := make([]uint8, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		dst = H264NALTypes(p, dst[:0])
	}
}

// TestZeroAllocs enforces the per-packet no-allocation rule in plain
// `go test`, so a regression fails CI rather than only showing in benchmarks.
func TestZeroAllocs(t *testing.T) {
	for _, c := range benchCases(t) {
		t.Run(c.name, func(t *testing.T) {
			id := Parse(c.mime)
			if n := testing.AllocsPerRun(100, func() { id.Keyframe(c.payload) }); n != 0 {
				t.Errorf("Keyframe allocates %v times per call", n)
			}
		})
	}
	t.Run("H264NALTypes", func(t *testing.T) {
		p := payloaderSamples(t)["h264/idr"][0]
		dst := make([]uint8, 0, 16)
		if n := testing.AllocsPerRun(100, func() { dst = H264NALTypes(p, dst[:0]) }); n != 0 {
			t.Errorf("H264NALTypes allocates %v times per call with a reused buffer", n)
		}
	})
}
