package streams

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
)

// maxPacketSize bounds a pooled buffer. WebRTC packets stay under the path MTU;
// RTSP sources are re-packetized by the bridge before they reach a track.
const maxPacketSize = 1500

// Packet is one RTP packet owned by the fan-out. Once written to a Track it is
// immutable: every subscriber reads the same Header and Payload and writes its
// own copy of the header (SSRC, payload type, sequence number) to the wire.
//
// Packets are reference counted and return to a pool when the last holder
// releases them, so the steady-state path allocates nothing.
type Packet struct {
	Header  rtp.Header
	Payload []byte

	// Keyframe marks the first packet of a decoder refresh point (always true
	// for audio): a subscriber waiting for a keyframe starts here.
	Keyframe bool
	// gen is the publisher generation that produced the packet; a subscriber
	// that sees it change waits for the next keyframe.
	gen uint32
	// at is when the track published it (unix nanos): queues are bounded in
	// time as well as in packets (maxLag).
	at int64
	// idx is the packet's arrival index on its track, from 1: the order the
	// fan-out saw packets in, whatever their sequence numbers.
	idx uint64
	// keyStart: the first keyframe packet of its access unit, where a
	// decoder can begin (an SPS before its IDR), not merely one of them.
	keyStart bool
	// layer is the simulcast layer of a layered track that carried it.
	layer uint8

	buf  [maxPacketSize]byte
	refs atomic.Int32
}

var packetPool = sync.Pool{New: func() any { return new(Packet) }}

// NewPacket returns an empty packet holding one reference.
func NewPacket() *Packet {
	p := packetPool.Get().(*Packet)
	p.refs.Store(1)
	return p
}

// Buffer is the packet's backing storage, for reading a datagram into.
func (p *Packet) Buffer() []byte { return p.buf[:] }

// Unmarshal parses raw RTP (which may alias Buffer()) into the packet.
// The header's extension and CSRC slices reuse their capacity between uses.
func (p *Packet) Unmarshal(raw []byte) error {
	n, err := p.Header.Unmarshal(raw)
	if err != nil {
		return err
	}
	end := len(raw)
	if p.Header.Padding && end > n {
		pad := int(raw[end-1])
		if pad == 0 || pad > end-n {
			return errBadPadding
		}
		end -= pad
		p.Header.Padding = false
		p.Header.PaddingSize = 0
	}
	if &raw[0] != &p.buf[0] {
		// Keep the payload inside the packet's own storage.
		p.Payload = p.buf[:copy(p.buf[:], raw[n:end])]
	} else {
		p.Payload = raw[n:end]
	}
	return nil
}

// SetPayload copies payload into the packet's storage.
func (p *Packet) SetPayload(payload []byte) bool {
	if len(payload) > len(p.buf) {
		return false
	}
	p.Payload = p.buf[:copy(p.buf[:], payload)]
	return true
}

// Retain adds a reference.
func (p *Packet) Retain() { p.refs.Add(1) }

// Release drops a reference; the last one returns the packet to the pool.
func (p *Packet) Release() {
	if p.refs.Add(-1) == 0 {
		p.Payload = nil
		p.Keyframe, p.keyStart = false, false
		p.at = 0
		p.idx = 0
		p.Header.Extension = false
		p.Header.Extensions = p.Header.Extensions[:0]
		p.Header.CSRC = p.Header.CSRC[:0]
		packetPool.Put(p)
	}
}
