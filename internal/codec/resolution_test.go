package codec

import "testing"

// Parameter sets as real encoders emit them (vectors from mediacommon's
// tests, whose sizes are checked there against the encoders' output).
var (
	h264SPS1080 = []byte{
		0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02,
		0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
		0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20,
	}
	h265SPS1080 = []byte{
		0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03,
		0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
		0x00, 0x78, 0xa0, 0x03, 0xc0, 0x80, 0x10, 0xe5,
		0x96, 0x66, 0x69, 0x24, 0xca, 0xe0, 0x10, 0x00,
		0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x01,
		0xe0, 0x80,
	}
	// Chrome's AV1 sequence header OBU (has_size set), 1920x804.
	av1SeqHdr = []byte{8, 0, 0, 0, 66, 167, 191, 228, 96, 13, 0, 64}
	// Chrome's VP9 key frame uncompressed header, 1920x804.
	vp9KeyHdr = []byte{
		0x82, 0x49, 0x83, 0x42, 0x00, 0x77, 0xf0, 0x32,
		0x34, 0x30, 0x38, 0x24, 0x1c, 0x19, 0x40, 0x18,
		0x03, 0x40, 0x5f, 0xb4,
	}
)

func u16(n int) []byte { return []byte{byte(n >> 8), byte(n)} }

func TestResolution(t *testing.T) {
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	vp8Key := []byte{0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01} // 640x480
	for _, tc := range []struct {
		name    string
		mime    string
		payload []byte
		w, h    int
		ok      bool
	}{
		{"h264 single SPS", "video/H264", h264SPS1080, 1920, 1080, true},
		{"h264 STAP-A SPS+PPS", "video/H264", cat([]byte{24}, u16(len(h264SPS1080)), h264SPS1080, u16(4), pps), 1920, 1080, true},
		{"h264 STAP-A PPS only", "video/h264", cat([]byte{24}, u16(4), pps), 0, 0, false},
		{"h264 IDR", "video/H264", []byte{0x65, 0x88, 0x84}, 0, 0, false},
		{"h264 truncated SPS", "video/H264", h264SPS1080[:5], 0, 0, false},
		{"h265 single SPS", "video/H265", h265SPS1080, 1920, 1080, true},
		{"h265 AP", "video/H265", cat([]byte{48 << 1, 1}, u16(len(h265SPS1080)), h265SPS1080), 1920, 1080, true},
		{"vp8 key, no X", "video/VP8", cat([]byte{0x10}, vp8Key), 640, 480, true},
		{"vp8 key, 15-bit picture id", "video/VP8", cat([]byte{0x90, 0x80, 0x81, 0x23}, vp8Key), 640, 480, true},
		{"vp8 inter frame", "video/VP8", []byte{0x10, 0x51, 0x01, 0x00}, 0, 0, false},
		{"vp8 continuation", "video/VP8", cat([]byte{0x00}, vp8Key), 0, 0, false},
		{"vp9 key header", "video/VP9", cat([]byte{0x08}, vp9KeyHdr), 1920, 804, true},
		{"vp9 key header, picture id", "video/VP9", cat([]byte{0x88, 0x85, 0x01}, vp9KeyHdr), 1920, 804, true},
		// SS with one spatial layer and sizes (Y), as libwebrtc sends.
		{"vp9 scalability structure", "video/VP9", cat([]byte{0x8a, 0x81, 0x02, 0x10}, u16(1280), u16(720), []byte{0x00}), 1280, 720, true},
		{"vp9 inter", "video/VP9", []byte{0x48, 0x00}, 0, 0, false},
		{"av1 one OBU (W=1)", "video/AV1", cat([]byte{0x18}, av1SeqHdr), 1920, 804, true},
		{"av1 length-prefixed OBU (W=0)", "video/AV1", cat([]byte{0x08, byte(len(av1SeqHdr))}, av1SeqHdr), 1920, 804, true},
		{"av1 OBU continuation", "video/AV1", cat([]byte{0x98}, av1SeqHdr), 0, 0, false},
		{"av1 bad length", "video/AV1", []byte{0x08, 0x7f, 0x08}, 0, 0, false},
		{"opus", "audio/opus", []byte{0xfc, 0xff}, 0, 0, false},
		{"empty", "video/H264", nil, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, h, ok := Parse(tc.mime).Resolution(tc.payload)
			if w != tc.w || h != tc.h || ok != tc.ok {
				t.Errorf("got %dx%d %v, want %dx%d %v", w, h, ok, tc.w, tc.h, tc.ok)
			}
		})
	}
}

// FuzzResolution: no payload may panic the parser or yield a size without ok.
func FuzzResolution(f *testing.F) {
	f.Add(uint8(0), h264SPS1080)
	f.Add(uint8(1), h265SPS1080)
	f.Add(uint8(2), []byte{0x10, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01})
	f.Add(uint8(3), cat([]byte{0x08}, vp9KeyHdr))
	f.Add(uint8(4), cat([]byte{0x18}, av1SeqHdr))
	mimes := []string{"video/H264", "video/H265", "video/VP8", "video/VP9", "video/AV1"}
	f.Fuzz(func(t *testing.T, m uint8, payload []byte) {
		w, h, ok := Parse(mimes[int(m)%len(mimes)]).Resolution(payload)
		if !ok && (w != 0 || h != 0) {
			t.Fatalf("size %dx%d without ok", w, h)
		}
		if ok && (w <= 0 || h <= 0) {
			t.Fatalf("ok with size %dx%d", w, h)
		}
	})
}
