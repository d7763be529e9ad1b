package transcode

import (
	"encoding/hex"
	"math"
	"testing"

	"github.com/wishgate/wishgate/streams"
)

// heASC is an explicitly signalled HE-AAC AudioSpecificConfig (ISO/IEC
// 14496-3 §1.6.2.1): object type 5 (SBR) or 29 (SBR+PS), the core's
// rate index and channels, the SBR rate index, then an AAC-LC core.
func heASC(aot, coreRateIdx, channels, sbrRateIdx uint64) []byte {
	var w bits
	w.put(aot, 5)
	w.put(coreRateIdx, 4)
	w.put(channels, 4)
	w.put(sbrRateIdx, 4)
	w.put(2, 5) // AAC-LC core
	w.put(0, 3) // GASpecificConfig: 1024 samples, no core coder, no extension
	return w.b
}

// HE-AAC as cameras signal it, explicitly (object type 5, v1; 29, v2 with
// parametric stereo on a mono core) or implicitly (an AAC-LC configuration
// at the core rate, the SBR data found in-band by the decoder): the Opus
// track carries the tone on the source's timeline, whatever rate the
// decoder outputs (explicit: the SBR rate, 2048 samples per access unit).
// The AUs are AAC-LC at 24 kHz (FFmpeg has no HE-AAC encoder), so they
// carry no SBR data: with an explicit configuration the decoder still runs
// its SBR filter banks and outputs 48 kHz, the HE-AAC path of the decoder
// and of this package's timeline; real SBR content is left to FFmpeg's
// own tests of its decoder.
func TestHEAACToOpus(t *testing.T) {
	requireTranscoder(t)
	stereo := encodeADTS(t, "sine=frequency=440:duration=2", 24000, 2)
	mono := encodeADTS(t, "sine=frequency=440:duration=2", 24000, 1)
	const rate24k, rate48k = 6, 3
	for _, tc := range []struct {
		name     string
		path     string
		asc      []byte
		channels uint16
		outCh    int
	}{
		{"HE-AAC v1 stereo", stereo, heASC(5, rate24k, 2, rate48k), 2, 2},
		{"HE-AAC v2 (PS) on a mono core", mono, heASC(29, rate24k, 1, rate48k), 2, 2},
		{"implicit: AAC-LC 24 kHz stereo", stereo, []byte{0x13, 0x10}, 2, 2},
	} {
		aus, _ := readADTS(t, tc.path)
		// The RTP clock of mpeg4-generic is the core rate (RFC 3640 §3.3.1
		// leaves it to the configuration; cameras use the core's).
		c := streams.Codec{MimeType: "audio/MPEG4-GENERIC", ClockRate: 24000, Channels: tc.channels,
			Fmtp: "config=" + hex.EncodeToString(tc.asc) + ";indexdeltalength=3;indexlength=3;mode=AAC-hbr;sizelength=13;streamtype=5"}
		tr, err := New(c, DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tr.src.outChannels() != tc.outCh {
			t.Errorf("%s: Opus with %d channels, want %d", tc.name, tr.src.outChannels(), tc.outCh)
		}
		s := newSink(t, tr.src.outChannels())
		for i, au := range aus {
			tr.Convert(rtpHeader(uint32(i*1024), uint16(i)), hbrPacket(au), s.emit)
		}
		tr.Close()
		if tr.Stats.DecodeError.Load() > 0 || tr.Stats.Malformed.Load() > 0 || s.decErr > 0 {
			t.Errorf("%s: decode errors %d, malformed %d, Opus errors %d", tc.name,
				tr.Stats.DecodeError.Load(), tr.Stats.Malformed.Load(), s.decErr)
		}
		// An AU is 1024 core samples at 24 kHz: 2048 at 48 kHz.
		want := len(aus) * 2048 / 960
		if n := len(s.ts); n < want-3 || n > want {
			t.Errorf("%s: %d Opus packets for %d AUs, want about %d", tc.name, n, len(aus), want)
		}
		if len(s.pcm) < 3*4800 {
			t.Fatalf("%s: %d samples decoded", tc.name, len(s.pcm))
		}
		if f := frequency(s.pcm[4800 : len(s.pcm)-4800]); math.Abs(f-440) > 5 {
			t.Errorf("%s: tone at %.1f Hz, want 440", tc.name, f)
		}
		// The timeline follows the source's clock: an AU is 1024 ticks
		// of 24 kHz, 2048 of the Opus clock.
		if got, ok := tr.RTPTime(24000); !ok || got != s.first+uint32(tr.delay)+48000 {
			t.Errorf("%s: RTPTime(1 s) = %d, %v; want %d", tc.name, got, ok, s.first+uint32(tr.delay)+48000)
		}
	}
}
