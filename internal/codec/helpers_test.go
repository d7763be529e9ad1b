package codec

import (
	"testing"

	"github.com/pion/rtp/codecs"
)

// testMTU is a typical WebRTC payload budget; frames in these tests are
// larger so that the payloaders have to fragment.
const testMTU = 1200

// filler returns n bytes of fake entropy-coded data. It contains no zero
// bytes, so it can never form an Annex-B start code or an emulation
// prevention sequence.
func filler(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i%255 + 1)
	}
	return b
}

// cat concatenates byte slices into a fresh slice.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// annexB frames NAL units with 4-byte start codes (H.264/H.265 Annex B), the
// form encoders hand to pion's payloaders.
func annexB(nalus ...[]byte) []byte {
	var out []byte
	for _, n := range nalus {
		out = append(out, 0, 0, 0, 1)
		out = append(out, n...)
	}
	return out
}

// H.264 Constrained Baseline 640x480 parameter sets in the shape x264 emits.
func nalH264SPS() []byte {
	return []byte{
		0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x3d, 0xa1, 0x00, 0x00,
		0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x8f, 0x16, 0x2e, 0x48,
	}
}

func nalH264PPS() []byte { return []byte{0x68, 0xce, 0x3c, 0x80} }

// nalH264IDR is an IDR slice (nal_ref_idc=3, type 5) larger than testMTU.
func nalH264IDR() []byte { return cat([]byte{0x65, 0x88, 0x84}, filler(3000)) }

// nalH264PSlice is a non-IDR slice (nal_ref_idc=2, type 1) larger than testMTU.
func nalH264PSlice() []byte { return cat([]byte{0x41, 0x9a}, filler(2500)) }

// H.265 Main profile parameter sets in the shape x265 emits (two-byte NAL
// headers 0x40 01 / 0x42 01 / 0x44 01).
func nalH265VPS() []byte {
	return []byte{
		0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03,
		0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x5d, 0x95, 0x98, 0x09,
	}
}

func nalH265SPS() []byte {
	return []byte{
		0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
		0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x5d, 0xa0, 0x02, 0x80, 0x80, 0x2d,
		0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x70, 0x80,
	}
}

func nalH265PPS() []byte { return []byte{0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40} }

// nalH265IDR is an IDR_W_RADL slice (type 19) larger than testMTU.
func nalH265IDR() []byte { return cat([]byte{0x26, 0x01, 0xaf}, filler(3000)) }

// nalH265Trail is a TRAIL_R slice (type 1) larger than testMTU.
func nalH265Trail() []byte { return cat([]byte{0x02, 0x01, 0xd0}, filler(2500)) }

// vp8Frame returns a VP8 frame whose 3-byte frame tag (RFC 6386 §9.1) marks
// it as a key frame or an inter frame; key frames carry the 9d 01 2a start
// code and 640x480 dimensions.
func vp8Frame(key bool) []byte {
	if key {
		return cat([]byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01}, filler(2500))
	}
	return cat([]byte{0x31, 0x10, 0x00}, filler(1500))
}

// vp9Frame returns a VP9 profile 0 frame whose uncompressed header (VP9
// bitstream spec §6.2) is complete enough for pion's non-flexible payloader,
// which parses it to decide the P bit and the scalability structure.
func vp9Frame(key bool) []byte {
	if key {
		// frame_marker=2, profile=0, show_existing_frame=0, frame_type=0
		// (KEY_FRAME), show_frame=1, error_resilient=0; sync code 49 83 42;
		// color_space=BT.601, color_range=0; width-1=639, height-1=479.
		return cat([]byte{0x82, 0x49, 0x83, 0x42, 0x20, 0x27, 0xf0, 0x1d, 0xf0}, filler(2500))
	}
	// Same with frame_type=1 (NON_KEY_FRAME).
	return cat([]byte{0x86}, filler(1500))
}

// AV1 OBUs (AV1 spec §5.3) with obu_has_size_field=1, as encoders emit them.
func av1TemporalUnit(key bool) []byte {
	td := []byte{0x12, 0x00}
	seq := []byte{0x0a, 0x0b, 0x00, 0x00, 0x00, 0x24, 0xc4, 0xff, 0xdf, 0x00, 0x68, 0x02, 0x10}
	// OBU_FRAME, 3000-byte payload (leb128 b8 17).
	frame := cat([]byte{0x32, 0xb8, 0x17}, filler(3000))
	if key {
		return cat(td, seq, frame)
	}
	return cat(td, frame)
}

// sample is one RTP payload together with the MIME type it belongs to.
type sample struct {
	name    string
	mime    string
	payload []byte
}

// payloaderSamples packetizes a refresh point and a delta frame for every
// video codec with pion's own payloaders, the packets a WHIP publisher using
// pion would send. The first packet of each frame comes first.
func payloaderSamples(tb testing.TB) map[string][][]byte {
	tb.Helper()
	out := map[string][][]byte{
		"h264/idr": (&codecs.H264Payloader{}).Payload(testMTU, annexB(nalH264SPS(), nalH264PPS(), nalH264IDR())),
		"h264/idr-no-stapa": (&codecs.H264Payloader{DisableStapA: true}).Payload(testMTU,
			annexB(nalH264SPS(), nalH264PPS(), nalH264IDR())),
		"h264/p":     (&codecs.H264Payloader{}).Payload(testMTU, annexB(nalH264PSlice())),
		"h265/idr":   (&codecs.H265Payloader{}).Payload(testMTU, annexB(nalH265VPS(), nalH265SPS(), nalH265PPS(), nalH265IDR())),
		"h265/trail": (&codecs.H265Payloader{}).Payload(testMTU, annexB(nalH265Trail())),
		"vp8/key":    (&codecs.VP8Payloader{}).Payload(testMTU, vp8Frame(true)),
		"vp8/key-pid": (&codecs.VP8Payloader{EnablePictureID: true}).Payload(testMTU,
			vp8Frame(true)),
		"vp8/inter": (&codecs.VP8Payloader{EnablePictureID: true}).Payload(testMTU, vp8Frame(false)),
		"vp9/key":   (&codecs.VP9Payloader{}).Payload(testMTU, vp9Frame(true)),
		"vp9/inter": (&codecs.VP9Payloader{}).Payload(testMTU, vp9Frame(false)),
		"vp9/key-flexible": (&codecs.VP9Payloader{FlexibleMode: true}).Payload(testMTU,
			vp9Frame(true)),
		"av1/key":   (&codecs.AV1Payloader{}).Payload(testMTU, av1TemporalUnit(true)),
		"av1/delta": (&codecs.AV1Payloader{}).Payload(testMTU, av1TemporalUnit(false)),
	}
	for name, pkts := range out {
		if len(pkts) < 2 {
			tb.Fatalf("%s: payloader produced %d packets, want a fragmented frame", name, len(pkts))
		}
	}
	return out
}

// packetize is a shortcut for one entry of payloaderSamples.
func packetize(tb testing.TB, name string) [][]byte {
	tb.Helper()
	pkts, ok := payloaderSamples(tb)[name]
	if !ok {
		tb.Fatalf("no payloader sample %q", name)
	}
	return pkts
}
