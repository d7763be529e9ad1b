package bridge_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// TestRTSPIngestDropsAreCounted: an RTSP publisher (RECORD over TCP) sends
// packets the gateway cannot bridge; each is counted by reason on its track
// in the API and in wishgate_dropped_packets_total, and the good packets
// around them still arrive. (gortsplib cannot send a packet over 1472
// bytes, so the oversized reason is covered by bridge's TestIngestCountsDrops.)
func TestRTSPIngestDropsAreCounted(t *testing.T) {
	g := startGateway(t, nil)
	h264 := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	vp8 := &format.VP8{PayloadTyp: 97}
	desc := &description.Session{Medias: []*description.Media{
		{Type: description.MediaTypeVideo, Formats: []format.Format{h264}},
		{Type: description.MediaTypeVideo, Formats: []format.Format{vp8}},
	}}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Transport: &tcp}
	if err := c.StartRecording(g.rtspURL("drops"), desc); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seq := uint16(0)
	send := func(m *description.Media, payload []byte) {
		t.Helper()
		seq++
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: m.Formats[0].PayloadType(),
			SequenceNumber: seq, Timestamp: 3000, Marker: true}, Payload: payload}
		if err := c.WritePacketRTP(m, pkt); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	v, p := desc.Medias[0], desc.Medias[1]
	send(v, []byte{0x65, 0x88, 0x84})       // IDR slice
	send(v, []byte{0x19, 0x00, 0x01, 0x65}) // STAP-B: interleaved mode only
	send(v, []byte{0x1c, 0x05})             // FU-A without a payload
	send(v, []byte{0x78, 0x00, 0x09, 0x65}) // STAP-A whose unit runs past its end
	send(p, []byte{0x10, 0x50, 0x01})       // VP8 key frame start
	send(v, []byte{0x41, 0x9a, 0x00})       // P slice: the stream goes on

	type drops struct{ Malformed, Unsupported, Oversized uint64 }
	var tracks []struct {
		Packets uint64 `json:"packets"`
		Dropped drops  `json:"ingest_dropped"`
	}
	waitFor(t, 10*time.Second, "drops and packets in the API", func() bool {
		st, body := httpDo(t, "GET", g.URL()+"/api/v1/streams/drops", "", "")
		var s struct {
			Tracks json.RawMessage `json:"tracks"`
		}
		if st != http.StatusOK || json.Unmarshal([]byte(body), &s) != nil || json.Unmarshal(s.Tracks, &tracks) != nil {
			return false
		}
		return len(tracks) == 2 && tracks[0].Packets == 2 && tracks[1].Packets == 1
	})
	if want := (drops{Malformed: 2, Unsupported: 1}); tracks[0].Dropped != want {
		t.Errorf("H.264 ingest_dropped %+v, want %+v", tracks[0].Dropped, want)
	}
	if tracks[1].Dropped != (drops{}) {
		t.Errorf("VP8 ingest_dropped %+v, want none", tracks[1].Dropped)
	}

	st, body := httpDo(t, "GET", g.URL()+"/metrics", "", "")
	if st != http.StatusOK {
		t.Fatalf("/metrics: %d", st)
	}
	for _, want := range []string{
		`wishgate_dropped_packets_total{reason="malformed_rtp"} 2`,
		`wishgate_dropped_packets_total{reason="unsupported_rtp"} 1`,
		`wishgate_dropped_packets_total{reason="oversized_rtp"} 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
