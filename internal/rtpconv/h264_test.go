package rtpconv

import (
	"errors"
	"testing"

	"github.com/pion/rtp"
)

var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb}
)

func idr(n int) []byte   { return append([]byte{0x65}, filler(n-1, 1)...) }
func slice(n int) []byte { return append([]byte{0x41}, filler(n-1, 2)...) }

// fuA fragments nal the way a camera does, at size bytes per packet.
func fuA(nal []byte, size int) [][]byte {
	var out [][]byte
	data := nal[1:]
	for first := true; len(data) > 0; first = false {
		n := min(size-2, len(data))
		fh := nal[0] & 0x1F
		if first {
			fh |= 0x80
		}
		if n == len(data) {
			fh |= 0x40
		}
		out = append(out, append([]byte{nal[0]&0xE0 | 28, fh}, data[:n]...))
		data = data[n:]
	}
	return out
}

func stapA(nals ...[]byte) []byte {
	p := []byte{0x78}
	for _, n := range nals {
		p = append(p, byte(len(n)>>8), byte(len(n)))
		p = append(p, n...)
	}
	return p
}

func TestH264(t *testing.T) {
	bigIDR := idr(5000)
	tests := []struct {
		name     string
		sprop    bool
		in       [][]byte // one access unit per test, marker on the last
		want     [][]byte // NAL units after depacketizing the output
		inserted uint64
	}{
		{
			name: "small single NAL units pass through",
			in:   [][]byte{slice(300)},
			want: [][]byte{slice(300)},
		},
		{
			name:     "mode 0 large IDR is fragmented, sprop params inserted",
			sprop:    true,
			in:       [][]byte{bigIDR},
			want:     [][]byte{testSPS, testPPS, bigIDR},
			inserted: 1,
		},
		{
			name:  "camera FU-A of 1400 bytes re-fragmented",
			in:    append([][]byte{testSPS, testPPS}, fuA(bigIDR, 1400)...),
			want:  [][]byte{testSPS, testPPS, bigIDR},
			sprop: true, // in-band params present: no insertion
		},
		{
			name:     "STAP-A with SEI and IDR gets params",
			sprop:    true,
			in:       [][]byte{stapA([]byte{0x06, 1, 2, 3}, idr(200))},
			want:     [][]byte{testSPS, testPPS, {0x06, 1, 2, 3}, idr(200)},
			inserted: 1,
		},
		{
			name: "large STAP-A is split",
			in:   [][]byte{stapA(testSPS, testPPS, idr(1500))},
			want: [][]byte{testSPS, testPPS, idr(1500)},
		},
		{
			name: "no params known: IDR passes without insertion",
			in:   [][]byte{idr(100)},
			want: [][]byte{idr(100)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h H264
			if tt.sprop {
				h.SetParams(testSPS, testPPS)
			}
			var c collector
			for i, p := range tt.in {
				if err := h.Push(rtpPkt(uint16(100+i), 9000, i == len(tt.in)-1, p), c.emit); err != nil {
					t.Fatal(err)
				}
			}
			c.checkMax(t, MaxPayload)
			equalNALs(t, h264NALs(t, c.pkts), tt.want)
			if !c.pkts[len(c.pkts)-1].marker {
				t.Error("marker not set on the last packet of the access unit")
			}
			for _, p := range c.pkts[:len(c.pkts)-1] {
				if p.marker {
					t.Error("marker set before the end of the access unit")
				}
			}
			if h.Stats.ParamsInserted != tt.inserted {
				t.Errorf("ParamsInserted = %d, want %d", h.Stats.ParamsInserted, tt.inserted)
			}
		})
	}
}

func TestH264InBandParamsKeptCurrent(t *testing.T) {
	var h H264
	h.SetParams(testSPS, testPPS)
	_, _, v0 := h.Params()
	newSPS := []byte{0x67, 0x42, 0xc0, 0x1e, 0x11}
	var c collector
	_ = h.Push(rtpPkt(1, 0, false, newSPS), c.emit)
	_ = h.Push(rtpPkt(2, 0, true, idr(50)), c.emit) // PPS missing in this AU: insert cached pair
	sps, pps, v1 := h.Params()
	if v1 == v0 || string(sps) != string(newSPS) || string(pps) != string(testPPS) {
		t.Fatalf("params not updated: %x %x (version %d→%d)", sps, pps, v0, v1)
	}
	// Next IDR without in-band params gets the new SPS.
	c = collector{}
	_ = h.Push(rtpPkt(3, 3000, true, idr(50)), c.emit)
	equalNALs(t, h264NALs(t, c.pkts), [][]byte{newSPS, testPPS, idr(50)})
}

func TestH264LostFragment(t *testing.T) {
	var h H264
	frags := fuA(idr(4000), 1400)
	var c collector
	for i, f := range frags {
		if i == 1 {
			continue // lost
		}
		_ = h.Push(rtpPkt(uint16(i), 0, i == len(frags)-1, f), c.emit)
	}
	if len(c.pkts) != 0 || h.Stats.LostFragments != 1 {
		t.Fatalf("emitted %d packets, lost=%d; want the broken NAL dropped", len(c.pkts), h.Stats.LostFragments)
	}
	_ = h.Push(rtpPkt(10, 3000, true, slice(100)), c.emit)
	if len(c.pkts) != 1 {
		t.Fatal("stream did not continue after a loss")
	}
}

func TestH264Reordered(t *testing.T) {
	var h H264
	var c collector
	for i, ts := range []uint32{0, 9000, 3000, 6000, 18000} { // I P B B P
		_ = h.Push(rtpPkt(uint16(i), ts, true, slice(10)), c.emit)
	}
	if h.Stats.Reordered != 1 {
		t.Fatalf("Reordered = %d, want 1", h.Stats.Reordered)
	}
}

func TestH264Errors(t *testing.T) {
	var h H264
	var c collector
	if err := h.Push(rtpPkt(1, 0, true, []byte{0x19, 0, 0}), c.emit); !errors.Is(err, ErrUnsupportedPacket) {
		t.Errorf("STAP-B: err = %v", err)
	}
	if err := h.Push(rtpPkt(2, 0, true, []byte{0x78, 0, 9, 1}), c.emit); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated STAP-A: err = %v", err)
	}
	if err := h.Push(rtpPkt(3, 0, true, []byte{0x7c}), c.emit); !errors.Is(err, ErrMalformed) {
		t.Errorf("short FU-A: err = %v", err)
	}
	if len(c.pkts) != 0 {
		t.Errorf("malformed input produced %d packets", len(c.pkts))
	}
}

// BenchmarkH264 checks the steady-state path allocates nothing.
func BenchmarkH264(b *testing.B) {
	var h H264
	h.SetParams(testSPS, testPPS)
	frags := fuA(idr(20000), 1400)
	pkts := make([]*rtp.Packet, len(frags))
	for i, f := range frags {
		pkts[i] = rtpPkt(0, 0, i == len(frags)-1, f)
	}
	var n int
	emit := func(p []byte, _ bool) { n += len(p) }
	b.ReportAllocs()
	seq := uint16(0)
	for i := 0; b.Loop(); i++ {
		for _, p := range pkts {
			p.SequenceNumber = seq
			p.Timestamp = uint32(i) * 3000
			seq++
			if err := h.Push(p, emit); err != nil {
				b.Fatal(err)
			}
		}
	}
}
