package client

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/codec"
)

// Synthetic media for load tests: H.264 access units with real SPS, PPS, IDR
// and non-IDR slice NAL units (parsers and keyframe detectors see a real
// stream) at a chosen bitrate, frame rate and GOP, and Opus-sized audio
// packets. Every picture and audio packet carries a SynthMark: a magic, the
// frame counter, the send time (UnixNano of this machine's clock) and, for
// video, the number of RTP packets of the picture, so a receiver on the same
// machine measures one-way latency and checks that each picture arrived
// whole.

// SynthConfig shapes the synthetic stream. Zero fields take the defaults of
// the performance brief: 2.5 Mbit/s, 30 fps, a keyframe every 2 s, 1200-byte
// payloads, 1280x720 in the SPS, 20 ms Opus packets at 64 kbit/s.
type SynthConfig struct {
	Bitrate      int // video bits per second
	FPS          int
	GOP          time.Duration
	MaxPayload   int // RTP payload bytes, FU-A header included
	Width        int
	Height       int
	AudioBitrate int
}

func (c SynthConfig) withDefaults() SynthConfig {
	if c.Bitrate <= 0 {
		c.Bitrate = 2_500_000
	}
	if c.FPS <= 0 {
		c.FPS = 30
	}
	if c.GOP <= 0 {
		c.GOP = 2 * time.Second
	}
	if c.MaxPayload < 100 {
		c.MaxPayload = 1200
	}
	if c.Width <= 0 || c.Height <= 0 {
		c.Width, c.Height = 1280, 720
	}
	if c.AudioBitrate <= 0 {
		c.AudioBitrate = 64_000
	}
	return c
}

// synthMagic opens every mark; it contains no zero byte.
var synthMagic = [4]byte{'W', 'G', 's', 'y'}

// The mark's numbers are written 7 bits per byte with the high bit set, so no
// byte of a mark is zero: H.264 emulation prevention (escapeRBSP) never
// touches it, and the slice's size in packets is known before escaping.
const (
	markFrameBytes = 8 // 56 bits
	markTimeBytes  = 9 // 63 bits of UnixNano
	markCountBytes = 2 // 14 bits
	synthMarkLen   = 4 + markFrameBytes + markTimeBytes + markCountBytes
)

// SynthMark is what a synthetic picture or audio packet says about itself.
type SynthMark struct {
	Frame   uint64    // counter from 0, per medium
	SentAt  time.Time // when the sender built it
	Packets int       // RTP packets of the picture's slice (video), 1 for audio
}

func put7(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = 0x80 | byte(v&0x7f)
		v >>= 7
	}
}

func get7(src []byte) (uint64, bool) {
	var v uint64
	for _, b := range src {
		if b&0x80 == 0 {
			return 0, false
		}
		v = v<<7 | uint64(b&0x7f)
	}
	return v, true
}

func putMark(dst []byte, m SynthMark) {
	copy(dst, synthMagic[:])
	put7(dst[4:4+markFrameBytes], m.Frame)
	put7(dst[4+markFrameBytes:4+markFrameBytes+markTimeBytes], uint64(m.SentAt.UnixNano()))
	put7(dst[4+markFrameBytes+markTimeBytes:synthMarkLen], uint64(m.Packets))
}

// synthPackets is how many packets a NAL unit of n bytes takes: one if it
// fits in maxPayload, else FU-A fragments of maxPayload-2 bytes of its body.
func synthPackets(n, maxPayload int) int {
	if n <= maxPayload {
		return 1
	}
	return (n - 1 + maxPayload - 3) / (maxPayload - 2)
}

func readMark(b []byte) (SynthMark, bool) {
	if len(b) < synthMarkLen || [4]byte(b[:4]) != synthMagic {
		return SynthMark{}, false
	}
	frame, ok1 := get7(b[4 : 4+markFrameBytes])
	sent, ok2 := get7(b[4+markFrameBytes : 4+markFrameBytes+markTimeBytes])
	n, ok3 := get7(b[4+markFrameBytes+markTimeBytes : synthMarkLen])
	if !ok1 || !ok2 || !ok3 {
		return SynthMark{}, false
	}
	return SynthMark{Frame: frame, SentAt: time.Unix(0, int64(sent)), Packets: int(n)}, true
}

// SynthVideo generates the H.264 pictures. Not safe for concurrent use; the
// packets it returns are reused by the next call.
type SynthVideo struct {
	cfg       SynthConfig
	sps, pps  []byte
	gopFrames int
	iBytes    int // IDR slice size
	pBytes    int // non-IDR slice size
	frame     uint64
	gopIdx    int         // picture index within the current GOP
	force     atomic.Bool // ForceKeyframe: the next picture is an IDR
	lastIDR   bool
	idrs      uint64
	seq       uint16
	ts        uint32

	pkts  []*rtp.Packet
	rbsp  []byte
	nal   []byte
	slots [][]byte // payload buffers, reused
}

// NewSynthVideo builds a generator. A keyframe is four times a P-frame, the
// usual ratio at this bitrate, and the sizes average to the bitrate.
func NewSynthVideo(cfg SynthConfig) *SynthVideo {
	cfg = cfg.withDefaults()
	v := &SynthVideo{cfg: cfg}
	v.gopFrames = max(1, int(cfg.GOP.Seconds()*float64(cfg.FPS)+0.5))
	perGOP := float64(cfg.Bitrate) / 8 * float64(v.gopFrames) / float64(cfg.FPS)
	v.pBytes = max(synthMarkLen+16, int(perGOP/float64(v.gopFrames+3)))
	v.iBytes = 4 * v.pBytes
	v.sps = escapeRBSP(v.spsRBSP())
	v.pps = escapeRBSP(ppsRBSP())
	return v
}

// Config returns the effective configuration.
func (v *SynthVideo) Config() SynthConfig { return v.cfg }

// FrameInterval is the time between pictures.
func (v *SynthVideo) FrameInterval() time.Duration { return time.Second / time.Duration(v.cfg.FPS) }

// spsRBSP: Constrained Baseline level 3.1 (profile-level-id 42e01f),
// frame_num in 4 bits, POC type 2 (display order = decode order, no B
// frames), one reference frame (H.264 §7.3.2.1.1).
func (v *SynthVideo) spsRBSP() []byte {
	w := &bitWriter{}
	w.bits(codec.H264TypeSPS|3<<5, 8)
	w.bits(66, 8)   // profile_idc: Baseline
	w.bits(0xe0, 8) // constraint_set0..2: Constrained Baseline
	w.bits(31, 8)   // level_idc 3.1
	w.ue(0)         // seq_parameter_set_id
	w.ue(0)         // log2_max_frame_num_minus4
	w.ue(2)         // pic_order_cnt_type
	w.ue(1)         // max_num_ref_frames
	w.bit(0)        // gaps_in_frame_num_value_allowed_flag
	w.ue(uint64((v.cfg.Width+15)/16 - 1))
	w.ue(uint64((v.cfg.Height+15)/16 - 1))
	w.bit(1) // frame_mbs_only_flag
	w.bit(1) // direct_8x8_inference_flag
	// A size that is not a multiple of 16 (320x180) is cropped from the
	// macroblock grid, right and bottom, in units of 2 luma samples (4:2:0).
	cropX, cropY := (-v.cfg.Width&15)/2, (-v.cfg.Height&15)/2
	if cropX == 0 && cropY == 0 {
		w.bit(0) // frame_cropping_flag
	} else {
		w.bit(1)
		w.ue(0)
		w.ue(uint64(cropX))
		w.ue(0)
		w.ue(uint64(cropY))
	}
	w.bit(0) // vui_parameters_present_flag
	w.trailing()
	return w.buf
}

// ppsRBSP: CAVLC, one slice group, no deblocking control (H.264 §7.3.2.2).
func ppsRBSP() []byte {
	w := &bitWriter{}
	w.bits(codec.H264TypePPS|3<<5, 8)
	w.ue(0)      // pic_parameter_set_id
	w.ue(0)      // seq_parameter_set_id
	w.bit(0)     // entropy_coding_mode_flag
	w.bit(0)     // bottom_field_pic_order_in_frame_present_flag
	w.ue(0)      // num_slice_groups_minus1
	w.ue(0)      // num_ref_idx_l0_default_active_minus1
	w.ue(0)      // num_ref_idx_l1_default_active_minus1
	w.bit(0)     // weighted_pred_flag
	w.bits(0, 2) // weighted_bipred_idc
	w.se(0)      // pic_init_qp_minus26
	w.se(0)      // pic_init_qs_minus26
	w.se(0)      // chroma_qp_index_offset
	w.bit(0)     // deblocking_filter_control_present_flag
	w.bit(0)     // constrained_intra_pred_flag
	w.bit(0)     // redundant_pic_cnt_present_flag
	w.trailing()
	return w.buf
}

// sliceRBSP writes one slice NAL unit: a real slice header (§7.3.3), then,
// byte aligned, the mark and filler up to size bytes in place of macroblock
// data.
func (v *SynthVideo) sliceRBSP(idr bool, frameNum int, size int, m SynthMark) []byte {
	w := &bitWriter{buf: v.rbsp[:0]}
	typ := uint64(codec.H264TypeSlice)
	if idr {
		typ = codec.H264TypeIDR
	}
	w.bits(typ|3<<5, 8)
	w.ue(0) // first_mb_in_slice
	if idr {
		w.ue(7) // slice_type: I, all slices of the picture
	} else {
		w.ue(5) // slice_type: P
	}
	w.ue(0)                        // pic_parameter_set_id
	w.bits(uint64(frameNum&15), 4) // frame_num, log2_max_frame_num = 4
	if idr {
		w.ue(v.idrs & 0xffff) // idr_pic_id
	} else {
		w.bit(0) // num_ref_idx_active_override_flag
		w.bit(0) // ref_pic_list_modification_flag_l0
	}
	if idr {
		w.bit(0) // no_output_of_prior_pics_flag
		w.bit(0) // long_term_reference_flag
	} else {
		w.bit(0) // adaptive_ref_pic_marking_mode_flag
	}
	w.se(0) // slice_qp_delta
	w.bit(1)
	w.align()
	var mark [synthMarkLen]byte
	putMark(mark[:], m)
	w.buf = append(w.buf, mark[:]...)
	for i := 0; len(w.buf) < size; i++ {
		w.buf = append(w.buf, byte(0x80|i)) // never zero: no escaping needed
	}
	v.rbsp = w.buf
	return w.buf
}

// Next returns the RTP packets of the next picture, built now, with
// sequence numbers, timestamps (90 kHz) and the marker on the last packet.
// A keyframe is SPS, PPS and the IDR slice, each in its own packet(s), as
// libwebrtc and OBS send them.
func (v *SynthVideo) Next(now time.Time) []*rtp.Packet {
	if v.force.Swap(false) {
		v.gopIdx = 0 // a forced keyframe restarts the GOP schedule, as encoders do
	}
	idx := v.gopIdx
	idr := idx == 0
	v.lastIDR = idr
	v.gopIdx = (v.gopIdx + 1) % v.gopFrames
	size := v.pBytes
	if idr {
		size = v.iBytes
	}
	// The mark's bytes are never zero, so escaping does not depend on the
	// packet count written into it: escape once to count, then for real.
	mark := SynthMark{Frame: v.frame, SentAt: now}
	n := len(escapeRBSP(v.sliceRBSP(idr, idx, size, mark)))
	mark.Packets = synthPackets(n, v.cfg.MaxPayload)
	v.nal = append(v.nal[:0], escapeRBSP(v.sliceRBSP(idr, idx, size, mark))...)
	var payloads [][]byte
	slot := 0
	take := func() []byte {
		for slot >= len(v.slots) {
			v.slots = append(v.slots, make([]byte, 0, v.cfg.MaxPayload))
		}
		b := v.slots[slot][:0]
		slot++
		return b
	}
	if idr {
		payloads = append(payloads, append(take(), v.sps...), append(take(), v.pps...))
	}
	chunk := v.cfg.MaxPayload - 2
	if len(v.nal) <= v.cfg.MaxPayload {
		payloads = append(payloads, append(take(), v.nal...))
	} else {
		// FU-A (RFC 6184 §5.8): indicator keeps NRI, header keeps the type.
		hdr := v.nal[0]
		body := v.nal[1:]
		for off := 0; off < len(body); off += chunk {
			end := min(off+chunk, len(body))
			h := hdr & 0x1f
			if off == 0 {
				h |= 0x80 // start
			}
			if end == len(body) {
				h |= 0x40 // end
			}
			payloads = append(payloads, append(append(take(), hdr&0xe0|codec.H264TypeFUA, h), body[off:end]...))
		}
	}
	for len(v.pkts) < len(payloads) {
		v.pkts = append(v.pkts, &rtp.Packet{})
	}
	v.pkts = v.pkts[:len(payloads)]
	for i, p := range payloads {
		v.pkts[i].Header = rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: v.seq,
			Timestamp: v.ts, Marker: i == len(payloads)-1}
		v.pkts[i].Payload = p
		v.seq++
	}
	v.frame++
	if idr {
		v.idrs++
	}
	v.ts += uint32(90000 / v.cfg.FPS)
	return v.pkts
}

// Frame is the number of the next picture Next builds.
func (v *SynthVideo) Frame() uint64 { return v.frame }

// IsKeyframe reports whether frame n of this generator is an IDR on its
// schedule (ForceKeyframe adds more).
func (v *SynthVideo) IsKeyframe(n uint64) bool { return n%uint64(v.gopFrames) == 0 }

// ForceKeyframe makes the next picture an IDR, as an encoder answering a
// PLI does. Safe to call from any goroutine.
func (v *SynthVideo) ForceKeyframe() { v.force.Store(true) }

// WasKeyframe reports whether the picture Next returned last is an IDR.
func (v *SynthVideo) WasKeyframe() bool { return v.lastIDR }

// SynthAudio generates 20 ms Opus-sized packets (48 kHz clock). The first
// byte is a valid Opus TOC (CELT fullband 20 ms, stereo, one frame, RFC 6716
// §3.1); the rest is the mark and filler, not decodable audio.
type SynthAudio struct {
	size  int
	frame uint64
	seq   uint16
	ts    uint32
	pkt   rtp.Packet
	buf   []byte
}

// NewSynthAudio builds an audio generator for cfg.AudioBitrate.
func NewSynthAudio(cfg SynthConfig) *SynthAudio {
	cfg = cfg.withDefaults()
	size := max(1+synthMarkLen, cfg.AudioBitrate/8/50)
	return &SynthAudio{size: size, buf: make([]byte, size)}
}

// Frame is the number of the next packet Next builds.
func (a *SynthAudio) Frame() uint64 { return a.frame }

// Interval is the packet duration.
func (a *SynthAudio) Interval() time.Duration { return 20 * time.Millisecond }

// Next returns the next packet; it is reused by the next call.
func (a *SynthAudio) Next(now time.Time) *rtp.Packet {
	a.buf[0] = 31<<3 | 1<<2 // TOC: config 31 (CELT FB 20 ms), stereo, code 0
	putMark(a.buf[1:], SynthMark{Frame: a.frame, SentAt: now, Packets: 1})
	for i := 1 + synthMarkLen; i < len(a.buf); i++ {
		a.buf[i] = byte(i)
	}
	a.pkt.Header = rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: a.seq, Timestamp: a.ts, Marker: a.frame == 0}
	a.pkt.Payload = a.buf
	a.frame++
	a.seq++
	a.ts += 960
	return &a.pkt
}

// ErrNotSynth: the payload carries no synthetic mark.
var ErrNotSynth = errors.New("client: not a synthetic packet")

// ParseSynthAudio returns the mark of a synthetic audio payload.
func ParseSynthAudio(payload []byte) (SynthMark, error) {
	if len(payload) < 1 {
		return SynthMark{}, ErrNotSynth
	}
	m, ok := readMark(payload[1:])
	if !ok {
		return SynthMark{}, ErrNotSynth
	}
	return m, nil
}

// SynthSent reports one picture or audio packet handed to the publisher.
type SynthSent struct {
	Kind     webrtc.RTPCodecType
	Frame    uint64
	Keyframe bool
	Packets  int
	At       time.Time
}

// PaceSynth sends v's pictures every frame interval and a's packets every
// 20 ms through p until ctx ends (either generator may be nil). onSent, if
// set, is called after each send on this goroutine. Write errors before the
// connection is up are ignored, as the publisher drops those packets.
func PaceSynth(ctx context.Context, p *Publisher, v *SynthVideo, a *SynthAudio, onSent func(SynthSent)) {
	var vt, at <-chan time.Time
	if v != nil {
		t := time.NewTicker(v.FrameInterval())
		defer t.Stop()
		vt = t.C
	}
	if a != nil {
		t := time.NewTicker(a.Interval())
		defer t.Stop()
		at = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-vt:
			now := time.Now()
			frame := v.frame
			pkts := v.Next(now)
			kf := v.WasKeyframe()
			for _, pkt := range pkts {
				_ = p.WriteRTP(webrtc.RTPCodecTypeVideo, pkt)
			}
			if onSent != nil {
				onSent(SynthSent{Kind: webrtc.RTPCodecTypeVideo, Frame: frame, Keyframe: kf, Packets: len(pkts), At: now})
			}
		case <-at:
			now := time.Now()
			frame := a.frame
			_ = p.WriteRTP(webrtc.RTPCodecTypeAudio, a.Next(now))
			if onSent != nil {
				onSent(SynthSent{Kind: webrtc.RTPCodecTypeAudio, Frame: frame, Packets: 1, At: now})
			}
		}
	}
}
