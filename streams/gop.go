package streams

import (
	"sync"
	"unsafe"
)

// DefaultGOPCacheBytes bounds a video track's GOP cache: about 13 s of a
// 2.5 Mbit/s stream in pooled packet buffers, far more than a usual 1–4 s GOP.
const DefaultGOPCacheBytes = 4 << 20

// packetFootprint is what one cached packet really costs: the pooled Packet
// with its full 1500-byte buffer, not just its payload. The bound is honest
// memory, not media bytes.
const packetFootprint = int(unsafe.Sizeof(Packet{}))

// gopCache keeps the packets of the current group of pictures, from the
// first packet of the last keyframe up to the newest packet, so a new viewer
// starts from a decodable picture at once instead of waiting for the next
// keyframe. Publishers that ignore PLI (OBS, FFmpeg, RTSP cameras) would
// otherwise leave a new viewer black for up to a whole GOP.
//
// The cache holds references (Retain) on packets the fan-out already owns:
// caching copies nothing, and a packet returns to the pool when both the
// cache and every subscriber released it.
type gopCache struct {
	mu       sync.Mutex
	maxBytes int
	pkts     []*Packet
	bytes    int
	valid    bool   // pkts starts at a keyframe and has no gap
	gen      uint32 // publisher generation of pkts
	lastTS   uint32 // RTP timestamp of the newest cached packet
	overflow uint64 // GOPs abandoned because they outgrew maxBytes
}

// add appends pkt (already normalised by the track) to the cache. A keyframe
// that starts a new access unit begins a new GOP; SPS, PPS and IDR sent as
// separate packets share one timestamp and so stay one GOP. A GOP that
// outgrows the bound is dropped whole, never truncated: a truncated GOP has
// no keyframe, and cached P-frames without their reference are useless.
func (c *gopCache) add(pkt *Packet) {
	if c.maxBytes <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if pkt.gen != c.gen {
		// A new publisher: its pictures do not reference the old ones.
		c.resetLocked()
		c.gen = pkt.gen
	}
	switch {
	case pkt.Keyframe && !(c.valid && len(c.pkts) > 0 && c.lastTS == pkt.Header.Timestamp):
		c.resetLocked()
		c.valid = true
	case !c.valid:
		return // keyframe-less start or abandoned GOP: wait for a keyframe
	}
	if c.bytes+packetFootprint > c.maxBytes {
		c.resetLocked()
		c.overflow++
		return
	}
	pkt.Retain()
	c.pkts = append(c.pkts, pkt)
	c.bytes += packetFootprint
	c.lastTS = pkt.Header.Timestamp
}

// resetLocked releases every cached packet. The slice keeps its capacity so
// the steady state does not allocate.
func (c *gopCache) resetLocked() {
	for i, p := range c.pkts {
		p.Release()
		c.pkts[i] = nil
	}
	c.pkts = c.pkts[:0]
	c.bytes = 0
	c.valid = false
}

// snapshot appends the cached GOP to dst, each packet retained for the
// caller, who must Release them. Empty if there is no complete GOP.
func (c *gopCache) snapshot(dst []*Packet) []*Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid {
		return dst
	}
	for _, p := range c.pkts {
		p.Retain()
		dst = append(dst, p)
	}
	return dst
}

// size returns the cached packet count and their footprint in bytes.
func (c *gopCache) size() (pkts, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pkts), c.bytes
}

func (c *gopCache) close() {
	c.mu.Lock()
	c.resetLocked()
	c.mu.Unlock()
}
