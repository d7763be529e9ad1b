package cluster

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/internal/transcode"
	"github.com/wishgate/wishgate/streams"
)

// A camera's AAC reaches a WebRTC viewer on another node as Opus: the
// origin transcodes it once (the relay is the derived track's one reader)
// and the relay carries the Opus track with the video.
func TestTranscodedAudioThroughRelay(t *testing.T) {
	testutil.RequireTranscoder(t)
	cam := testutil.StartAVCamera(t, testutil.AVCameraConfig{AAC: "tone-1k-48k-stereo.aac"})
	_, nodes := startCluster(t, 2, func(i int, c *config.Config) {
		if i == 1 {
			c.Sources = []string{"cam=" + cam.URL + "#transport=tcp"}
		}
	})
	n1, n2 := nodes[0], nodes[1]
	waitFor(t, 10*time.Second, "the camera live on node 1", func() bool {
		info, ok := n1.Registry.Info("cam")
		return ok && info.State == streams.StateLive
	})

	var mu sync.Mutex
	var mime string
	var audio [][]byte
	video := 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := client.Play(ctx, n2.URL()+"/whep/cam", client.PlayOptions{
		OnPacket: func(kind webrtc.RTPCodecType, c webrtc.RTPCodecParameters, p *rtp.Packet) {
			mu.Lock()
			defer mu.Unlock()
			if kind == webrtc.RTPCodecTypeVideo {
				video++
				return
			}
			mime = c.MimeType
			audio = append(audio, append([]byte(nil), p.Payload...))
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	waitFor(t, 10*time.Second, "2 s of audio and video on node 2", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(audio) >= 100 && video >= 25
	})
	mu.Lock()
	got := append([][]byte(nil), audio...)
	gotMime := mime
	mu.Unlock()
	if !strings.EqualFold(gotMime, webrtc.MimeTypeOpus) {
		t.Fatalf("node 2's viewer gets audio as %q, want Opus", gotMime)
	}
	// The tone is there, not silence: decode the last second (a decoder
	// started mid-stream takes a few packets to reach the full level).
	dec, err := transcode.NewOpusDecoder(2)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pcm := make([]int16, 5760*2)
	var peak int16
	for _, p := range got[len(got)-50:] {
		n, err := dec.Decode(p, pcm)
		if err != nil {
			t.Fatalf("an Opus packet from the relay does not decode: %v", err)
		}
		for _, s := range pcm[:2*n] {
			peak = max(peak, s, -s)
		}
	}
	if peak < 1000 { // the tone peaks at 4096 (1/8 of full scale); silence decodes to about 0
		t.Fatalf("the relayed Opus decodes to near silence (peak %d)", peak)
	}

	info, _ := n1.Registry.Info("cam")
	for _, tr := range info.Tracks {
		if tr.Kind == streams.KindAudio {
			if tr.Conversion == nil || !tr.Conversion.Running || tr.Conversion.Readers != 1 {
				t.Fatalf("origin's conversion %+v: want one running conversion read by the relay", tr.Conversion)
			}
		}
	}
	edge, _ := n2.Registry.Info("cam")
	if edge.Publisher == nil || edge.Publisher.Kind != streams.SessionRelay {
		t.Fatalf("node 2's publisher %+v, want a relay", edge.Publisher)
	}
	for _, tr := range edge.Tracks {
		if tr.Kind == streams.KindAudio && !strings.EqualFold(tr.Codec.MimeType, webrtc.MimeTypeOpus) {
			t.Fatalf("node 2's relayed audio track is %s, want Opus", tr.Codec.MimeType)
		}
	}
}
