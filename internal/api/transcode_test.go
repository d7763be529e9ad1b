package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

type transcodeView struct {
	Tracks []struct {
		Codec          string `json:"codec"`
		WebRTCPlayable bool   `json:"webrtc_playable"`
		Note           string `json:"note"`
		Transcode      *struct {
			From       string  `json:"from"`
			To         string  `json:"to"`
			ToCodec    string  `json:"to_codec"`
			Running    bool    `json:"running"`
			Readers    int     `json:"readers"`
			Starts     uint64  `json:"starts"`
			CPUSeconds float64 `json:"cpu_seconds"`
			Packets    uint64  `json:"packets"`
			Error      string  `json:"error"`
		} `json:"transcode"`
	} `json:"tracks"`
	Readers []struct {
		Kind string `json:"kind"`
	} `json:"readers"`
}

func cameraStream(t *testing.T, mutate func(*config.Config)) (string, func() transcodeView) {
	t.Helper()
	a := testutil.StartGateway(t, mutate)
	cam := testutil.StartAVCamera(t, testutil.AVCameraConfig{AAC: "tone-1k-48k-stereo.aac"})
	if err := a.Sources().Add(bridge.SourceConfig{Name: "cam", URL: cam.URL, Transport: bridge.TransportTCP}); err != nil {
		t.Fatal(err)
	}
	get := func() transcodeView {
		r := call(t, "GET", a.URL()+"/api/v1/streams/cam", nil)
		if r.Status != 200 {
			t.Fatalf("get: %d %s", r.Status, r.Body)
		}
		return decode[transcodeView](t, r)
	}
	eventually(t, 15*time.Second, "the camera live", func() bool { return len(get().Tracks) == 2 })
	return a.URL(), get
}

// A camera's AAC track is listed as transcoded (AAC → Opus, idle), runs
// while a WHEP viewer watches (CPU time and packets counted, the viewer
// listed once: the transcoder is no reader), and is idle again after.
func TestTranscodedTrackInTheAPI(t *testing.T) {
	testutil.RequireTranscoder(t)
	base, get := cameraStream(t, nil)
	au := get().Tracks[1]
	if !strings.EqualFold(au.Codec, "MPEG4-GENERIC") || !au.WebRTCPlayable || au.Transcode == nil || au.Transcode.Running ||
		au.Transcode.From != "AAC" || au.Transcode.To != "Opus" || au.Transcode.ToCodec != "opus/48000/2" ||
		!strings.Contains(au.Note, "AAC → Opus") {
		t.Fatalf("before any viewer: %+v %+v", au, au.Transcode)
	}
	v, err := playWith(t, base, "cam")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "Opus at the viewer", func() bool {
		return v.Received(webrtc.RTPCodecTypeAudio).Packets > 25
	})
	var s transcodeView
	eventually(t, 5*time.Second, "the transcoder running", func() bool {
		s = get()
		tr := s.Tracks[1].Transcode
		return tr != nil && tr.Running && tr.Readers == 1 && tr.CPUSeconds > 0 && tr.Packets > 25
	})
	if len(s.Readers) != 1 || s.Readers[0].Kind != "whep" {
		t.Errorf("readers %+v: want the one WHEP viewer", s.Readers)
	}
	_ = v.Close()
	eventually(t, 5*time.Second, "the transcoder idle", func() bool {
		tr := get().Tracks[1].Transcode
		return !tr.Running && tr.Readers == 0 && tr.Starts == 1 && tr.Error == ""
	})
}

// audio_transcode: off says so in the track's note.
func TestTranscodeOffInTheAPI(t *testing.T) {
	_, get := cameraStream(t, func(c *config.Config) { c.AudioTranscode = "off" })
	au := get().Tracks[1]
	if au.WebRTCPlayable || au.Transcode != nil || !strings.Contains(au.Note, "audio_transcode: off") {
		t.Fatalf("track %+v", au)
	}
}

// playWith starts a WHEP viewer (video and audio) closed at the test's end.
func playWith(t *testing.T, base, stream string) (*client.Viewer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := client.Play(ctx, base+"/whep/"+stream, client.PlayOptions{})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = v.Close() })
	return v, v.WaitConnected(ctx)
}
