package rtpconv

import (
	"github.com/wishgate/wishgate/internal/codec"
	"testing"
)

var (
	testVPS   = []byte{0x40, 0x01, 0x0c, 0x01}
	testSPS5  = []byte{0x42, 0x01, 0x01, 0x01}
	testPPS5  = []byte{0x44, 0x01, 0xc1, 0x72}
	h265IDR   = func(n int) []byte { return append([]byte{0x26, 0x01}, filler(n-2, 3)...) } // IDR_W_RADL
	h265Trail = func(n int) []byte { return append([]byte{0x02, 0x01}, filler(n-2, 4)...) }
)

func h265FUs(nal []byte, size int) [][]byte {
	var out [][]byte
	data := nal[2:]
	typ := codec.H265Type(nal[0])
	for first := true; len(data) > 0; first = false {
		n := min(size-3, len(data))
		fh := typ
		if first {
			fh |= 0x80
		}
		if n == len(data) {
			fh |= 0x40
		}
		out = append(out, append([]byte{nal[0]&0x81 | 49<<1, nal[1], fh}, data[:n]...))
		data = data[n:]
	}
	return out
}

func TestH265(t *testing.T) {
	big := h265IDR(6000)
	tests := []struct {
		name  string
		sprop bool
		in    [][]byte
		want  [][]byte
	}{
		{"single small passes", false, [][]byte{h265Trail(500)}, [][]byte{h265Trail(500)}},
		{"large single NAL fragmented with params", true, [][]byte{big}, [][]byte{testVPS, testSPS5, testPPS5, big}},
		{"camera FUs re-fragmented", false, h265FUs(big, 1400), [][]byte{big}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h H265
			if tt.sprop {
				h.SetParams(testVPS, testSPS5, testPPS5)
			}
			var c collector
			for i, p := range tt.in {
				if err := h.Push(rtpPkt(uint16(i), 0, i == len(tt.in)-1, p), c.emit); err != nil {
					t.Fatal(err)
				}
			}
			c.checkMax(t, MaxPayload)
			equalNALs(t, h265NALs(t, c.pkts), tt.want)
			if !c.pkts[len(c.pkts)-1].marker {
				t.Error("marker not on last packet")
			}
		})
	}
}
