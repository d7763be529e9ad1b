package cluster

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// camera is an in-process RTSP camera (TCP only) sending the same frames
// as feed, with SPS and PPS in its SDP as cameras do; it counts sessions.
type camera struct {
	addr     string
	srv      *gortsplib.Server
	stream   *gortsplib.ServerStream
	media    *description.Media
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	sessions int
}

func startCamera(t *testing.T) *camera {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &camera{addr: ln.Addr().String(), stop: make(chan struct{}), done: make(chan struct{})}
	ln.Close()
	c.media = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{
		PayloadTyp: 96, SPS: spsPPS[3:7], PPS: spsPPS[9:], PacketizationMode: 1}}}
	c.srv = &gortsplib.Server{Handler: c, RTSPAddress: c.addr}
	if err := c.srv.Start(); err != nil {
		t.Fatal(err)
	}
	c.stream = &gortsplib.ServerStream{Server: c.srv, Desc: &description.Session{Medias: []*description.Media{c.media}}}
	if err := c.stream.Initialize(); err != nil {
		t.Fatal(err)
	}
	go c.feed()
	t.Cleanup(func() {
		close(c.stop)
		<-c.done
		c.stream.Close()
		c.srv.Close()
		_ = c.srv.Wait()
	})
	return c
}

func (c *camera) url() string { return "rtsp://" + c.addr + "/cam" }

func (c *camera) open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions
}

// feed: 50 frames/s, an IDR every 25.
func (c *camera) feed() {
	defer close(c.done)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seq uint16
	for n := uint32(0); n < 1_000_000; n++ {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		p := payload(0x41, n, 300)
		if n%25 == 0 {
			p = payload(0x65, n, 900)
		}
		seq++
		_ = c.stream.WritePacketRTP(c.media, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96,
			SequenceNumber: seq, Timestamp: n * 1800, Marker: true}, Payload: p})
	}
}

func (c *camera) OnSessionOpen(*gortsplib.ServerHandlerOnSessionOpenCtx) {
	c.mu.Lock()
	c.sessions++
	c.mu.Unlock()
}

func (c *camera) OnSessionClose(*gortsplib.ServerHandlerOnSessionCloseCtx) {
	c.mu.Lock()
	c.sessions--
	c.mu.Unlock()
}

func (c *camera) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

func (c *camera) OnSetup(*gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

func (c *camera) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}
