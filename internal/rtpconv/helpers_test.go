package rtpconv

import (
	"bytes"
	"github.com/wishgate/wishgate/internal/codec"
	"testing"

	"github.com/pion/rtp"
)

func filler(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i%251) + 1 + seed
		if b[i] == 0 {
			b[i] = 1
		}
	}
	return b
}

type outPkt struct {
	payload []byte
	marker  bool
}

// collector records emitted payloads (copied, as Emit requires).
type collector struct{ pkts []outPkt }

func (c *collector) emit(p []byte, marker bool) {
	c.pkts = append(c.pkts, outPkt{payload: bytes.Clone(p), marker: marker})
}

func (c *collector) checkMax(t *testing.T, max int) {
	t.Helper()
	for i, p := range c.pkts {
		if len(p.payload) > max {
			t.Fatalf("packet %d: payload %d bytes > %d", i, len(p.payload), max)
		}
	}
}

// h264NALs depacketizes the output independently of the code under test.
func h264NALs(t *testing.T, pkts []outPkt) [][]byte {
	t.Helper()
	var out [][]byte
	var fu []byte
	for _, p := range pkts {
		b := p.payload
		switch b[0] & 0x1F {
		case 24:
			r := b[1:]
			for len(r) > 0 {
				n := int(r[0])<<8 | int(r[1])
				out = append(out, r[2:2+n])
				r = r[2+n:]
			}
		case 28:
			if b[1]&0x80 != 0 {
				fu = []byte{b[0]&0xE0 | b[1]&0x1F}
			}
			fu = append(fu, b[2:]...)
			if b[1]&0x40 != 0 {
				out = append(out, fu)
				fu = nil
			}
		default:
			out = append(out, b)
		}
	}
	return out
}

func h265NALs(t *testing.T, pkts []outPkt) [][]byte {
	t.Helper()
	var out [][]byte
	var fu []byte
	for _, p := range pkts {
		b := p.payload
		switch codec.H265Type(b[0]) {
		case 48:
			r := b[2:]
			for len(r) > 0 {
				n := int(r[0])<<8 | int(r[1])
				out = append(out, r[2:2+n])
				r = r[2+n:]
			}
		case 49:
			if b[2]&0x80 != 0 {
				fu = []byte{b[0]&0x81 | (b[2]&0x3F)<<1, b[1]}
			}
			fu = append(fu, b[3:]...)
			if b[2]&0x40 != 0 {
				out = append(out, fu)
				fu = nil
			}
		default:
			out = append(out, b)
		}
	}
	return out
}

func rtpPkt(seq uint16, ts uint32, marker bool, payload []byte) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: marker}, Payload: payload}
}

func equalNALs(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d NAL units, want %d (types got %v)", len(got), len(want), types(got))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("NAL %d differs: got %d bytes type %d, want %d bytes type %d",
				i, len(got[i]), got[i][0]&0x1F, len(want[i]), want[i][0]&0x1F)
		}
	}
}

func types(nals [][]byte) []byte {
	var ts []byte
	for _, n := range nals {
		ts = append(ts, n[0]&0x1F)
	}
	return ts
}
