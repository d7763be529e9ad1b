package codec

import (
	"slices"
	"testing"
)

func TestKeyframeH265(t *testing.T) {
	// Two-byte NAL headers are (type<<1, 0x01): layer 0, TID 1.
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"nil", nil, false},
		{"one byte", []byte{0x26}, false},
		{"TRAIL_R", []byte{0x02, 0x01, 0xd0}, false},
		{"RASL_N", []byte{0x10, 0x01, 0xd0}, false},
		{"BLA_W_LP", []byte{0x20, 0x01, 0xaf}, true},
		{"BLA_N_LP", []byte{0x24, 0x01, 0xaf}, true},
		{"IDR_W_RADL", []byte{0x26, 0x01, 0xaf}, true},
		{"IDR_N_LP", []byte{0x28, 0x01, 0xaf}, true},
		{"CRA", []byte{0x2a, 0x01, 0xaf}, true},
		{"reserved IRAP 22", []byte{0x2c, 0x01, 0xaf}, false},
		{"IDR header only", []byte{0x26, 0x01}, true},
		{"IDR with layer id bit", []byte{0x27, 0x01}, true},
		{"VPS", nalH265VPS(), true},
		{"SPS", nalH265SPS(), true},
		{"PPS", nalH265PPS(), false},
		{"AUD", []byte{0x46, 0x01, 0x50}, false},
		{"prefix SEI", []byte{0x4e, 0x01, 0x05}, false},
		{"AP VPS PPS", []byte{0x60, 0x01, 0x00, 0x02, 0x40, 0x01, 0x00, 0x02, 0x44, 0x01}, true},
		{"AP PPS then IDR", []byte{0x60, 0x01, 0x00, 0x02, 0x44, 0x01, 0x00, 0x03, 0x26, 0x01, 0xaf}, true},
		{"AP PPS SEI", []byte{0x60, 0x01, 0x00, 0x02, 0x44, 0x01, 0x00, 0x02, 0x4e, 0x01}, false},
		{"AP header only", []byte{0x60, 0x01}, false},
		{"AP half size field", []byte{0x60, 0x01, 0x00}, false},
		{"AP size past end", []byte{0x60, 0x01, 0x00, 0x09, 0x40, 0x01}, false},
		{"AP one-byte unit", []byte{0x60, 0x01, 0x00, 0x01, 0x40}, false},
		{"AP zero size hides VPS", []byte{0x60, 0x01, 0x00, 0x00, 0x00, 0x02, 0x40, 0x01}, false},
		{"AP nested FU start IDR", []byte{0x60, 0x01, 0x00, 0x03, 0x62, 0x01, 0x93}, false},
		{"FU start IDR", []byte{0x62, 0x01, 0x93, 0xaf}, true},
		{"FU start CRA", []byte{0x62, 0x01, 0x95, 0xaf}, true},
		{"FU start VPS", []byte{0x62, 0x01, 0xa0, 0x0c}, true},
		{"FU start IDR empty fragment", []byte{0x62, 0x01, 0x93}, true},
		{"FU middle IDR", []byte{0x62, 0x01, 0x13, 0xb1}, false},
		{"FU end IDR", []byte{0x62, 0x01, 0x53, 0xb1}, false},
		{"FU start TRAIL_R", []byte{0x62, 0x01, 0x81, 0xd0}, false},
		{"FU missing FU header", []byte{0x62, 0x01}, false},
		{"PACI", []byte{0x64, 0x01, 0x26, 0x00, 0x26, 0x01}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := H265.Keyframe(tt.payload); got != tt.want {
				t.Errorf("Keyframe(% x) = %v, want %v", tt.payload, got, tt.want)
			}
		})
	}
}

func TestKeyframeH265Payloader(t *testing.T) {
	// pion aggregates VPS/SPS/PPS into one AP ahead of the FU-fragmented IDR.
	tests := []struct {
		sample string
		want   []bool
	}{
		{"h265/idr", []bool{true, true, false, false}},
		{"h265/trail", []bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			pkts := packetize(t, tt.sample)
			got := make([]bool, len(pkts))
			for i, p := range pkts {
				got[i] = H265.Keyframe(p)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("keyframe flags = %v, want %v", got, tt.want)
			}
		})
	}
}
