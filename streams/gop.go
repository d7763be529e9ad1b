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
	bytes    int    // footprint of pkts (the memory bound)
	media    int    // payload bytes of pkts (what a burst sends)
	valid    bool   // pkts starts at a keyframe and has no gap
	gen      uint32 // publisher generation of pkts
	lastTS   uint32 // RTP timestamp of the newest cached packet
	// auKey: the newest cached access unit (the packets at lastTS) holds a
	// keyframe packet, so a further keyframe packet under the same
	// timestamp (the IDR after its SPS) continues the GOP.
	auKey    bool
	overflow uint64 // GOPs abandoned because they outgrew maxBytes
}

// add appends pkt (already normalised by the track) to the cache. The first
// keyframe packet of an access unit begins a new GOP; SPS, PPS and IDR sent
// as separate packets share one timestamp and so stay one GOP. What decides
// is whether the access unit already had a keyframe packet, not whether the
// timestamp is new: encoders that open every picture with an access unit
// delimiter or SEI in a packet of its own (GStreamer's x264enc, many
// cameras, hardware encoders) put that packet first under the keyframe's
// timestamp, and a check on the timestamp alone then never starts a new GOP,
// so the cache grew over many GOPs and a new viewer got all of them.
// The AU's leading non-keyframe packets are dropped with the old GOP: a
// viewer waiting for a keyframe skips them anyway, and decoders need
// neither. A GOP that outgrows the bound is dropped whole, never truncated:
// a truncated GOP has no keyframe, and cached P-frames without their
// reference are useless.
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
	sameAU := len(c.pkts) > 0 && c.lastTS == pkt.Header.Timestamp
	switch {
	case pkt.Keyframe && !(c.valid && sameAU && c.auKey):
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
	if !sameAU || len(c.pkts) == 0 {
		c.auKey = false
	}
	c.auKey = c.auKey || pkt.Keyframe
	pkt.Retain()
	c.pkts = append(c.pkts, pkt)
	c.bytes += packetFootprint
	c.media += len(pkt.Payload)
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
	c.bytes, c.media = 0, 0
	c.valid, c.auKey = false, false
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

// gopState describes the cached GOP for the start decision (start.go).
type gopState struct {
	valid bool
	keyAt int64 // when the keyframe's first packet arrived (unix nanos)
	media int   // payload bytes
}

func (c *gopCache) state() gopState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid || len(c.pkts) == 0 {
		return gopState{}
	}
	return gopState{valid: true, keyAt: c.pkts[0].at, media: c.media}
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
