package codec

import (
	"errors"
	"strings"
	"testing"
)

func TestBrowserDecodable(t *testing.T) {
	for _, c := range []struct {
		mime, fmtp string
		ok         bool
		name       string
	}{
		{"video/H264", "packetization-mode=1;profile-level-id=42e01f", true, "Constrained Baseline"},
		{"video/H264", "profile-level-id=42001f", true, "Baseline"},
		{"video/H264", "profile-level-id=4d001f", true, "Main"},
		{"video/H264", "profile-level-id=64001f", true, "High"},
		{"video/H264", "profile-level-id=640c1f", true, "Constrained High"},
		{"video/H264", "profile-level-id=58a01e", true, "Extended"}, // constraint_set0: Baseline-compatible
		{"video/H264", "packetization-mode=1;profile-level-id=f4001f", false, "High 4:4:4 Predictive"},
		{"video/H264", "profile-level-id=6e001f", false, "High 10"},
		{"video/H264", "profile-level-id=6e101f", false, "High 10 Intra"},
		{"video/H264", "profile-level-id=7a001f", false, "High 4:2:2"},
		{"video/H264", "profile-level-id=2c001f", false, "CAVLC 4:4:4 Intra"},
		{"video/H264", "profile-level-id=58001e", false, "Extended"},
		{"video/H264", "packetization-mode=1", true, ""}, // unnamed: the SPS decides
		{"video/H264", "profile-level-id=zz", true, ""},
		{"video/VP8", "", true, ""},
		{"audio/opus", "", true, ""},
	} {
		err := BrowserDecodable(c.mime, c.fmtp)
		if (err == nil) != c.ok {
			t.Errorf("%s %q: %v, want ok=%v", c.mime, c.fmtp, err, c.ok)
		}
		if err != nil && (!errors.Is(err, ErrNotInBrowsers) || !strings.Contains(err.Error(), c.name) ||
			!strings.Contains(err.Error(), "yuv420p")) {
			t.Errorf("%s %q: %q should wrap ErrNotInBrowsers, name %q and say how to fix it", c.mime, c.fmtp, err, c.name)
		}
		if c.name != "" {
			if got := H264ProfileName(FmtpParam(c.fmtp, "profile-level-id")); got != c.name {
				t.Errorf("H264ProfileName(%q) = %q, want %q", c.fmtp, got, c.name)
			}
		}
	}
}
