package codec

import (
	"errors"
	"strings"
	"testing"
)

func TestFmtpParam(t *testing.T) {
	line := " profile-level-id=42e01f; Packetization-Mode = 1 ;stereo;sprop-parameter-sets=Z0I=,aM4="
	for _, tt := range []struct{ key, want string }{
		{"profile-level-id", "42e01f"},
		{"packetization-mode", "1"},
		{"PACKETIZATION-MODE", "1"},
		{"stereo", ""},
		{"sprop-parameter-sets", "Z0I=,aM4="},
		{"level-asymmetry-allowed", ""},
		{"", ""},
	} {
		if got := FmtpParam(line, tt.key); got != tt.want {
			t.Errorf("FmtpParam(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	if got := FmtpParam("", "a"); got != "" {
		t.Errorf("empty line: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { FmtpParam(line, "sprop-parameter-sets") }); n != 0 {
		t.Errorf("FmtpParam allocates %v times", n)
	}
}

func TestFormatFmtp(t *testing.T) {
	got := FormatFmtp(map[string]string{"packetization-mode": "1", "profile-level-id": "42e01f", "a": "x"})
	if want := "a=x;packetization-mode=1;profile-level-id=42e01f"; got != want {
		t.Errorf("FormatFmtp = %q, want %q", got, want)
	}
	if got := FormatFmtp(nil); got != "" {
		t.Errorf("FormatFmtp(nil) = %q", got)
	}
}

var (
	fmtpSPS = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50}
	fmtpPPS = []byte{0x68, 0xeb, 0xe3, 0xcb}
)

func TestH264Fmtp(t *testing.T) {
	got := H264Fmtp(fmtpSPS, fmtpPPS)
	want := "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f;sprop-parameter-sets=Z2QAH6zZQFA=,aOvjyw=="
	if got != want {
		t.Errorf("H264Fmtp = %q, want %q", got, want)
	}
	if got := H264Fmtp(nil, nil); got != "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" {
		t.Errorf("H264Fmtp(nil) = %q", got)
	}
	// A PPS in the SPS's place names no profile.
	if got := H264ProfileLevelID(fmtpPPS); got != DefaultH264ProfileLevelID {
		t.Errorf("H264ProfileLevelID(PPS) = %q", got)
	}
}

func TestH265Fmtp(t *testing.T) {
	got := H265Fmtp(nil, nil, nil)
	if !strings.HasPrefix(got, "level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST") {
		t.Errorf("H265Fmtp(nil) = %q", got)
	}
	if got := H265Fmtp([]byte{0x40, 0x01, 0x0c, 0x01}, []byte{0x42}, []byte{0x44, 0x01, 0xc1, 0x72}); !strings.Contains(got, "sprop-vps=QAEMAQ==") {
		t.Errorf("H265Fmtp = %q, want sprop-vps", got)
	}
	if got := H265Fmtp(nil, h265SPS1080, nil); !strings.HasPrefix(got, "level-id=120;profile-id=1;") {
		t.Errorf("H265Fmtp(1080p SPS) = %q, want level 4 Main", got)
	}
}

func TestWebRTCPlayable(t *testing.T) {
	for _, tt := range []struct {
		mime     string
		rate     uint32
		channels uint16
		ok       bool
	}{
		{"video/H264", 90000, 0, true},
		{"video/h265", 90000, 0, true},
		{"video/H264", 48000, 0, false},
		{"audio/opus", 48000, 2, true},
		{"audio/PCMA", 8000, 1, true},
		{"audio/PCMU", 16000, 1, false},
		{"audio/PCMU", 8000, 2, false},
		{"audio/G722", 8000, 1, true},
		{"audio/MPEG4-GENERIC", 48000, 2, false},
		{"audio/mp4a-latm", 48000, 2, false},
		{"video/JPEG", 90000, 0, false},
		{"audio/H264", 90000, 0, false},
	} {
		err := WebRTCPlayable(tt.mime, tt.rate, tt.channels)
		if (err == nil) != tt.ok {
			t.Errorf("%s/%d/%d: err = %v, want ok=%v", tt.mime, tt.rate, tt.channels, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrNotWebRTC) {
			t.Errorf("%s: error %v does not wrap ErrNotWebRTC", tt.mime, err)
		}
	}
}
