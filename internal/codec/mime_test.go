package codec

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		mime string
		want kind
	}{
		// pion's own constants must resolve, since that is what callers pass.
		{webrtc.MimeTypeH264, kindH264},
		{webrtc.MimeTypeH265, kindH265},
		{webrtc.MimeTypeVP8, kindVP8},
		{webrtc.MimeTypeVP9, kindVP9},
		{webrtc.MimeTypeAV1, kindAV1},
		{webrtc.MimeTypeOpus, kindAudio},
		{webrtc.MimeTypeG722, kindAudio},
		{webrtc.MimeTypePCMU, kindAudio},
		{webrtc.MimeTypePCMA, kindAudio},
		{webrtc.MimeTypeRTX, kindUnknown},
		{webrtc.MimeTypeFlexFEC, kindUnknown},
		{webrtc.MimeTypeUlpFEC, kindUnknown},
		// Case as written by other SDP producers.
		{"video/h264", kindH264},
		{"VIDEO/H264", kindH264},
		{"Video/hevc", kindUnknown},
		{"video/h265", kindH265},
		{"video/vp8", kindVP8},
		{"video/Vp9", kindVP9},
		{"video/av1", kindAV1},
		{"AUDIO/OPUS", kindAudio},
		{"audio/", kindAudio},
		// Near misses.
		{"", kindUnknown},
		{"audio", kindUnknown},
		{"h264", kindUnknown},
		{"video/H264 ", kindUnknown},
		{"video/H2640", kindUnknown},
		{"video/H266", kindUnknown},
		{"application/H264", kindUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.mime, func(t *testing.T) {
			if got := kindOf(tt.mime); got != tt.want {
				t.Errorf("kindOf(%q) = %d, want %d", tt.mime, got, tt.want)
			}
		})
	}
}

func TestIsAudioIsVideo(t *testing.T) {
	tests := []struct {
		mime         string
		audio, video bool
	}{
		{"audio/opus", true, false},
		{"Audio/PCMU", true, false},
		{"video/H264", false, true},
		{"VIDEO/rtx", false, true},
		{"video/", false, true},
		{"video", false, false},
		{"", false, false},
		{"text/plain", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.mime, func(t *testing.T) {
			if got := IsAudio(tt.mime); got != tt.audio {
				t.Errorf("IsAudio(%q) = %v, want %v", tt.mime, got, tt.audio)
			}
			if got := IsVideo(tt.mime); got != tt.video {
				t.Errorf("IsVideo(%q) = %v, want %v", tt.mime, got, tt.video)
			}
		})
	}
}
