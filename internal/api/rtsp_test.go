package api_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/testutil"
)

// waitClientEnd waits until the gortsplib client's session is over.
func waitClientEnd(t *testing.T, who string, c *gortsplib.Client) {
	t.Helper()
	ended := make(chan error, 1)
	go func() { ended <- c.Wait() }()
	select {
	case err := <-ended:
		t.Logf("%s ended: %v", who, err)
	case <-time.After(10 * time.Second):
		c.Close()
		<-ended
		t.Fatalf("%s still running after the kick", who)
	}
}

// TestKickRTSPSessions: RTSP readers and publishers are listed with the
// WHIP/WHEP sessions and kicking one ends its RTSP session.
func TestKickRTSPSessions(t *testing.T) {
	a := testutil.StartGateway(t, nil)
	publish(t, a, "cam")
	rtspURL := "rtsp://" + a.RTSPAddr().String()

	// A reader.
	u, err := base.ParseURL(rtspURL + "/cam")
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	reader := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := reader.Start2(); err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	desc, _, err := reader.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatal(err)
	}
	var got atomic.Int64
	reader.OnPacketRTPAny(func(*description.Media, format.Format, *rtp.Packet) { got.Add(1) })
	if _, err := reader.Play(nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "RTSP packets", func() bool { return got.Load() > 10 })

	sess := listSessions(t, a.URL())
	rd, ok := sess["rtsp-read"]
	if !ok || rd.ID == "" || rd.Stream != "cam" || !strings.HasPrefix(rd.RemoteAddr, "127.0.0.1") {
		t.Fatalf("no RTSP reader listed: %+v", sess)
	}
	s := decode[stream](t, call(t, "GET", a.URL()+"/api/v1/streams/cam", nil))
	if len(s.Readers) != 1 || s.Readers[0].Kind != "rtsp" || s.Readers[0].ID != rd.ID || s.Viewers.RTSP != 1 {
		t.Errorf("stream readers: %+v viewers %+v", s.Readers, s.Viewers)
	}
	if r := call(t, "DELETE", a.URL()+"/api/v1/sessions/"+rd.ID, nil); r.Status != 204 {
		t.Fatalf("kick reader: %d %s", r.Status, r.Body)
	}
	waitClientEnd(t, "RTSP reader", reader)

	// A publisher (RTSP ANNOUNCE/RECORD).
	h264 := &format.H264{PayloadTyp: 96, PacketizationMode: 1,
		SPS: testSPS(640, 480), PPS: []byte{0x68, 0xce, 0x3c, 0x80}}
	pdesc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{h264}}}}
	pubc := &gortsplib.Client{Transport: &tcp}
	if err := pubc.StartRecording(rtspURL+"/fromrtsp", pdesc); err != nil {
		t.Fatal(err)
	}
	defer pubc.Close()
	var pub session
	eventually(t, 5*time.Second, "the RTSP publisher listed", func() bool {
		var ok bool
		pub, ok = listSessions(t, a.URL())["rtsp-publish"]
		return ok
	})
	if pub.Stream != "fromrtsp" || pub.ID == "" {
		t.Fatalf("RTSP publisher: %+v", pub)
	}
	if r := call(t, "DELETE", a.URL()+"/api/v1/sessions/"+pub.ID, nil); r.Status != 204 {
		t.Fatalf("kick publisher: %d %s", r.Status, r.Body)
	}
	waitClientEnd(t, "RTSP publisher", pubc)
}
