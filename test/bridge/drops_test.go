package bridge_test

import (
	"encoding/json"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/conn"
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

// rawPublisher is an RTSP client speaking RECORD over TCP by hand, so that
// it can send what gortsplib's own client refuses to: a payload type it
// did not announce, an RTP packet too short to parse.
type rawPublisher struct {
	t   *testing.T
	nc  net.Conn
	rc  *conn.Conn
	seq int
}

func dialRawPublisher(t *testing.T, url string, desc *description.Session) *rawPublisher {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	p := &rawPublisher{t: t, nc: nc, rc: conn.NewConn(nc)}
	sdp, err := desc.Marshal(false)
	if err != nil {
		t.Fatal(err)
	}
	p.do(base.Announce, u, base.Header{"Content-Type": base.HeaderValue{"application/sdp"}}, sdp)
	setup, _ := base.ParseURL(url + "/" + desc.Medias[0].Control)
	res := p.do(base.Setup, setup, base.Header{"Transport": base.HeaderValue{"RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"}}, nil)
	session, _, _ := strings.Cut(res.Header["Session"][0], ";")
	p.do(base.Record, u, base.Header{"Session": base.HeaderValue{session}}, nil)
	return p
}

func (p *rawPublisher) do(m base.Method, u *base.URL, h base.Header, body []byte) *base.Response {
	p.t.Helper()
	p.seq++
	h["CSeq"] = base.HeaderValue{strconv.Itoa(p.seq)}
	if err := p.rc.WriteRequest(&base.Request{Method: m, URL: u, Header: h, Body: body}); err != nil {
		p.t.Fatalf("%s: %v", m, err)
	}
	res, err := p.rc.ReadResponse()
	if err != nil || res.StatusCode != base.StatusOK {
		p.t.Fatalf("%s: %v %v", m, res, err)
	}
	return res
}

// frame sends raw bytes as an RTP frame on the first media's channel.
func (p *rawPublisher) frame(raw []byte) {
	p.t.Helper()
	if err := p.rc.WriteInterleavedFrame(&base.InterleavedFrame{Channel: 0, Payload: raw}, make([]byte, 2048)); err != nil {
		p.t.Fatal(err)
	}
}

func rtpBytes(t *testing.T, pt uint8, seq uint16, payload []byte) []byte {
	t.Helper()
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq,
		Timestamp: 3000, SSRC: 0x51, Marker: true}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestRTSPUndecodablePacketsAreCounted: RTP that gortsplib cannot decode
// (a payload type the publisher never announced, a packet too short to
// parse) is counted as malformed on the publisher's track, in the API and
// the metrics, and written to no log line by line.
func TestRTSPUndecodablePacketsAreCounted(t *testing.T) {
	var stdlog strings.Builder
	var stdmu sync.Mutex
	log.SetOutput(writerFunc(func(b []byte) (int, error) {
		stdmu.Lock()
		defer stdmu.Unlock()
		return stdlog.Write(b)
	}))
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	g := startGateway(t, nil)
	desc := &description.Session{Medias: []*description.Media{
		{Type: description.MediaTypeVideo, Control: "trackID=0", Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}}},
	}}
	p := dialRawPublisher(t, g.rtspURL("undecodable"), desc)
	p.frame(rtpBytes(t, 96, 1, []byte{0x65, 0x88, 0x84})) // IDR slice
	for i := range 20 {
		p.frame(rtpBytes(t, 100, uint16(2+i), []byte{0x41, 0x9a})) // PT 100 was never announced
	}
	p.frame([]byte{0x80, 0x60, 0x00})                      // 3 bytes: no RTP header
	p.frame(rtpBytes(t, 96, 30, []byte{0x41, 0x9a, 0x00})) // P slice: the stream goes on

	var tracks []struct {
		Packets uint64                                             `json:"packets"`
		Dropped struct{ Malformed, Unsupported, Oversized uint64 } `json:"ingest_dropped"`
	}
	waitFor(t, 10*time.Second, "the packets and the drops in the API", func() bool {
		st, body := httpDo(t, "GET", g.URL()+"/api/v1/streams/undecodable", "", "")
		var s struct {
			Tracks json.RawMessage `json:"tracks"`
		}
		if st != http.StatusOK || json.Unmarshal([]byte(body), &s) != nil || json.Unmarshal(s.Tracks, &tracks) != nil {
			return false
		}
		return len(tracks) == 1 && tracks[0].Packets == 2 && tracks[0].Dropped.Malformed == 21
	})
	if tracks[0].Dropped.Unsupported != 0 || tracks[0].Dropped.Oversized != 0 {
		t.Errorf("ingest_dropped %+v, want 21 malformed only", tracks[0].Dropped)
	}
	st, body := httpDo(t, "GET", g.URL()+"/metrics", "", "")
	if st != http.StatusOK || !strings.Contains(body, `wishgate_dropped_packets_total{reason="malformed_rtp"} 21`+"\n") {
		t.Errorf("/metrics %d lacks 21 malformed_rtp drops", st)
	}
	stdmu.Lock()
	defer stdmu.Unlock()
	if n := strings.Count(stdlog.String(), "\n"); n > 0 {
		t.Errorf("%d lines on the standard logger:\n%s", n, stdlog.String())
	}
	if n := strings.Count(g.log.String(), "cannot be decoded"); n != 1 {
		t.Errorf("%d log lines about undecodable packets, want one for the session", n)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
