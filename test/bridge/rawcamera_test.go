package bridge_test

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/conn"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// mode0Camera is a minimal RTSP-over-TCP camera sending H.264 in
// packetization mode 0: every NAL unit whole in one RTP packet, IDR slices
// of several kilobytes included, as cheap cameras do over TCP. gortsplib's
// server cannot send packets over 1472 bytes, so this speaks RTSP itself.
type mode0Camera struct {
	t   *testing.T
	ln  net.Listener
	aus [][][]byte
	wg  sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}

	frames atomic.Int64 // access units sent, over every connection
}

func newMode0Camera(t *testing.T) *mode0Camera {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &mode0Camera{t: t, ln: ln, aus: loadAUs(t, "testsrc-baseline.h264"), conns: map[net.Conn]struct{}{}}
	c.wg.Add(1)
	go c.accept()
	t.Cleanup(c.Close)
	return c
}

func (c *mode0Camera) url() string { return "rtsp://" + c.ln.Addr().String() + "/mode0" }

// largestNAL is the largest NAL unit the camera sends.
func (c *mode0Camera) largestNAL() int {
	n := 0
	for _, au := range c.aus {
		for _, nal := range au {
			n = max(n, len(nal))
		}
	}
	return n
}

func (c *mode0Camera) Close() {
	c.ln.Close()
	c.mu.Lock()
	for nc := range c.conns {
		nc.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *mode0Camera) accept() {
	defer c.wg.Done()
	for {
		nc, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.conns[nc] = struct{}{}
		c.mu.Unlock()
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.serve(nc)
		}()
	}
}

func (c *mode0Camera) serve(nc net.Conn) {
	defer nc.Close()
	rc := conn.NewConn(nc)
	var wmu sync.Mutex // responses and RTP frames share the connection
	stop := make(chan struct{})
	var feed sync.WaitGroup
	defer func() {
		close(stop)
		feed.Wait()
	}()
	media := &description.Media{Type: description.MediaTypeVideo, Control: "trackID=0", Formats: []format.Format{
		&format.H264{PayloadTyp: 96, SPS: c.aus[0][0], PPS: c.aus[0][1], PacketizationMode: 0},
	}}
	playing := false
	for {
		req, err := rc.ReadRequest()
		if err != nil {
			return
		}
		res := &base.Response{StatusCode: base.StatusOK, Header: base.Header{"CSeq": req.Header["CSeq"]}}
		switch req.Method {
		case base.Options:
			res.Header["Public"] = base.HeaderValue{"DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"}
		case base.Describe:
			sdp, err := (&description.Session{Medias: []*description.Media{media}}).Marshal(false)
			if err != nil {
				c.t.Error(err)
				return
			}
			res.Header["Content-Type"] = base.HeaderValue{"application/sdp"}
			res.Header["Content-Base"] = base.HeaderValue{c.url() + "/"}
			res.Body = sdp
		case base.Setup:
			res.Header["Transport"] = base.HeaderValue{"RTP/AVP/TCP;unicast;interleaved=0-1"}
			res.Header["Session"] = base.HeaderValue{"12345678;timeout=60"}
		case base.Play, base.GetParameter:
			res.Header["Session"] = base.HeaderValue{"12345678"}
		case base.Teardown:
			wmu.Lock()
			_ = rc.WriteResponse(res)
			wmu.Unlock()
			return
		default:
			res.StatusCode = base.StatusNotImplemented
		}
		wmu.Lock()
		err = rc.WriteResponse(res)
		wmu.Unlock()
		if err != nil {
			return
		}
		if req.Method == base.Play && !playing {
			playing = true
			feed.Add(1)
			go func() {
				defer feed.Done()
				c.feed(rc, &wmu, stop)
			}()
		}
	}
}

// feed sends each NAL unit (SPS/PPS excluded: they are in the SDP) as one
// RTP packet, 25 frames per second.
func (c *mode0Camera) feed(rc *conn.Conn, wmu *sync.Mutex, stop chan struct{}) {
	tick := time.NewTicker(40 * time.Millisecond)
	defer tick.Stop()
	var seq uint16
	buf := make([]byte, 70000)
	for frame := 0; ; frame++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var nals [][]byte
		for _, nal := range c.aus[frame%len(c.aus)] {
			if typ := nal[0] & 0x1F; typ != 7 && typ != 8 {
				nals = append(nals, nal)
			}
		}
		for i, nal := range nals {
			seq++
			pkt := rtp.Packet{Header: rtp.Header{
				Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(frame) * 3600,
				SSRC: 0x1234, Marker: i == len(nals)-1,
			}, Payload: nal}
			raw, err := pkt.Marshal()
			if err != nil {
				return
			}
			wmu.Lock()
			err = rc.WriteInterleavedFrame(&base.InterleavedFrame{Channel: 0, Payload: raw}, buf)
			wmu.Unlock()
			if err != nil {
				return
			}
		}
		c.frames.Add(1)
	}
}
