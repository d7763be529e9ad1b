package client

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
)

func testLayers() *SynthLayers {
	return NewSynthLayers(SynthLayersConfig{GOP: 300 * time.Millisecond, Layers: []SynthLayer{
		{RID: "q", Width: 320, Height: 180, Bitrate: 150_000},
		{RID: "h", Width: 640, Height: 360, Bitrate: 500_000},
		{RID: "f", Width: 1280, Height: 720, Bitrate: 1_500_000},
	}})
}

func TestSynthLayersAreRealH264(t *testing.T) {
	g := testLayers()
	for j, size := range [][2]int{{320, 180}, {640, 360}, {1280, 720}} {
		pkts := g.Next(j, time.Now())
		if !codec.H264.Keyframe(pkts[0].Payload) || len(pkts) != g.PacketsOf(j, true) {
			t.Fatalf("layer %d: first picture is not a key picture (%d packets)", j, len(pkts))
		}
		if w, h, ok := codec.H264.Resolution(pkts[0].Payload); !ok || w != size[0] || h != size[1] {
			t.Errorf("layer %d: SPS says %dx%d", j, w, h)
		}
		for _, p := range pkts {
			if !g.Matches(j, p.Payload) || g.LayerOf(p.Payload) != j || len(p.Payload) > 1200 {
				t.Fatalf("layer %d: payload %x does not match itself", j, p.Payload[:8])
			}
			if j > 0 && g.Matches(j-1, p.Payload) {
				t.Fatalf("layer %d's payload matches layer %d", j, j-1)
			}
		}
		if p := g.Next(j, time.Now()); codec.H264.Keyframe(p[0].Payload) || len(p) != g.PacketsOf(j, false) {
			t.Errorf("layer %d: second picture is a key picture", j)
		}
	}
}

// relay numbers packets like the gateway: one sequence, given packets.
type relay struct {
	check *LayerCheck
	seq   uint16
}

func (r *relay) send(pkts []*rtp.Packet, lose func(i int) bool) {
	for i, p := range pkts {
		h := p.Header
		h.SequenceNumber = r.seq
		r.seq++
		if lose != nil && lose(i) {
			continue // lost on the way: a gap
		}
		r.check.Push(&h, p.Payload, time.Now())
	}
}

func TestLayerCheck(t *testing.T) {
	run := func(t *testing.T, script func(g *SynthLayers, r *relay)) LayerReport {
		g := testLayers()
		r := &relay{check: NewLayerCheck(g)}
		script(g, r)
		return r.check.Report()
	}
	t.Run("switch at a key picture", func(t *testing.T) {
		rep := run(t, func(g *SynthLayers, r *relay) {
			on := 2
			g.Next(0, time.Now()) // q's first key picture, not sent
			for n := 0; n < 20; n++ {
				if n == 5 {
					g.ForceKeyframe(0)
				}
				p2, p0 := g.Next(2, time.Now()), g.Next(0, time.Now())
				if n == 5 {
					on = 0
				}
				if on == 2 {
					r.send(p2, nil)
				} else {
					r.send(p0, func(i int) bool { return n == 5 && i == 0 }) // the SPS lost
				}
			}
		})
		if len(rep.Problems) != 0 || len(rep.Switches) != 1 || rep.Switches[0].From != 2 || rep.Switches[0].To != 0 || rep.Last != 0 {
			t.Fatalf("%+v", rep)
		}
	})
	for _, tc := range []struct {
		name, want string
		script     func(g *SynthLayers, r *relay)
	}{
		{"switch at a P picture", "switch from layer 2 to 0", func(g *SynthLayers, r *relay) {
			r.send(g.Next(2, time.Now()), nil)
			g.Next(0, time.Now())
			r.send(g.Next(0, time.Now()), nil)
		}},
		{"P pictures left out", "left out and no key picture", func(g *SynthLayers, r *relay) {
			r.send(g.Next(1, time.Now()), nil)
			g.Next(1, time.Now())
			r.send(g.Next(1, time.Now()), nil)
		}},
		{"start without a key picture", "not a key picture", func(g *SynthLayers, r *relay) {
			g.Next(1, time.Now())
			r.send(g.Next(1, time.Now()), nil)
		}},
		{"another layer's bytes", "is not layer", func(g *SynthLayers, r *relay) {
			pkts := g.Next(1, time.Now())
			pkts[3].Payload = append([]byte(nil), pkts[3].Payload...)
			pkts[3].Payload[len(pkts[3].Payload)-1] ^= 0x01
			r.send(pkts, nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := run(t, tc.script)
			if len(rep.Problems) == 0 || !strings.Contains(strings.Join(rep.Problems, "\n"), tc.want) {
				t.Fatalf("problems %q, want one with %q", rep.Problems, tc.want)
			}
		})
	}
	t.Run("switch whose key picture was lost", func(t *testing.T) {
		rep := run(t, func(g *SynthLayers, r *relay) {
			r.send(g.Next(2, time.Now()), nil)
			r.send(g.Next(0, time.Now()), func(int) bool { return true }) // q's key picture, all lost
			r.send(g.Next(0, time.Now()), nil)
		})
		if len(rep.Problems) != 0 || len(rep.Switches) != 1 {
			t.Fatalf("%+v", rep)
		}
	})
	t.Run("network loss is not the gateway's", func(t *testing.T) {
		rep := run(t, func(g *SynthLayers, r *relay) {
			for n := 0; n < 12; n++ {
				r.send(g.Next(2, time.Now()), func(i int) bool { return n%3 == 1 || n == 4 && i > 0 })
			}
		})
		if len(rep.Problems) != 0 {
			t.Fatalf("%q", rep.Problems)
		}
	})
	t.Run("resume at a key picture after a skip", func(t *testing.T) {
		rep := run(t, func(g *SynthLayers, r *relay) {
			r.send(g.Next(2, time.Now()), nil)
			for g.layers[2].sinceKey < g.gopFrames {
				g.Next(2, time.Now()) // never sent
			}
			r.send(g.Next(2, time.Now()), nil)
		})
		if len(rep.Problems) != 0 {
			t.Fatalf("%q", rep.Problems)
		}
	})
}
