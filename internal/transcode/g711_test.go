package transcode

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Reference points of G.711 (ITU-T G.711 tables 2a/2b; the values every
// implementation, e.g. Sun's g711.c, produces).
func TestG711Tables(t *testing.T) {
	u, a := ulawTable(), alawTable()
	for _, tc := range []struct {
		in   byte
		want int16
		law  *[256]int16
		name string
	}{
		{0xFF, 0, u, "µ-law 0xFF"}, {0x7F, 0, u, "µ-law 0x7F"},
		{0x80, 32124, u, "µ-law 0x80"}, {0x00, -32124, u, "µ-law 0x00"},
		{0xEF, 132, u, "µ-law 0xEF"},
		{0xD5, 8, a, "A-law 0xD5"}, {0x55, -8, a, "A-law 0x55"},
		{0xAA, 32256, a, "A-law 0xAA"}, {0x2A, -32256, a, "A-law 0x2A"},
	} {
		if got := tc.law[tc.in]; got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, got, tc.want)
		}
	}
	// Monotonic within each sign half: a larger code is a larger magnitude.
	for i := 0x80; i < 0xFF; i++ {
		if u[i] < u[i+1] {
			t.Fatalf("µ-law not monotonic at %#x: %d < %d", i, u[i], u[i+1])
		}
	}
}

// Every one of the 256 codes of each law expands to what FFmpeg's own
// pcm_mulaw/pcm_alaw decoders give it.
func TestG711MatchesFFmpeg(t *testing.T) {
	ff := requireFFmpeg(t)
	dir := t.TempDir()
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	in := filepath.Join(dir, "codes.raw")
	if err := os.WriteFile(in, codes, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, law := range []struct {
		format string
		table  *[256]int16
	}{{"mulaw", ulawTable()}, {"alaw", alawTable()}} {
		out := filepath.Join(dir, law.format+".s16")
		cmd := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-f", law.format, "-ar", "8000", "-ac", "1", "-i", in,
			"-f", "s16le", "-y", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 512 {
			t.Fatalf("%s: ffmpeg decoded %d bytes, want 512", law.format, len(b))
		}
		for i := range 256 {
			if want := int16(binary.LittleEndian.Uint16(b[2*i:])); law.table[i] != want {
				t.Errorf("%s code %#02x = %d, FFmpeg says %d", law.format, i, law.table[i], want)
			}
		}
	}
}
