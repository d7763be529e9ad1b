package codec

import (
	"slices"
	"testing"
)

func TestKeyframeH264(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"nil", nil, false},
		{"empty", []byte{}, false},
		{"single IDR", []byte{0x65, 0x88, 0x84}, true},
		{"single IDR header only", []byte{0x65}, true},
		{"single SPS", nalH264SPS(), true},
		{"single PPS", nalH264PPS(), false},
		{"single non-IDR slice", []byte{0x41, 0x9a}, false},
		{"single SEI", []byte{0x06, 0x05, 0x10}, false},
		{"single AUD", []byte{0x09, 0xf0}, false},
		{"type 0 unspecified", []byte{0x00, 0x65}, false},
		{"type 30 unspecified", []byte{0x1e, 0x65}, false},
		{"type 31 unspecified", []byte{0x1f, 0x65}, false},
		{"STAP-A SPS PPS", []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"STAP-A PPS then IDR", []byte{0x78, 0x00, 0x01, 0x68, 0x00, 0x02, 0x65, 0x88}, true},
		{"STAP-A SEI PPS", []byte{0x78, 0x00, 0x01, 0x06, 0x00, 0x01, 0x68}, false},
		{"STAP-A SPS then garbage tail byte", []byte{0x78, 0x00, 0x01, 0x67, 0xff}, true},
		{"STAP-A header only", []byte{0x78}, false},
		{"STAP-A half size field", []byte{0x78, 0x00}, false},
		{"STAP-A size past end", []byte{0x78, 0x00, 0x05, 0x67}, false},
		{"STAP-A size 0xffff", []byte{0x78, 0xff, 0xff, 0x67, 0x42}, false},
		{"STAP-A zero size hides SPS", []byte{0x78, 0x00, 0x00, 0x00, 0x01, 0x67}, false},
		{"STAP-A PPS then truncated SPS", []byte{0x78, 0x00, 0x01, 0x68, 0x00, 0x09, 0x67}, false},
		{"STAP-A nested FU-A start IDR", []byte{0x78, 0x00, 0x02, 0x7c, 0x85}, false},
		{"FU-A start IDR", []byte{0x7c, 0x85, 0x88}, true},
		{"FU-A start IDR empty fragment", []byte{0x7c, 0x85}, true},
		{"FU-A start SPS", []byte{0x7c, 0x87, 0x42}, true},
		{"FU-A middle IDR", []byte{0x7c, 0x05, 0xb1}, false},
		{"FU-A end IDR", []byte{0x7c, 0x45, 0xb1}, false},
		{"FU-A start non-IDR", []byte{0x5c, 0x81, 0x9a}, false},
		{"FU-A indicator only", []byte{0x7c}, false},
		{"FU-B start IDR", []byte{0x7d, 0x85, 0x00, 0x01, 0x88}, false},
		{"STAP-B SPS", []byte{0x79, 0x00, 0x00, 0x00, 0x01, 0x67}, false},
		{"MTAP16", []byte{0x7a, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x65}, false},
		{"MTAP24", []byte{0x7b, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x65}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := H264.Keyframe(tt.payload); got != tt.want {
				t.Errorf("Keyframe(% x) = %v, want %v", tt.payload, got, tt.want)
			}
		})
	}
}

func TestKeyframeH264Payloader(t *testing.T) {
	// Expected per packet, in order. pion sends SPS+PPS in a STAP-A (or as
	// single NAL units with DisableStapA) ahead of the FU-A fragmented IDR;
	// the IDR's first fragment is also a valid start, its continuations not.
	tests := []struct {
		sample string
		want   []bool
	}{
		{"h264/idr", []bool{true, true, false, false}},
		{"h264/idr-no-stapa", []bool{true, false, true, false, false}},
		{"h264/p", []bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			pkts := packetize(t, tt.sample)
			got := make([]bool, len(pkts))
			for i, p := range pkts {
				got[i] = H264.Keyframe(p)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("keyframe flags = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestH264NALTypes(t *testing.T) {
	tests := []struct {
		name    string
		dst     []uint8
		payload []byte
		want    []uint8
	}{
		{"nil", nil, nil, nil},
		{"single IDR", nil, []byte{0x65, 0x88}, []uint8{5}},
		{"single PPS", nil, nalH264PPS(), []uint8{8}},
		{"appends to dst", []uint8{9}, []byte{0x41}, []uint8{9, 1}},
		{"type 0 ignored", nil, []byte{0x00}, nil},
		{"type 31 ignored", nil, []byte{0x1f}, nil},
		{"STAP-A SPS PPS IDR", nil,
			[]byte{0x78, 0x00, 0x01, 0x67, 0x00, 0x01, 0x68, 0x00, 0x02, 0x65, 0x88}, []uint8{7, 8, 5}},
		{"STAP-A truncated tail keeps prefix", nil,
			[]byte{0x78, 0x00, 0x01, 0x67, 0x00, 0x07, 0x68}, []uint8{7}},
		{"STAP-A zero size stops walk", nil, []byte{0x78, 0x00, 0x00, 0x00, 0x01, 0x67}, nil},
		{"STAP-A nested aggregate skipped", nil,
			[]byte{0x78, 0x00, 0x01, 0x78, 0x00, 0x01, 0x06}, []uint8{6}},
		{"STAP-A header only", nil, []byte{0x78}, nil},
		{"FU-A start", nil, []byte{0x7c, 0x85, 0x88}, []uint8{5}},
		{"FU-A continuation", nil, []byte{0x7c, 0x05, 0x88}, nil},
		{"FU-A end", nil, []byte{0x7c, 0x45}, nil},
		{"FU-A start carrying FU-A type", nil, []byte{0x7c, 0x9c}, nil},
		{"FU-A truncated", nil, []byte{0x7c}, nil},
		{"FU-B ignored", nil, []byte{0x7d, 0x85, 0x00, 0x00}, nil},
		{"STAP-B ignored", nil, []byte{0x79, 0x00, 0x00, 0x00, 0x01, 0x67}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := H264NALTypes(tt.payload, tt.dst); !slices.Equal(got, tt.want) {
				t.Errorf("H264NALTypes(% x) = %v, want %v", tt.payload, got, tt.want)
			}
		})
	}
}

func TestH264NALTypesPayloader(t *testing.T) {
	tests := []struct {
		sample string
		want   []uint8
	}{
		{"h264/idr", []uint8{7, 8, 5}},
		{"h264/idr-no-stapa", []uint8{7, 8, 5}},
		{"h264/p", []uint8{1}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			var got []uint8
			for _, p := range packetize(t, tt.sample) {
				got = H264NALTypes(p, got)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("types over the frame = %v, want %v", got, tt.want)
			}
		})
	}
}
