package transcode

import "testing"

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
