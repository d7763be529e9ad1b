package client

import (
	"bytes"
	"context"
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/codec"
)

// Synthetic simulcast for tests: H.264 layers whose every RTP packet says
// what it is. Each packet is one NAL unit (RFC 6184 single NAL unit mode): a
// key picture is the layer's SPS (with its own size), its PPS and IDR
// slices; any other picture is non-IDR slices. Every slice carries a
// LayerMark (layer, picture, slice) after its NAL header, and filler that
// is a function of the mark, so a receiver can tell for each packet which
// layer and picture it belongs to, rebuild the exact bytes the publisher
// sent (ExpectedPayload), and check that no picture reaches it without the
// pictures it depends on (LayerCheck). The slices are not decodable video.

// SynthLayer is one layer of a SynthLayers stream.
type SynthLayer struct {
	RID           string
	Width, Height int
	Bitrate       int // bits per second
}

// SynthLayersConfig shapes a SynthLayers stream. Zero fields: 30 fps, a key
// picture every second, 1200-byte payloads.
type SynthLayersConfig struct {
	Layers     []SynthLayer
	FPS        int
	GOP        time.Duration
	MaxPayload int
}

func (c SynthLayersConfig) withDefaults() SynthLayersConfig {
	if c.FPS <= 0 {
		c.FPS = 30
	}
	if c.GOP <= 0 {
		c.GOP = time.Second
	}
	if c.MaxPayload < 200 {
		c.MaxPayload = 1200
	}
	return c
}

// layerMagic opens every LayerMark; no byte of a mark is zero.
var layerMagic = [4]byte{'W', 'G', 'l', 'y'}

const layerMarkLen = 4 + 1 + 5 + 2 + 2 + 1 + 9 // magic, layer, picture, slice, slices, key, sent

// LayerMark is what a synthetic simulcast slice says about itself.
type LayerMark struct {
	Layer   int
	Frame   uint64 // picture number within the layer, from 0
	Slice   int    // index among the picture's slices
	Slices  int    // slices of the picture
	Key     bool   // an IDR picture (SPS, PPS and Slices IDR slices)
	SentAt  time.Time
	Packets int // packets of the picture's access unit (with SPS and PPS)
}

func putLayerMark(dst []byte, m LayerMark) {
	copy(dst, layerMagic[:])
	put7(dst[4:5], uint64(m.Layer))
	put7(dst[5:10], m.Frame)
	put7(dst[10:12], uint64(m.Slice))
	put7(dst[12:14], uint64(m.Slices))
	key := uint64(0)
	if m.Key {
		key = 1
	}
	put7(dst[14:15], key)
	put7(dst[15:24], uint64(m.SentAt.UnixNano()))
}

// ParseLayerMark reads the mark of a synthetic simulcast slice payload.
func ParseLayerMark(payload []byte) (LayerMark, bool) {
	if len(payload) < 1+layerMarkLen || [4]byte(payload[1:5]) != layerMagic {
		return LayerMark{}, false
	}
	b := payload[1:]
	layer, ok1 := get7(b[4:5])
	frame, ok2 := get7(b[5:10])
	slice, ok3 := get7(b[10:12])
	slices, ok4 := get7(b[12:14])
	key, ok5 := get7(b[14:15])
	sent, ok6 := get7(b[15:24])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || slices == 0 || slice >= slices {
		return LayerMark{}, false
	}
	m := LayerMark{Layer: int(layer), Frame: frame, Slice: int(slice), Slices: int(slices), Key: key == 1,
		SentAt: time.Unix(0, int64(sent))}
	m.Packets = m.Slices
	if m.Key {
		m.Packets += 2
	}
	return m, true
}

// SynthLayers generates the pictures of every layer. Not safe for
// concurrent use; the packets it returns are reused by the next call for
// the same layer.
type SynthLayers struct {
	cfg       SynthLayersConfig
	gopFrames int
	layers    []synthLayerState
}

type synthLayerState struct {
	sps, pps   []byte
	pSlices    int // slices of a P picture
	iSlices    int // slices of an IDR picture
	sliceBytes int
	frame      uint64
	sinceKey   int
	seq        uint16
	ts         uint32
	pkts       []*rtp.Packet
	bufs       [][]byte
	keyNext    bool
}

// NewSynthLayers builds the generator. Each layer starts at its own random
// sequence number and RTP timestamp, as a browser's encodings do; its key
// picture is four times a P picture, and the sizes average to the bitrate.
func NewSynthLayers(cfg SynthLayersConfig) *SynthLayers {
	cfg = cfg.withDefaults()
	g := &SynthLayers{cfg: cfg, gopFrames: max(1, int(cfg.GOP.Seconds()*float64(cfg.FPS)+0.5))}
	for j, l := range cfg.Layers {
		perFrame := float64(l.Bitrate) / 8 / float64(cfg.FPS) * float64(g.gopFrames) / float64(g.gopFrames+3)
		sliceBytes := cfg.MaxPayload
		p := max(1, int(perFrame/float64(sliceBytes)+0.5))
		if perFrame < float64(sliceBytes) {
			sliceBytes = max(1+layerMarkLen+8, int(perFrame))
		}
		sps := NewSynthVideo(SynthConfig{Width: l.Width, Height: l.Height}).sps
		g.layers = append(g.layers, synthLayerState{
			sps: sps, pps: escapeRBSP(layerPPS(j)), pSlices: p, iSlices: 4 * p, sliceBytes: sliceBytes,
			seq: uint16(rand.Uint32()), ts: rand.Uint32(), keyNext: true,
		})
	}
	return g
}

// layerPPS is ppsRBSP with the layer as pic_parameter_set_id, so that each
// layer's PPS has bytes of its own.
func layerPPS(layer int) []byte {
	w := &bitWriter{}
	w.bits(codec.H264TypePPS|3<<5, 8)
	w.ue(uint64(layer)) // pic_parameter_set_id
	w.ue(0)             // seq_parameter_set_id
	w.bits(0, 2)        // entropy_coding_mode_flag, bottom_field_pic_order_in_frame_present_flag
	w.ue(0)             // num_slice_groups_minus1
	w.ue(0)
	w.ue(0)
	w.bits(0, 3) // weighted_pred_flag, weighted_bipred_idc
	w.se(0)
	w.se(0)
	w.se(0)
	w.bits(0, 3) // deblocking, constrained intra, redundant pic cnt
	w.trailing()
	return w.buf
}

// Config returns the effective configuration.
func (g *SynthLayers) Config() SynthLayersConfig { return g.cfg }

// FrameInterval is the time between pictures.
func (g *SynthLayers) FrameInterval() time.Duration { return time.Second / time.Duration(g.cfg.FPS) }

// IsKeyframe reports whether picture n of layer j was a key picture of the
// layer's regular schedule (ForceKeyframe adds others).
func (g *SynthLayers) IsKeyframe(n uint64) bool { return n%uint64(g.gopFrames) == 0 }

// ForceKeyframe makes layer j's next picture a key picture (the answer to
// a keyframe request).
func (g *SynthLayers) ForceKeyframe(j int) {
	if j >= 0 && j < len(g.layers) {
		g.layers[j].keyNext = true
	}
}

// PacketsOf is the packet count of a picture of layer j: key or not.
func (g *SynthLayers) PacketsOf(j int, key bool) int {
	if key {
		return g.layers[j].iSlices + 2
	}
	return g.layers[j].pSlices
}

// SPS and PPS return layer j's parameter sets as sent.
func (g *SynthLayers) SPS(j int) []byte { return g.layers[j].sps }
func (g *SynthLayers) PPS(j int) []byte { return g.layers[j].pps }

// Next returns the packets of layer j's next picture, built at now, with
// the marker bit on the last.
func (g *SynthLayers) Next(j int, now time.Time) []*rtp.Packet {
	l := &g.layers[j]
	key := l.keyNext || l.sinceKey >= g.gopFrames
	l.keyNext = false
	if key {
		l.sinceKey = 0
	}
	l.sinceKey++
	slices := l.pSlices
	if key {
		slices = l.iSlices
	}
	n := slices
	if key {
		n += 2
	}
	for len(l.pkts) < n {
		l.pkts = append(l.pkts, &rtp.Packet{})
		l.bufs = append(l.bufs, make([]byte, 0, g.cfg.MaxPayload))
	}
	k := 0
	emit := func(payload []byte) {
		p := l.pkts[k]
		p.Header = rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: l.seq, Timestamp: l.ts, Marker: k == n-1}
		p.Payload = payload
		l.seq++
		k++
	}
	if key {
		emit(append(l.bufs[0][:0], l.sps...))
		emit(append(l.bufs[1][:0], l.pps...))
	}
	for s := 0; s < slices; s++ {
		m := LayerMark{Layer: j, Frame: l.frame, Slice: s, Slices: slices, Key: key, SentAt: now}
		emit(g.slice(l.bufs[k][:0], m, l.sliceBytes))
	}
	l.frame++
	l.ts += uint32(90000 / g.cfg.FPS)
	return l.pkts[:n]
}

// slice writes one slice payload: NAL header, mark, then filler derived
// from the mark (7-bit bytes: never zero, no emulation prevention).
func (g *SynthLayers) slice(dst []byte, m LayerMark, size int) []byte {
	typ := byte(codec.H264TypeSlice)
	if m.Key {
		typ = codec.H264TypeIDR
	}
	dst = append(dst, typ|3<<5)
	var mark [layerMarkLen]byte
	putLayerMark(mark[:], m)
	dst = append(dst, mark[:]...)
	seed := byte(m.Layer*31) + byte(m.Frame*7) + byte(m.Slice*3)
	for i := 0; len(dst) < size; i++ {
		dst = append(dst, 0x80|(seed+byte(i))&0x7f)
	}
	return dst
}

// ExpectedPayload rebuilds the payload a slice with mark m carried, for a
// byte-for-byte comparison; ok is false for a layer the generator does not
// have.
func (g *SynthLayers) ExpectedPayload(m LayerMark) ([]byte, bool) {
	if m.Layer < 0 || m.Layer >= len(g.layers) {
		return nil, false
	}
	return g.slice(nil, m, g.layers[m.Layer].sliceBytes), true
}

// Matches reports whether payload is byte for byte what layer j sent: its
// SPS, its PPS, or one of its slices.
func (g *SynthLayers) Matches(j int, payload []byte) bool {
	if j < 0 || j >= len(g.layers) {
		return false
	}
	l := &g.layers[j]
	if bytes.Equal(payload, l.sps) || bytes.Equal(payload, l.pps) {
		return true
	}
	m, ok := ParseLayerMark(payload)
	if !ok || m.Layer != j {
		return false
	}
	want, _ := g.ExpectedPayload(m)
	return bytes.Equal(payload, want)
}

// LayerOf names the layer a payload came from (-1: none of them).
func (g *SynthLayers) LayerOf(payload []byte) int {
	if m, ok := ParseLayerMark(payload); ok {
		return m.Layer
	}
	for j := range g.layers {
		if bytes.Equal(payload, g.layers[j].sps) || bytes.Equal(payload, g.layers[j].pps) {
			return j
		}
	}
	return -1
}

// PaceSynthLayers sends every layer's next picture every frame interval,
// and a's packets every 20 ms (a may be nil), through p until ctx ends.
// With answerPLI a keyframe request for a layer's SSRC makes that layer's
// next picture a key picture, as a browser does; without, requests are
// ignored, as OBS and FFmpeg do. Write errors before the connection is up
// are ignored.
func PaceSynthLayers(ctx context.Context, p *Publisher, g *SynthLayers, a *SynthAudio, answerPLI bool) {
	vt := time.NewTicker(g.FrameInterval())
	defer vt.Stop()
	var at <-chan time.Time
	if a != nil {
		t := time.NewTicker(a.Interval())
		defer t.Stop()
		at = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-p.KeyframeRequests():
			if !answerPLI {
				continue
			}
			for j := range g.layers {
				if p.LayerSSRC(j) == req.MediaSSRC {
					g.ForceKeyframe(j)
				}
			}
		case <-vt.C:
			now := time.Now()
			for j := range g.layers {
				for _, pkt := range g.Next(j, now) {
					_ = p.WriteLayer(j, pkt)
				}
			}
		case <-at:
			_ = p.WriteRTP(webrtc.RTPCodecTypeAudio, a.Next(time.Now()))
		}
	}
}
