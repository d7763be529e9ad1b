package client

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
)

// The H.264 side of the synthetic media (synth.go): SynthVideo builds each
// picture with a real SPS, PPS and slice header, the mark and filler after
// it, and packetizes it in single NAL unit packets or FU-A fragments.

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
