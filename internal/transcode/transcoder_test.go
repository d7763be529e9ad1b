package transcode

import (
	"encoding/hex"
	"math"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/wishgate/wishgate/streams"
)

func aacCodec(t testing.TB, cfg mpeg4audio.AudioSpecificConfig) streams.Codec {
	t.Helper()
	asc, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return streams.Codec{MimeType: "audio/MPEG4-GENERIC", ClockRate: uint32(cfg.SampleRate), Channels: uint16(cfg.ChannelCount),
		Fmtp: "config=" + hex.EncodeToString(asc) + ";indexdeltalength=3;indexlength=3;mode=AAC-hbr;profile-level-id=1;sizelength=13;streamtype=5"}
}

// feedAAC sends the AUs as an RTSP camera does, one per packet.
func feedAAC(tc *Transcoder, aus [][]byte, ts0 uint32, emit func(uint32, []byte)) {
	for i, au := range aus {
		tc.Convert(rtpHeader(ts0+uint32(i*1024), uint16(i)), hbrPacket(au), emit)
	}
}

// The project's AAC-LC tone (48 kHz stereo) comes out as Opus that decodes
// to the same 1 kHz tone, one 20 ms packet per 960 ticks, and nothing
// is lost: as many samples leave as came in, less what waits for a frame.
func TestAACToneToOpus(t *testing.T) {
	requireTranscoder(t)
	aus, cfg := readADTS(t, testdataAudio("tone-1k-48k-stereo.aac"))
	tc, err := New(aacCodec(t, cfg), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	s := newSink(t, 2)
	const ts0 = 0xFFFF0000 // wraps during the test
	feedAAC(tc, aus, ts0, s.emit)
	if s.decErr > 0 || tc.Stats.DecodeError.Load() > 0 || tc.Stats.Malformed.Load() > 0 {
		t.Fatalf("errors: opus %d, aac %d, malformed %d", s.decErr, tc.Stats.DecodeError.Load(), tc.Stats.Malformed.Load())
	}
	wantPackets := len(aus) * 1024 / 960
	if n := len(s.ts); n < wantPackets-1 || n > wantPackets {
		t.Fatalf("%d Opus packets for %d AUs, want %d", n, len(aus), wantPackets)
	}
	for i := 1; i < len(s.ts); i++ {
		if d := s.ts[i] - s.ts[i-1]; d != 960 {
			t.Fatalf("packet %d: timestamp step %d, want 960", i, d)
		}
	}
	// The encoder's lookahead is taken out of the timestamps, so the
	// first packet is stamped before the first AAC sample by exactly it.
	if want := uint32(ts0) - uint32(tc.delay); s.first != want || tc.delay <= 0 {
		t.Fatalf("first timestamp %d, want %d (lookahead %d)", s.first, want, tc.delay)
	}
	if f := frequency(s.pcm[4800 : len(s.pcm)-4800]); math.Abs(f-1000) > 5 {
		t.Fatalf("decoded tone at %.1f Hz, want 1000", f)
	}
	if tc.CPU() <= 0 {
		t.Fatal("no CPU time accounted")
	}
	// RTPTime maps a source timestamp to the output's: for a 48 kHz
	// source, the same number.
	if got, ok := tc.RTPTime(ts0 + 48000); !ok || got != ts0+48000 {
		t.Fatalf("RTPTime = %d, %v", got, ok)
	}
}

// The beeps file (44.1 kHz mono, a beep at each whole second) lands at the
// right output timestamps: the lookahead and resampling are compensated
// to within a millisecond (the AAC encoder's 1024 samples of priming are
// part of the source's timeline, as on the wire).
func TestAACTimingThroughResampling(t *testing.T) {
	requireTranscoder(t)
	aus, cfg := readADTS(t, testdataAudio("beeps-44k-mono.aac"))
	tc, err := New(aacCodec(t, cfg), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if tc.src.outChannels() != 1 {
		t.Fatalf("mono source encoded with %d channels", tc.src.outChannels())
	}
	s := newSink(t, 1)
	const ts0 = 123456
	feedAAC(tc, aus, ts0, s.emit)
	for sec := 1; sec <= 2; sec++ {
		// Where the beep is in the source: priming, then sec seconds.
		srcTS := int64(ts0) + 1024 + int64(sec)*44100
		at := onset(s.pcm, int(int64(sec)*48000-4800))
		if at < 0 {
			t.Fatalf("beep %d not found", sec)
		}
		got := int64(s.first) + int64(at) // output timestamp of the onset
		want, _ := tc.RTPTime(uint32(srcTS))
		if d := got - int64(want); math.Abs(float64(d)) > 48 {
			t.Errorf("beep %d at output timestamp %d, want %d (%+.2f ms)", sec, got, want, float64(d)/48)
		}
	}
}

// Every rate and channel count cameras use, in AAC-LC, decodes to the tone.
func TestAACRates(t *testing.T) {
	requireTranscoder(t)
	for _, tc := range []struct{ rate, ch int }{{8000, 1}, {16000, 1}, {22050, 2}, {32000, 1}, {44100, 2}, {48000, 1}} {
		path := encodeADTS(t, "sine=frequency=440:duration=1", tc.rate, tc.ch)
		aus, cfg := readADTS(t, path)
		tr, err := New(aacCodec(t, cfg), DefaultOptions())
		if err != nil {
			t.Fatalf("%d Hz %d ch: %v", tc.rate, tc.ch, err)
		}
		s := newSink(t, tr.src.outChannels())
		feedAAC(tr, aus, 0, s.emit)
		tr.Close()
		want := len(aus) * 1024 * 48000 / tc.rate / 960
		if n := len(s.ts); n < want-2 || n > want {
			t.Errorf("%d Hz %d ch: %d packets, want %d", tc.rate, tc.ch, n, want)
		}
		if f := frequency(s.pcm[4800 : len(s.pcm)-4800]); math.Abs(f-440) > 5 {
			t.Errorf("%d Hz %d ch: tone at %.1f Hz, want 440", tc.rate, tc.ch, f)
		}
	}
}

// A lost packet becomes silence and keeps the timeline; a jump restarts
// it at the new position; a reordered duplicate is ignored as jitter.
func TestAACGapsAndJumps(t *testing.T) {
	requireTranscoder(t)
	aus, cfg := readADTS(t, testdataAudio("tone-1k-48k-stereo.aac"))
	tc, err := New(aacCodec(t, cfg), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	s := newSink(t, 2)
	for i, au := range aus[:40] {
		if i == 20 || i == 21 {
			continue // lost
		}
		tc.Convert(rtpHeader(uint32(i*1024), uint16(i)), hbrPacket(au), s.emit)
	}
	if tc.Stats.Gaps.Load() != 1 || tc.Stats.Resets.Load() != 0 {
		t.Fatalf("gaps %d resets %d, want 1 and 0", tc.Stats.Gaps.Load(), tc.Stats.Resets.Load())
	}
	for i := 1; i < len(s.ts); i++ {
		if s.ts[i]-s.ts[i-1] != 960 {
			t.Fatalf("timeline broken at %d: %d -> %d", i, s.ts[i-1], s.ts[i])
		}
	}
	// 10 s later (a camera that stalled): a new timeline from there.
	n := len(s.ts)
	jump := uint32(40*1024 + 480000)
	for i, au := range aus[40:60] {
		tc.Convert(rtpHeader(jump+uint32(i*1024), uint16(100+i)), hbrPacket(au), s.emit)
	}
	if tc.Stats.Resets.Load() != 1 {
		t.Fatalf("resets %d, want 1", tc.Stats.Resets.Load())
	}
	if got, want := s.ts[n], jump-uint32(tc.delay); got != want {
		t.Fatalf("after the jump: timestamp %d, want %d", got, want)
	}
}

func TestMalformedAACIsCounted(t *testing.T) {
	requireTranscoder(t)
	_, cfg := readADTS(t, testdataAudio("tone-1k-48k-stereo.aac"))
	tc, err := New(aacCodec(t, cfg), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	s := newSink(t, 2)
	tc.Convert(rtpHeader(0, 0), []byte{0xff, 0xff, 1}, s.emit)
	tc.Convert(rtpHeader(1024, 1), hbrPacket([]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3}), s.emit)
	if tc.Stats.Malformed.Load() != 1 || tc.Stats.DecodeError.Load() != 1 {
		t.Fatalf("malformed %d, decode errors %d; want 1 and 1", tc.Stats.Malformed.Load(), tc.Stats.DecodeError.Load())
	}
}

// The delay the transcoder adds, deterministically: each AU arrives when
// it is complete (its last sample captured), as from a camera; an Opus
// packet leaves while the AU that completes it is converted. Its lateness
// is when it leaves minus the capture instant of its first sample (its
// timestamp: the lookahead is already out of it). The original AAC's
// lateness is one AU; the Opus track's may be at most 40 ms more.
func TestAddedDelay(t *testing.T) {
	requireTranscoder(t)
	aus, cfg := readADTS(t, testdataAudio("tone-1k-48k-stereo.aac"))
	tc, err := New(aacCodec(t, cfg), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	const ts0 = 480000
	var now int64 // the current AU's arrival, in samples
	worst, sum, n := int64(0), int64(0), 0
	emit := func(ts uint32, _ []byte) {
		late := now - int64(ts)
		worst = max(worst, late)
		sum += late
		n++
	}
	for i, au := range aus {
		now = ts0 + int64(i+1)*1024
		tc.Convert(rtpHeader(uint32(ts0+i*1024), uint16(i)), hbrPacket(au), emit)
	}
	added := float64(worst-1024) / 48 // ms
	t.Logf("Opus lateness: mean %.1f ms, worst %.1f ms; AAC's own 21.3 ms; added at worst %.1f ms",
		float64(sum)/float64(n)/48, float64(worst)/48, added)
	if added > 40 || added < 6.5 {
		t.Fatalf("added delay %.1f ms, want ≤ 40 ms (and at least the 6.5 ms lookahead)", added)
	}
}
