package rtpconv

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
)

// fuzzPackets turns fuzz bytes into a packet sequence: per packet a flags
// byte (bit 0 marker, bit 1 skip a sequence number, bit 2 new timestamp,
// bit 3 timestamp backwards), a 2-byte length and that many payload bytes.
// Sequence gaps, reordering and truncation are all reachable.
func fuzzPackets(data []byte) []*rtp.Packet {
	var out []*rtp.Packet
	seq, ts := uint16(1000), uint32(90000)
	for len(data) >= 3 && len(out) < 4096 {
		flags := data[0]
		n := int(binary.BigEndian.Uint16(data[1:3]))
		data = data[3:]
		n = min(n, len(data))
		seq++
		if flags&2 != 0 {
			seq++
		}
		if flags&4 != 0 {
			ts += 3000
		}
		if flags&8 != 0 {
			ts -= 6000
		}
		out = append(out, &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: flags&1 != 0},
			Payload: data[:n:n],
		})
		data = data[n:]
	}
	return out
}

func fuzzEncode(pkts ...[]byte) []byte {
	var b []byte
	for i, p := range pkts {
		flags := byte(0)
		if i == len(pkts)-1 {
			flags = 1
		}
		b = append(b, flags|4, byte(len(p)>>8), byte(len(p)))
		b = append(b, p...)
	}
	return b
}

// fuzzMaxPayloads are the budgets the fuzzers pick from: the real one and
// small ones that force re-fragmentation of everything.
var fuzzMaxPayloads = []int{MaxPayload, 1200, 64, 16}

// checkH264Payload validates one emitted payload as a WebRTC receiver
// would parse it (RFC 6184 §5.6-5.8, non-interleaved mode).
func checkH264Payload(p []byte, max int) error {
	if len(p) == 0 || len(p) > max {
		return fmt.Errorf("payload of %d bytes (max %d)", len(p), max)
	}
	switch t := p[0] & 0x1F; {
	case t >= 1 && t <= 23:
	case t == codec.H264TypeSTAPA:
		it := codec.AggregatedUnits(p[1:])
		for _, ok := it.Next(); ok; _, ok = it.Next() {
		}
		if it.Malformed() {
			return fmt.Errorf("malformed STAP-A % x", p[:min(len(p), 16)])
		}
	case t == codec.H264TypeFUA:
		if len(p) < 3 {
			return fmt.Errorf("FU-A of %d bytes", len(p))
		}
		if inner := p[1] & 0x1F; inner < 1 || inner > 23 {
			return fmt.Errorf("FU-A carrying NAL type %d", inner)
		}
	default:
		return fmt.Errorf("emitted packet type %d", t)
	}
	return nil
}

func checkH265Payload(p []byte, max int) error {
	if len(p) < 2 || len(p) > max {
		return fmt.Errorf("payload of %d bytes (max %d)", len(p), max)
	}
	switch t := codec.H265Type(p[0]); {
	case t < codec.H265TypeAP:
	case t == codec.H265TypeAP:
		it := codec.AggregatedUnits(p[2:])
		for u, ok := it.Next(); ok; u, ok = it.Next() {
			if len(u) < 2 {
				return fmt.Errorf("malformed AP % x", p[:min(len(p), 16)])
			}
		}
		if it.Malformed() {
			return fmt.Errorf("malformed AP % x", p[:min(len(p), 16)])
		}
	case t == codec.H265TypeFU:
		if len(p) < 4 {
			return fmt.Errorf("FU of %d bytes", len(p))
		}
		if inner := p[2] & 0x3F; inner >= codec.H265TypeAP {
			return fmt.Errorf("FU carrying NAL type %d", inner)
		}
	default:
		return fmt.Errorf("emitted packet type %d", t)
	}
	return nil
}

// FuzzH264Push: hostile RTP (truncated FU-A, garbage STAP-A, lost starts,
// reordering) never panics, never emits a payload a receiver cannot parse
// or one over budget, and never grows the reassembly buffer without bound.
func FuzzH264Push(f *testing.F) {
	f.Add(uint8(0), fuzzEncode(stapA([]byte{0x67, 0x42, 0, 0x1f}, []byte{0x68, 0xce}), idr(3000)))
	for i := range fuzzMaxPayloads {
		f.Add(uint8(i), fuzzEncode(fuA(idr(5000), 1400)...))
	}
	f.Add(uint8(0), fuzzEncode([]byte{0x7c, 0x85}, []byte{0x7c, 0x45, 1}))          // FU-A start without data, end
	f.Add(uint8(0), fuzzEncode([]byte{0x78, 0x00, 0x05, 0x67}))                     // STAP-A whose unit overruns
	f.Add(uint8(0), fuzzEncode([]byte{0x7c, 0x98, 1, 2, 3}, []byte{0x7c, 0x58, 4})) // FU-A of a STAP-A
	f.Add(uint8(2), fuzzEncode(slice(2000), []byte{0x19, 0, 1}, []byte{0x1d, 1, 2}))
	f.Fuzz(func(t *testing.T, mp uint8, data []byte) {
		max := fuzzMaxPayloads[int(mp)%len(fuzzMaxPayloads)]
		h := &H264{MaxPayload: max}
		h.SetParams([]byte{0x67, 0x42, 0xc0, 0x1f}, []byte{0x68, 0xce, 0x3c, 0x80})
		var bad error
		emit := func(p []byte, _ bool) {
			if err := checkH264Payload(p, max); err != nil && bad == nil {
				bad = err
			}
		}
		for i, pkt := range fuzzPackets(data) {
			_ = h.Push(pkt, emit)
			if bad != nil {
				t.Fatalf("packet %d (% x): %v", i, pkt.Payload[:min(len(pkt.Payload), 8)], bad)
			}
			if len(h.fu) > maxNALUSize || cap(h.fu) > 2*maxNALUSize {
				t.Fatalf("reassembly buffer at %d bytes", len(h.fu))
			}
		}
	})
}

// FuzzH265Push is FuzzH264Push for RFC 7798 (AP, FU, PACI).
func FuzzH265Push(f *testing.F) {
	vps := []byte{0x40, 0x01, 0x0c, 0x01}
	sps := []byte{0x42, 0x01, 0x01, 0x01}
	pps := []byte{0x44, 0x01, 0xc1, 0x72}
	irap := append([]byte{0x26, 0x01}, filler(4000, 3)...)
	f.Add(uint8(0), fuzzEncode(append(append([]byte{0x60, 0x01, 0, 4}, vps...), append([]byte{0, 4}, sps...)...), irap))
	for i := range fuzzMaxPayloads {
		f.Add(uint8(i), fuzzEncode(h265FUs(irap, 1400)...))
	}
	f.Add(uint8(0), fuzzEncode([]byte{0x62, 0x01, 0x93}, []byte{0x62, 0x01, 0x53}))       // FU start/end, no data
	f.Add(uint8(0), fuzzEncode([]byte{0x60, 0x01, 0x00, 0x09, 0x26}))                     // AP whose unit overruns
	f.Add(uint8(0), fuzzEncode([]byte{0x62, 0x01, 0xb0, 1, 2}, []byte{0x62, 0x01, 0x70})) // FU of an AP
	f.Add(uint8(1), fuzzEncode([]byte{0x64, 0x01, 1, 2, 3}, pps))                         // PACI
	f.Fuzz(func(t *testing.T, mp uint8, data []byte) {
		max := fuzzMaxPayloads[int(mp)%len(fuzzMaxPayloads)]
		h := &H265{MaxPayload: max}
		h.SetParams(vps, sps, pps)
		var bad error
		emit := func(p []byte, _ bool) {
			if err := checkH265Payload(p, max); err != nil && bad == nil {
				bad = err
			}
		}
		for i, pkt := range fuzzPackets(data) {
			_ = h.Push(pkt, emit)
			if bad != nil {
				t.Fatalf("packet %d (% x): %v", i, pkt.Payload[:min(len(pkt.Payload), 8)], bad)
			}
			if len(h.fu) > maxNALUSize || cap(h.fu) > 2*maxNALUSize {
				t.Fatalf("reassembly buffer at %d bytes", len(h.fu))
			}
		}
	})
}
