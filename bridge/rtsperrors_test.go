package bridge

import (
	"testing"

	"github.com/bluenviron/gortsplib/v4"

	"github.com/wishgate/wishgate/streams"
)

// A packet gortsplib could not queue for a slow RTSP reader is that
// reader's drop: its subscription counts it (the API's packets_dropped).
func TestStreamWriteErrorIsTheReadersDrop(t *testing.T) {
	reg := streams.NewRegistry(streams.DefaultConfig())
	defer reg.Close()
	h264 := streams.Codec{MimeType: "video/H264", ClockRate: 90000, Fmtp: "packetization-mode=1"}
	if _, err := reg.Publish("x", []streams.TrackSpec{{Kind: streams.KindVideo, Codec: h264}}, nopPublisher{},
		streams.PublisherInfo{Kind: streams.SessionRTSPPublish}); err != nil {
		t.Fatal(err)
	}
	st, tracks, err := reg.Lookup("x")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := reg.Subscribe(st, streams.SubscribeOptions{Tracks: tracks, Info: streams.SubscriberInfo{Kind: streams.SessionRTSPRead}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ss := &gortsplib.ServerSession{}
	ss.SetUserData(&sessionData{outlet: &outlet{sub: sub}})
	s := &Server{}
	for range 3 {
		s.OnStreamWriteError(&gortsplib.ServerHandlerOnStreamWriteErrorCtx{Session: ss})
	}
	if got := sub.Dropped.Load(); got != 3 {
		t.Errorf("reader dropped %d, want 3", got)
	}
	// A session that is not a reader (a publisher, or nothing yet) is no one's drop.
	(&Server{}).OnStreamWriteError(&gortsplib.ServerHandlerOnStreamWriteErrorCtx{Session: &gortsplib.ServerSession{}})
}
