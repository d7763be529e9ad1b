package codec

import (
	"slices"
	"testing"
)

func TestKeyframeVP9(t *testing.T) {
	// Descriptor byte 0 is I|P|L|F|B|E|V|Z; the layer byte is
	// TID(3)|U|SID(3)|D.
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"nil", nil, false},
		{"B only", []byte{0x08, 0x82}, true},
		{"B E V Z", []byte{0x0f, 0x18}, true},
		{"not start of frame", []byte{0x04, 0x82}, false},
		{"inter predicted", []byte{0x48, 0x86}, false},
		{"7-bit PictureID", []byte{0x88, 0x05, 0x82}, true},
		{"15-bit PictureID", []byte{0x88, 0x81, 0x23, 0x82}, true},
		{"PictureID missing", []byte{0x88}, false},
		{"15-bit PictureID truncated", []byte{0x88, 0x81}, false},
		{"layers SID 0", []byte{0x28, 0x00, 0x00}, true},
		{"layers SID 0 TID 3 U D", []byte{0x28, 0x71, 0x00}, true},
		{"layers SID 1", []byte{0x28, 0x02, 0x00}, false},
		{"layers SID 7", []byte{0x28, 0x0e, 0x00}, false},
		{"layers byte missing", []byte{0x28}, false},
		{"7-bit PictureID then SID 0", []byte{0xa8, 0x05, 0x00, 0x00}, true},
		{"7-bit PictureID then SID 2", []byte{0xa8, 0x05, 0x04, 0x00}, false},
		{"15-bit PictureID then SID 0", []byte{0xa8, 0x81, 0x23, 0x00, 0x00}, true},
		{"15-bit PictureID then SID 1", []byte{0xa8, 0x81, 0x23, 0x02, 0x00}, false},
		// Treating the PictureID as 7-bit would take its low byte (0x00)
		// for the layer byte and see SID 0.
		{"15-bit PictureID read fully", []byte{0xa8, 0x80, 0x00, 0x02}, false},
		{"15-bit PictureID layers truncated", []byte{0xa8, 0x81, 0x23}, false},
		{"flexible mode SID 0", []byte{0xb8, 0x81, 0x23, 0x00}, true},
		{"inter predicted SID 0", []byte{0xe8, 0x81, 0x23, 0x00, 0x03}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VP9.Keyframe(tt.payload); got != tt.want {
				t.Errorf("Keyframe(% x) = %v, want %v", tt.payload, got, tt.want)
			}
		})
	}
}

func TestKeyframeVP9Payloader(t *testing.T) {
	tests := []struct {
		sample string
		want   []bool
	}{
		{"vp9/key", []bool{true, false, false}},
		{"vp9/key-flexible", []bool{true, false, false}},
		{"vp9/inter", []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			pkts := packetize(t, tt.sample)
			got := make([]bool, len(pkts))
			for i, p := range pkts {
				got[i] = VP9.Keyframe(p)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("keyframe flags = %v, want %v", got, tt.want)
			}
		})
	}
}
