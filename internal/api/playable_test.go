package api

import (
	"strings"
	"testing"

	"github.com/wishgate/wishgate/streams"
)

// TestPlayable: the API calls a track playable as it is exactly when WHEP sends it so,
// and says why not.
func TestPlayable(t *testing.T) {
	for _, tt := range []struct {
		c    streams.Codec
		ok   bool
		note string
	}{
		{streams.Codec{MimeType: "video/H264", ClockRate: 90000}, true, ""},
		{streams.Codec{MimeType: "video/h265", ClockRate: 90000}, true, "HEVC"},
		{streams.Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}, true, ""},
		{streams.Codec{MimeType: "audio/PCMA", ClockRate: 8000}, true, ""},
		{streams.Codec{MimeType: "audio/PCMU", ClockRate: 16000}, false, "G.711 at 16000 Hz"},
		{streams.Codec{MimeType: "audio/mpeg4-generic", ClockRate: 44100, Channels: 2}, false, "AAC"},
		{streams.Codec{MimeType: "video/JPEG", ClockRate: 90000}, false, "JPEG/90000"},
	} {
		ok, note := playableAsIs(tt.c)
		if ok != tt.ok || !strings.Contains(note, tt.note) || (!ok && !strings.Contains(note, "RTSP readers still get it")) {
			t.Errorf("%s: playable = %v %q, want %v and a note with %q", tt.c, ok, note, tt.ok, tt.note)
		}
	}
}
