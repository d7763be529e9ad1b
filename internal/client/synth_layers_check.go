package client

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// LayerCheck records what one viewer receives of a SynthLayers stream and
// judges it: which layer each packet is of, when the layer changed, and
// whether any picture went out that the viewer could not decode because the
// gateway (not the network) left out what it depends on.
//
// The gateway sends a viewer one numbering without gaps of its own making
// (a skipped stretch closes the sequence gap behind it), so in sequence
// order a gap g is exactly the number of packets the network lost. Between
// two packets received of the same layer, fewer than the generator sent
// there with no gap to account for them means the gateway left packets
// out; it may only do that to resume at a key picture, so the later packet
// must belong to a key picture and the gap must cover the packets of that
// picture before it. A change of layer is the same: the first packet of the
// new layer must belong to a key picture, after at least its predecessors
// in that picture, or else the gap must hold a whole key picture of the new
// layer and this picture's packets before it. Safe for concurrent use.
type LayerCheck struct {
	gen *SynthLayers

	mu      sync.Mutex
	pkts    []layerPkt
	lastExt uint64
	have    bool
	foreign uint64
}

type layerPkt struct {
	ext     uint64 // extended sequence number
	ts      uint32
	layer   int
	mark    LayerMark // slices only
	param   int       // 1: SPS, 2: PPS, 0: a slice
	at      time.Time
	matches bool
}

// NewLayerCheck checks a stream made by gen.
func NewLayerCheck(gen *SynthLayers) *LayerCheck { return &LayerCheck{gen: gen} }

// Push records one received packet.
func (c *LayerCheck) Push(h *rtp.Header, payload []byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ext := uint64(h.SequenceNumber)
	if c.have {
		ext = c.lastExt + uint64(int64(int16(h.SequenceNumber-uint16(c.lastExt))))
	}
	if !c.have || ext > c.lastExt {
		c.lastExt, c.have = ext, true
	}
	p := layerPkt{ext: ext, ts: h.Timestamp, at: at, layer: -1}
	if m, ok := ParseLayerMark(payload); ok {
		p.mark, p.layer = m, m.Layer
	} else if j := c.gen.LayerOf(payload); j >= 0 {
		p.layer, p.param = j, 1
		if len(payload) > 0 && payload[0]&0x1f == 8 {
			p.param = 2
		}
	}
	if p.layer < 0 {
		c.foreign++
		return
	}
	p.matches = c.gen.Matches(p.layer, payload)
	c.pkts = append(c.pkts, p)
}

// LayerSwitch is one change of layer in what a viewer received.
type LayerSwitch struct {
	From, To int
	At       time.Time // arrival of the new layer's first packet
}

// LayerReport is LayerCheck's verdict so far.
type LayerReport struct {
	Packets  []int // received per layer
	Switches []LayerSwitch
	// Problems lists every packet the viewer could not decode through the
	// gateway's fault, and every payload that was not the layer's own.
	Problems []string
	Foreign  uint64 // packets of no layer at all
	Last     int    // layer of the newest packet, -1 before any
}

// Report sorts what was received by sequence number and judges it.
func (c *LayerCheck) Report() LayerReport {
	c.mu.Lock()
	pkts := append([]layerPkt(nil), c.pkts...)
	foreign := c.foreign
	c.mu.Unlock()
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].ext < pkts[j].ext })
	r := LayerReport{Packets: make([]int, len(c.gen.layers)), Foreign: foreign, Last: -1}
	// Parameter sets take their picture from a slice of the same access
	// unit (same timestamp, same layer).
	byTS := map[[2]uint64]LayerMark{}
	for _, p := range pkts {
		if p.param == 0 {
			byTS[[2]uint64{uint64(p.layer), uint64(p.ts)}] = p.mark
		}
	}
	type known struct {
		layerPkt
		frame uint64
		pos   int
		key   bool
	}
	var prev *known
	for i := range pkts {
		p := pkts[i]
		if i > 0 && p.ext == pkts[i-1].ext {
			continue // a retransmitted copy
		}
		r.Packets[p.layer]++
		r.Last = p.layer
		if !p.matches {
			r.Problems = append(r.Problems, fmt.Sprintf("seq %d: payload is not layer %d's", p.ext, p.layer))
		}
		k := known{layerPkt: p, frame: p.mark.Frame, key: p.mark.Key, pos: p.mark.Slice}
		if p.param != 0 {
			m, ok := byTS[[2]uint64{uint64(p.layer), uint64(p.ts)}]
			if !ok {
				continue // its picture's slices were all lost: nothing to judge
			}
			k.frame, k.key, k.pos = m.Frame, true, p.param-1
		} else if k.key {
			k.pos += 2
		}
		switch {
		case prev == nil:
			if !k.key {
				r.Problems = append(r.Problems, fmt.Sprintf("seq %d: the first packet is of layer %d's picture %d, not a key picture", p.ext, p.layer, k.frame))
			}
		case prev.layer != k.layer:
			r.Switches = append(r.Switches, LayerSwitch{From: prev.layer, To: k.layer, At: p.at})
			// The new layer starts at a key picture: this one, or one
			// lost on the way with at least its packets.
			need := k.pos
			if !k.key {
				need += c.gen.PacketsOf(k.layer, true)
			}
			if gap := int(p.ext - prev.ext - 1); gap < need {
				r.Problems = append(r.Problems, fmt.Sprintf("seq %d: switch from layer %d to %d at picture %d packet %d (key %v, %d lost before)",
					p.ext, prev.layer, k.layer, k.frame, k.pos, k.key, gap))
			}
		default:
			gap := int(p.ext - prev.ext - 1)
			if min := c.between(k.layer, prev.frame, prev.pos, prev.key, k.frame, k.pos); gap < min && (!k.key || gap < k.pos) {
				r.Problems = append(r.Problems, fmt.Sprintf("seq %d: layer %d picture %d packet %d follows picture %d packet %d with %d packets left out and no key picture",
					p.ext, k.layer, k.frame, k.pos, prev.frame, prev.pos, min-gap))
			}
			if k.frame < prev.frame {
				r.Problems = append(r.Problems, fmt.Sprintf("seq %d: layer %d went back from picture %d to %d", p.ext, k.layer, prev.frame, k.frame))
			}
		}
		prev = &k
	}
	return r
}

// between is the fewest packets layer j sent strictly between picture a's
// packet pa and picture b's packet pb (pictures in between counted as P
// pictures, the smallest they can be).
func (c *LayerCheck) between(j int, a uint64, pa int, aKey bool, b uint64, pb int) int {
	if b == a {
		return max(0, pb-pa-1)
	}
	if b < a {
		return 0
	}
	rest := c.gen.PacketsOf(j, aKey) - pa - 1
	return max(0, rest) + int(b-a-1)*c.gen.PacketsOf(j, false) + pb
}
