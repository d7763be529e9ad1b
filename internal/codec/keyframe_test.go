package codec

import "testing"

// TestKeyframeDispatch covers MIME routing; the per-codec rules have their
// own tests.
func TestKeyframeDispatch(t *testing.T) {
	idr := []byte{0x65, 0x88, 0x84}
	tests := []struct {
		name    string
		mime    string
		payload []byte
		want    bool
	}{
		{"H264 canonical case", "video/H264", idr, true},
		{"H264 lower case", "video/h264", idr, true},
		{"H264 upper case", "VIDEO/H264", idr, true},
		{"H264 rules not applied to VP8", "video/VP8", []byte{0x65}, false},
		{"opus", "audio/opus", []byte{0xfc, 0xff, 0xfe}, true},
		{"opus empty payload", "audio/opus", nil, true},
		{"PCMU upper case", "AUDIO/PCMU", []byte{0xff}, true},
		{"unknown audio", "audio/x-made-up", nil, true},
		{"RTX wrapping an IDR", "video/rtx", []byte{0x00, 0x01, 0x65, 0x88}, false},
		{"FEC", "video/ulpfec", idr, false},
		{"unknown video", "video/H266", idr, false},
		{"empty mime", "", idr, false},
		{"non-media mime", "application/octet-stream", idr, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.mime).Keyframe(tt.payload); got != tt.want {
				t.Errorf("Parse(%q).Keyframe(% x) = %v, want %v", tt.mime, tt.payload, got, tt.want)
			}
		})
	}
}
