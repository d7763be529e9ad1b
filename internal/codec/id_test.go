package codec

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestParse(t *testing.T) {
	tests := []struct {
		mime string
		want ID
	}{
		// pion's own constants must resolve, since that is what callers pass.
		{webrtc.MimeTypeH264, H264},
		{webrtc.MimeTypeH265, H265},
		{webrtc.MimeTypeVP8, VP8},
		{webrtc.MimeTypeVP9, VP9},
		{webrtc.MimeTypeAV1, AV1},
		{webrtc.MimeTypeOpus, Opus},
		{webrtc.MimeTypeG722, G722},
		{webrtc.MimeTypePCMU, PCMU},
		{webrtc.MimeTypePCMA, PCMA},
		{webrtc.MimeTypeRTX, Unknown},
		{webrtc.MimeTypeFlexFEC, Unknown},
		{webrtc.MimeTypeUlpFEC, Unknown},
		// Case as written by other SDP producers.
		{"video/h264", H264},
		{"VIDEO/H264", H264},
		{"Video/hevc", Unknown},
		{"video/h265", H265},
		{"video/vp8", VP8},
		{"video/Vp9", VP9},
		{"video/av1", AV1},
		{"AUDIO/OPUS", Opus},
		{"audio/mpeg4-generic", MPEG4Audio},
		{"audio/MP4A-LATM", MPEG4AudioLATM},
		{"audio/l16", L16},
		{"audio/L24", L24},
		{"audio/telephone-event", OtherAudio},
		{"audio/H264", OtherAudio},
		{"video/opus", Unknown},
		{"audio/", OtherAudio},
		// Near misses.
		{"", Unknown},
		{"audio", Unknown},
		{"h264", Unknown},
		{"video/H264 ", Unknown},
		{"video/H2640", Unknown},
		{"video/H266", Unknown},
		{"application/H264", Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.mime, func(t *testing.T) {
			if got := Parse(tt.mime); got != tt.want {
				t.Errorf("Parse(%q) = %d, want %d", tt.mime, got, tt.want)
			}
		})
	}
}

func TestIDAudioVideo(t *testing.T) {
	for id := Unknown; id <= L24; id++ {
		audio := id == OtherAudio || id >= Opus
		video := id >= H264 && id <= AV1
		if id.Audio() != audio || id.Video() != video {
			t.Errorf("%d: Audio %v Video %v, want %v %v", id, id.Audio(), id.Video(), audio, video)
		}
		if name := id.String(); (name == "") != (id == Unknown || id == OtherAudio) {
			t.Errorf("%d: name %q", id, name)
		} else if name != "" && Parse(map[bool]string{true: "audio/", false: "video/"}[audio]+name) != id {
			t.Errorf("%d: %q does not parse back", id, name)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Parse("audio/MP4A-LATM") }); n != 0 {
		t.Errorf("Parse allocates %v times", n)
	}
}
