package bridge

import (
	"context"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/streams"
)

type lpcmSink struct {
	ts    []uint32
	sizes []int
	got   chan struct{}
}

func (s *lpcmSink) WriteRTP(_ int, h *rtp.Header, p []byte) error {
	s.ts = append(s.ts, h.Timestamp)
	s.sizes = append(s.sizes, len(p))
	if len(s.ts) == 4 {
		close(s.got) // once: the test stops the reader before reading
	}
	return nil
}

// An L16 payload larger than a registry packet (a camera's 20 ms of 48 kHz
// stereo over TCP: 3840 bytes) is cut into whole sample frames, each piece
// stamped with its first frame's time; none is dropped as oversized. The
// note says whether WebRTC viewers get it transcoded.
func TestIngestCutsLargeL16Payloads(t *testing.T) {
	reg := streams.NewRegistry(streams.DefaultConfig())
	defer reg.Close()
	l16 := &format.LPCM{PayloadTyp: 97, BitDepth: 16, SampleRate: 48000, ChannelCount: 2}
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeAudio, Formats: []format.Format{l16}}}}
	in, err := newIngest(desc, nil, func(streams.Codec) (streams.Codec, error) {
		return streams.Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := in.notes[0]; n.Status != "transcoded" || in.specs[0].Codec.MimeType != "audio/L16" {
		t.Fatalf("note %v, spec %+v", n, in.specs[0])
	}
	pub, err := reg.Publish("cam", in.specs, nopPublisher{}, streams.PublisherInfo{Kind: streams.SessionRTSPSource})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	in.pub = pub
	s, tracks, _ := reg.Lookup("cam")
	sub, err := reg.Subscribe(s, streams.SubscribeOptions{Tracks: tracks})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sink := &lpcmSink{got: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, sink) }()
	defer cancel()
	// A queued reader starts with what arrives after it runs.
	deadline := time.After(5 * time.Second)
	for i := 0; ; i++ {
		in.handle(l16, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: 1000 + uint32(i)*960},
			Payload: make([]byte, 3840)})
		select {
		case <-sink.got:
		case <-time.After(10 * time.Millisecond):
			continue
		case <-deadline:
			t.Fatal("no L16 reached the reader within 5 s")
		}
		break
	}
	cancel()
	<-done // the reader is done writing the sink
	// 3840 bytes: 300 frames (1200 bytes), 300, 300, then 60.
	for k := 1; k < 4; k++ {
		if d := sink.ts[k] - sink.ts[k-1]; sink.sizes[k-1] == 1200 && d != 300 {
			t.Fatalf("piece %d: timestamp step %d after a 300-frame piece (sizes %v, ts %v)", k, d, sink.sizes, sink.ts)
		}
	}
	if info, _ := reg.Info("cam"); info.Tracks[0].Dropped.Oversized != 0 {
		t.Fatalf("%d payloads dropped as oversized", info.Tracks[0].Dropped.Oversized)
	}
	for _, n := range sink.sizes {
		if n == 0 || n > 1200 || n%4 != 0 {
			t.Fatalf("piece of %d bytes: want whole 4-byte frames, at most 1200 bytes", n)
		}
	}
}
