package codec

import (
	"slices"
	"testing"
)

func TestKeyframeVP8(t *testing.T) {
	// Descriptor byte 0 is X|R|N|S|R|PID(3); 0x10 is S=1, PID=0. The byte
	// after the descriptor is the frame tag whose bit 0 is P (0 = key).
	const key, inter = 0x50, 0x31
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"nil", nil, false},
		{"minimal key", []byte{0x10, key}, true},
		{"minimal inter", []byte{0x10, inter}, false},
		{"descriptor only", []byte{0x10}, false},
		{"S=0", []byte{0x00, key}, false},
		{"S=1 PID=1", []byte{0x11, key}, false},
		{"S=1 PID=7", []byte{0x17, key}, false},
		{"N bit ignored", []byte{0x30, key}, true},
		{"X no extensions", []byte{0x90, 0x00, key}, true},
		{"X truncated", []byte{0x90}, false},
		{"7-bit PictureID", []byte{0x90, 0x80, 0x05, key}, true},
		{"7-bit PictureID inter", []byte{0x90, 0x80, 0x05, inter}, false},
		{"15-bit PictureID", []byte{0x90, 0x80, 0x81, 0x23, key}, true},
		{"15-bit PictureID inter", []byte{0x90, 0x80, 0x81, 0x23, inter}, false},
		// Without honouring M the low PictureID byte (0x50) would be read
		// as the frame tag and misreport a key frame.
		{"15-bit PictureID read fully", []byte{0x90, 0x80, 0x80, 0x50, inter}, false},
		{"15-bit PictureID truncated", []byte{0x90, 0x80, 0x81}, false},
		{"PictureID byte missing", []byte{0x90, 0x80}, false},
		{"TL0PICIDX", []byte{0x90, 0x40, 0x07, key}, true},
		{"TID only", []byte{0x90, 0x20, 0x40, key}, true},
		{"KEYIDX only", []byte{0x90, 0x10, 0x01, key}, true},
		{"T and K share a byte", []byte{0x90, 0x30, 0x41, key}, true},
		{"all extensions", []byte{0x90, 0xf0, 0x81, 0x23, 0x07, 0x41, key}, true},
		{"all extensions inter", []byte{0x90, 0xf0, 0x81, 0x23, 0x07, 0x41, inter}, false},
		{"all extensions no payload", []byte{0x90, 0xf0, 0x81, 0x23, 0x07, 0x41}, false},
		{"all extensions truncated", []byte{0x90, 0xf0, 0x81, 0x23, 0x07}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VP8.Keyframe(tt.payload); got != tt.want {
				t.Errorf("Keyframe(% x) = %v, want %v", tt.payload, got, tt.want)
			}
		})
	}
}

func TestKeyframeVP8Payloader(t *testing.T) {
	tests := []struct {
		sample string
		want   []bool
	}{
		{"vp8/key", []bool{true, false, false}},
		{"vp8/key-pid", []bool{true, false, false}},
		{"vp8/inter", []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			pkts := packetize(t, tt.sample)
			got := make([]bool, len(pkts))
			for i, p := range pkts {
				got[i] = VP8.Keyframe(p)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("keyframe flags = %v, want %v", got, tt.want)
			}
		})
	}
}
