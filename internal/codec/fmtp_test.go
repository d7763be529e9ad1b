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

func TestH264Fmtp(t *testing.T) {
	sps, pps := h264SPS1080, nalH264PPS()
	got := H264Fmtp(sps, pps)
	want := "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42c028;sprop-parameter-sets=" + b64(sps) + "," + b64(pps)
	if got != want {
		t.Errorf("H264Fmtp = %q, want %q", got, want)
	}
	plain := "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	for name, sets := range map[string][2][]byte{
		"none":          {nil, nil},
		"truncated SPS": {sps[:6], pps},
		"PPS as SPS":    {pps, pps},
		"no PPS":        {sps, nil},
		"slice as PPS":  {sps, []byte{0x65, 0x88}},
	} {
		got := H264Fmtp(sets[0], sets[1])
		if name == "no PPS" || name == "slice as PPS" {
			plain := strings.Replace(plain, "42e01f", "42c028", 1)
			if got != plain {
				t.Errorf("%s: H264Fmtp = %q, want %q", name, got, plain)
			}
			continue
		}
		if got != plain {
			t.Errorf("%s: H264Fmtp = %q, want %q", name, got, plain)
		}
	}
}

func TestH265Fmtp(t *testing.T) {
	got := H265Fmtp(nil, nil, nil)
	if got != "level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST" {
		t.Errorf("H265Fmtp(nil) = %q", got)
	}
	vps, sps, pps := nalH265VPS(), h265SPS1080, nalH265PPS()
	got = H265Fmtp(vps, sps, pps)
	if want := "level-id=120;profile-id=1;tier-flag=0;tx-mode=SRST;sprop-vps=" + b64(vps) + ";sprop-sps=" + b64(sps) + ";sprop-pps=" + b64(pps); got != want {
		t.Errorf("H265Fmtp = %q, want %q", got, want)
	}
	// A set RTSP clients cannot parse leaves them all out.
	for name, sets := range map[string][3][]byte{
		"truncated SPS": {vps, sps[:12], pps},
		"truncated PPS": {vps, sps, pps[:2]},
		"VPS as PPS":    {vps, sps, vps},
	} {
		if got := H265Fmtp(sets[0], sets[1], sets[2]); strings.Contains(got, "sprop") {
			t.Errorf("%s: H265Fmtp = %q, want no sets", name, got)
		}
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
