package codec

import (
	"slices"
	"testing"
)

func TestKeyframeAV1(t *testing.T) {
	// Aggregation header is Z|Y|W(2)|N|-|-|-.
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"nil", nil, false},
		{"N only", []byte{0x08}, true},
		{"N W=1", []byte{0x18, 0x0a, 0x00}, true},
		{"N Y W=2", []byte{0x68, 0x0c, 0x08}, true},
		{"W=1 no N", []byte{0x10, 0x32, 0x00}, false},
		{"continuation Z Y", []byte{0xd0, 0xb3}, false},
		{"reserved bits only", []byte{0x07}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AV1.Keyframe(tt.payload); got != tt.want {
				t.Errorf("Keyframe(% x) = %v, want %v", tt.payload, got, tt.want)
			}
		})
	}
}

func TestKeyframeAV1Payloader(t *testing.T) {
	// pion sets N only on the packet that opens with a sequence header OBU.
	tests := []struct {
		sample string
		want   []bool
	}{
		{"av1/key", []bool{true, false, false}},
		{"av1/delta", []bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			pkts := packetize(t, tt.sample)
			got := make([]bool, len(pkts))
			for i, p := range pkts {
				got[i] = AV1.Keyframe(p)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("keyframe flags = %v, want %v", got, tt.want)
			}
		})
	}
}
