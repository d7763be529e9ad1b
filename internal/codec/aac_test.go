package codec

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The configurations ffmpeg 5.1's RTP muxer announces (mpeg4-generic, with
// its trailing backward-compatible SBR signalling), plus HE-AAC forms.
func TestParseAudioSpecificConfig(t *testing.T) {
	for _, tc := range []struct {
		hex   string
		want  AACConfig
		perAU int
	}{
		{"118856E500", AACConfig{ObjectType: AACLC, SampleRate: 48000, Channels: 1, OutputRate: 48000, FrameLength: 1024}, 1024},
		{"1210", AACConfig{ObjectType: AACLC, SampleRate: 44100, Channels: 2, OutputRate: 44100, FrameLength: 1024}, 1024},
		{"1408", AACConfig{ObjectType: AACLC, SampleRate: 16000, Channels: 1, OutputRate: 16000, FrameLength: 1024}, 1024},
		{"159056E500", AACConfig{ObjectType: AACLC, SampleRate: 8000, Channels: 2, OutputRate: 8000, FrameLength: 1024}, 1024},
		{"1214", AACConfig{ObjectType: AACLC, SampleRate: 44100, Channels: 2, OutputRate: 44100, FrameLength: 960}, 960},
		// HE-AAC, explicit hierarchical signalling: AOT 5, core 24 kHz, SBR 48 kHz.
		{"2B118800", AACConfig{ObjectType: AACLC, SampleRate: 24000, Channels: 2, SBR: true, OutputRate: 48000, FrameLength: 1024}, 2048},
		// HE-AAC v2: AOT 29, mono core at 24 kHz, stereo out at 48 kHz.
		{"EB098800", AACConfig{ObjectType: AACLC, SampleRate: 24000, Channels: 2, SBR: true, PS: true, OutputRate: 48000, FrameLength: 1024}, 2048},
	} {
		got, err := ParseAudioSpecificConfig(mustHex(t, tc.hex))
		if err != nil {
			t.Errorf("%s: %v", tc.hex, err)
			continue
		}
		if got != tc.want || got.SamplesPerAU() != tc.perAU {
			t.Errorf("%s: got %+v (%d per AU), want %+v (%d)", tc.hex, got, got.SamplesPerAU(), tc.want, tc.perAU)
		}
	}
}

// A differential check against mediacommon's parser (what gortsplib uses to
// describe the track) for every rate and channel count cameras use.
func TestAudioSpecificConfigAgreesWithMediacommon(t *testing.T) {
	for _, rate := range []int{8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 96000, 37800} {
		for _, ch := range []int{1, 2, 6} {
			ref := mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: rate, ChannelCount: ch}
			b, err := ref.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseAudioSpecificConfig(b)
			if err != nil {
				t.Fatalf("%d Hz %d ch (% x): %v", rate, ch, b, err)
			}
			if got.SampleRate != rate || got.Channels != ch || got.ObjectType != AACLC {
				t.Errorf("%d Hz %d ch (% x): got %+v", rate, ch, b, got)
			}
		}
	}
}

func TestParseAudioSpecificConfigRefuses(t *testing.T) {
	for _, tc := range []struct{ name, hex string }{
		{"empty", ""},
		{"truncated", "12"},
		{"reserved rate index", "1690"},
		{"reserved channel configuration", "1240"},
		{"CELP", "4210"},
		{"escape object type", "F800"},
	} {
		b, _ := hex.DecodeString(stripSpaces(tc.hex))
		if _, err := ParseAudioSpecificConfig(b); !errors.Is(err, ErrAACConfig) {
			t.Errorf("%s (% x): err %v, want ErrAACConfig", tc.name, b, err)
		}
	}
}

func stripSpaces(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)) }

func TestParseFmtpConfig(t *testing.T) {
	got, err := ParseFmtpConfig("profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=118856E500")
	if err != nil || !bytes.Equal(got, mustHex(t, "118856E500")) {
		t.Fatalf("got % x, %v", got, err)
	}
	for _, bad := range []string{"mode=AAC-hbr", "config=12g0", "config=" + string(bytes.Repeat([]byte("00"), 300))} {
		if _, err := ParseFmtpConfig(bad); !errors.Is(err, ErrAACConfig) {
			t.Errorf("%.40q: err %v, want ErrAACConfig", bad, err)
		}
	}
}

func TestSplitAUsHBR(t *testing.T) {
	l, err := ParseAULayout("streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1210")
	if err != nil {
		t.Fatal(err)
	}
	// Two AUs of 3 and 2 bytes: AU-headers-length 32 bits, then the headers
	// (size<<3 | index), then the AUs.
	payload := []byte{0x00, 0x20, 0x00, 0x18, 0x00, 0x10, 1, 2, 3, 4, 5}
	aus, err := l.SplitAUs(payload, make([]AU, 0, 8))
	if err != nil {
		t.Fatal(err)
	}
	if len(aus) != 2 || !bytes.Equal(aus[0].Data, []byte{1, 2, 3}) || !bytes.Equal(aus[1].Data, []byte{4, 5}) {
		t.Fatalf("got %+v", aus)
	}
	// A fragment: one header declaring 10 bytes, 4 present.
	frag := []byte{0x00, 0x10, 0x00, 0x50, 9, 9, 9, 9}
	aus, err = l.SplitAUs(frag, aus)
	if err != nil || len(aus) != 1 || aus[0].Size != 10 || len(aus[0].Data) != 4 {
		t.Fatalf("fragment: %+v, %v", aus, err)
	}
	// Two headers whose sizes exceed the data: malformed, not a fragment.
	if _, err := l.SplitAUs([]byte{0x00, 0x20, 0x00, 0x18, 0x00, 0x50, 1, 2, 3}, aus); !errors.Is(err, ErrAUHeader) {
		t.Fatalf("overrun: %v", err)
	}
	// Header length beyond the payload.
	if _, err := l.SplitAUs([]byte{0xff, 0xff, 0}, aus); !errors.Is(err, ErrAUHeader) {
		t.Fatalf("long header: %v", err)
	}
	// More AUs than the caller has room for.
	if _, err := l.SplitAUs(payload, make([]AU, 0, 1)); !errors.Is(err, ErrAUHeader) {
		t.Fatalf("capacity: %v", err)
	}
}

func TestSplitAUsWithoutHeaders(t *testing.T) {
	l, err := ParseAULayout("mode=generic;constantsize=2")
	if err != nil {
		t.Fatal(err)
	}
	aus, err := l.SplitAUs([]byte{1, 2, 3, 4, 5, 6}, make([]AU, 0, 8))
	if err != nil || len(aus) != 3 {
		t.Fatalf("got %+v, %v", aus, err)
	}
	if _, err := ParseAULayout("mode=CELP-cbr"); !errors.Is(err, ErrAACConfig) {
		t.Errorf("CELP mode: %v", err)
	}
	if _, err := ParseAULayout("mode=AAC-hbr;sizelength=99"); !errors.Is(err, ErrAACConfig) {
		t.Errorf("sizelength=99: %v", err)
	}
}

func TestSplitAUsDoesNotAllocate(t *testing.T) {
	l, _ := ParseAULayout("mode=AAC-hbr")
	payload := []byte{0x00, 0x20, 0x00, 0x18, 0x00, 0x10, 1, 2, 3, 4, 5}
	buf := make([]AU, 0, 8)
	if n := testing.AllocsPerRun(100, func() { buf, _ = l.SplitAUs(payload, buf) }); n != 0 {
		t.Fatalf("%v allocations per payload", n)
	}
}

func TestParseStreamMuxConfig(t *testing.T) {
	for _, tc := range []struct {
		hex         string
		rate, chans int
		asc         string
	}{
		{"400023103fc0", 48000, 1, "1188"},
		{"400024203fc0", 44100, 2, "1210"},
		{"40002b103fc0", 8000, 1, "1588"},
	} {
		c, err := ParseStreamMuxConfig(mustHex(t, tc.hex))
		if err != nil {
			t.Fatalf("%s: %v", tc.hex, err)
		}
		if c.AAC.SampleRate != tc.rate || c.AAC.Channels != tc.chans || hex.EncodeToString(c.ASC) != tc.asc {
			t.Errorf("%s: %+v, ASC % x", tc.hex, c.AAC, c.ASC)
		}
	}
	for _, bad := range []string{"", "00", "c000", "4000231"} {
		b, _ := hex.DecodeString(bad)
		if _, err := ParseStreamMuxConfig(b); !errors.Is(err, ErrAACConfig) {
			t.Errorf("%q: %v, want ErrAACConfig", bad, err)
		}
	}
}

func TestLATMSplit(t *testing.T) {
	cfg, err := ParseStreamMuxConfig(mustHex(t, "400024203fc0"))
	if err != nil {
		t.Fatal(err)
	}
	var s LATMSplitter
	s.SetConfig(cfg)
	au := bytes.Repeat([]byte{0xab}, 300)
	// PayloadLengthInfo: 255 + 45, then the payload; two elements back to back.
	elem := append([]byte{255, 45}, au...)
	two := append(append([]byte(nil), elem...), elem...)
	got, err := s.Split(two, make([][]byte, 0, 8))
	if err != nil || len(got) != 2 || !bytes.Equal(got[0], au) || !bytes.Equal(got[1], au) {
		t.Fatalf("got %d AUs, %v", len(got), err)
	}
	if _, err := s.Split([]byte{255, 255, 1}, got); !errors.Is(err, ErrLATM) {
		t.Errorf("overrun: %v", err)
	}
	var none LATMSplitter
	if _, err := none.Split(elem, got); !errors.Is(err, ErrLATM) {
		t.Errorf("no config: %v", err)
	}
}

// cpresent=1: each element starts with useSameStreamMux and, when it is 0,
// a StreamMuxConfig, so the payload that follows is not byte aligned.
func TestLATMSplitInBand(t *testing.T) {
	smc := mustHex(t, "400024203fc0") // 44 bits of config, then 4 zero bits
	au := []byte{0x11, 0x22, 0x33}
	// Bit string: 0 (new config), the 44 config bits, 8-bit length 3, AU.
	var w bitWriter
	w.put(0, 1)
	r := bitReader{b: smc}
	for range 44 {
		w.put(r.u(1), 1)
	}
	w.put(3, 8)
	for _, b := range au {
		w.put(uint32(b), 8)
	}
	// A second element reusing the config: 1, length 1, one byte.
	w.align()
	w.put(1, 1)
	w.put(1, 8)
	w.put(0x44, 8)
	s := LATMSplitter{InBand: true}
	got, err := s.Split(w.bytes(), make([][]byte, 0, 4))
	if err != nil || len(got) != 2 || !bytes.Equal(got[0], au) || !bytes.Equal(got[1], []byte{0x44}) {
		t.Fatalf("got % x, %v", got, err)
	}
	c, ok, changed := s.Config()
	if !ok || !changed || c.AAC.SampleRate != 44100 || c.AAC.Channels != 2 {
		t.Fatalf("config %+v ok %v changed %v", c.AAC, ok, changed)
	}
	if _, _, changed := s.Config(); changed {
		t.Error("changed reported twice")
	}
}

type bitWriter struct {
	b   []byte
	pos int
}

func (w *bitWriter) put(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.pos%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 == 1 {
			w.b[len(w.b)-1] |= 0x80 >> uint(w.pos%8)
		}
		w.pos++
	}
}

func (w *bitWriter) align() { w.pos = (w.pos + 7) &^ 7 }

func (w *bitWriter) bytes() []byte { return w.b }
