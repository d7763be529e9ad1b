package bridge_test

import (
	"bytes"
	"crypto/tls"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/testutil"
)

// camSpec describes what a fake camera sends.
type camSpec struct {
	video string // "h264" (FU-A at 1400 bytes, SPS/PPS only in the SDP), "h265"
	audio string // "", "opus", "pcma", "pcmu16" (16 kHz stereo), "aac"
	mjpeg bool   // add an MJPEG track the bridge must refuse
	udp   bool   // also serve RTP over UDP
	// udpLost: UDP transport is accepted but no datagram ever arrives (a
	// NAT or firewall in between), which clients must detect.
	udpLost bool
	tls     *tls.Config // serve RTSPS
}

// camera is an in-process RTSP camera: a gortsplib server streaming
// testsrc-baseline.h264 (or synthetic H.265) in real time, looped, plus a
// synthetic audio track.
type camera struct {
	t     *testing.T
	spec  camSpec
	addr  string
	aus   [][][]byte
	plays atomic.Int64 // PLAY requests served
	// frozen: the camera keeps its sessions but sends nothing (a hung
	// encoder, a cable cut between it and a switch that keeps TCP up).
	frozen atomic.Bool
	idrs   atomic.Int64 // H.264 IDR pictures sent

	mu       sync.Mutex
	srv      *gortsplib.Server
	stream   *gortsplib.ServerStream
	silent   *gortsplib.ServerStream // never written: UDP sessions when udpLost
	sessions int
	stop     chan struct{}
	done     chan struct{}
}

func newCamera(t *testing.T, spec camSpec) *camera {
	c := &camera{t: t, spec: spec, aus: loadAUs(t, "testsrc-baseline.h264")}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	ln.Close()
	t.Cleanup(c.Stop)
	return c
}

func (c *camera) url(path string) string { return "rtsp://" + c.addr + "/" + path }

// openSessions is how many RTSP sessions the camera has.
func (c *camera) openSessions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions
}

func (c *camera) medias() (video *description.Media, audio *description.Media, all []*description.Media) {
	switch c.spec.video {
	case "h265":
		video = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H265{
			PayloadTyp: 96, VPS: h265VPS, SPS: h265SPS, PPS: h265PPS,
		}}}
	default:
		sps, pps := c.aus[0][0], c.aus[0][1]
		video = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{
			PayloadTyp: 96, SPS: sps, PPS: pps, PacketizationMode: 1,
		}}}
	}
	all = append(all, video)
	if c.spec.mjpeg {
		all = append(all, &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.MJPEG{}}})
	}
	switch c.spec.audio {
	case "opus":
		audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.Opus{PayloadTyp: 111, ChannelCount: 2}}}
	case "pcmu16":
		audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{PayloadTyp: 98, MULaw: true, SampleRate: 16000, ChannelCount: 2}}}
	case "pcma":
		audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{PayloadTyp: 8, SampleRate: 8000, ChannelCount: 1}}}
	case "aac":
		audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.MPEG4Audio{
			PayloadTyp: 97, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3,
			Config: &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelCount: 2},
		}}}
	}
	if audio != nil {
		all = append(all, audio)
	}
	return video, audio, all
}

// Start (re)starts the camera on its address.
func (c *camera) Start() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv != nil {
		return
	}
	video, audio, all := c.medias()
	srv := &gortsplib.Server{Handler: &cameraHandler{c: c}, RTSPAddress: c.addr, TLSConfig: c.spec.tls}
	if c.spec.udp {
		rtpPort := testutil.FreeUDPPair(c.t)
		srv.UDPRTPAddress = "127.0.0.1:" + strconv.Itoa(rtpPort)
		srv.UDPRTCPAddress = "127.0.0.1:" + strconv.Itoa(rtpPort+1)
	}
	if err := srv.Start(); err != nil {
		c.t.Fatalf("camera start: %v", err)
	}
	st := &gortsplib.ServerStream{Server: srv, Desc: &description.Session{Medias: all}}
	if err := st.Initialize(); err != nil {
		c.t.Fatal(err)
	}
	c.srv, c.stream = srv, st
	if c.spec.udpLost {
		c.silent = &gortsplib.ServerStream{Server: srv, Desc: &description.Session{Medias: all}}
		if err := c.silent.Initialize(); err != nil {
			c.t.Fatal(err)
		}
	}
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go c.feed(st, video, audio, c.stop, c.done)
}

// Stop shuts the camera down (a reboot or a cable pull, for its clients).
func (c *camera) Stop() {
	c.mu.Lock()
	srv, st, silent, stop, done := c.srv, c.stream, c.silent, c.stop, c.done
	c.srv, c.stream, c.silent = nil, nil, nil
	c.mu.Unlock()
	if srv == nil {
		return
	}
	close(stop)
	<-done
	st.Close()
	if silent != nil {
		silent.Close()
	}
	srv.Close()
	_ = srv.Wait()
	c.mu.Lock()
	c.sessions = 0
	c.mu.Unlock()
}

// feed writes 25 video frames and 50 audio packets per second until stop.
func (c *camera) feed(st *gortsplib.ServerStream, video, audio *description.Media, stop, done chan struct{}) {
	defer close(done)
	write := func(m *description.Media, pkts []*rtp.Packet) {
		for _, p := range pkts {
			_ = st.WritePacketRTP(m, p)
		}
	}
	var h264enc *rtph264.Encoder
	var h265enc *rtph265.Encoder
	if c.spec.video == "h265" {
		h265enc = &rtph265.Encoder{PayloadType: 96, PayloadMaxSize: 1400}
		_ = h265enc.Init()
	} else {
		h264enc = &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: 1400, PacketizationMode: 1}
		_ = h264enc.Init()
	}
	var audioSeq uint16
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if c.frozen.Load() {
			continue
		}
		if audio != nil {
			audioSeq++
			write(audio, []*rtp.Packet{audioPacket(c.spec.audio, audioSeq, uint32(n))})
		}
		if n%2 != 0 {
			continue
		}
		frame := n / 2
		var pkts []*rtp.Packet
		if h265enc != nil {
			pkts, _ = h265enc.Encode(h265AU(frame))
		} else {
			au := c.aus[frame%len(c.aus)]
			// Cameras commonly send SPS/PPS only in the SDP: strip them.
			var nals [][]byte
			idr := false
			for _, nal := range au {
				if typ := nal[0] & 0x1F; typ != 7 && typ != 8 {
					nals = append(nals, nal)
					idr = idr || typ == 5
				}
			}
			if idr {
				c.idrs.Add(1)
			}
			pkts, _ = h264enc.Encode(nals)
		}
		for _, p := range pkts {
			p.Timestamp = uint32(frame) * 3600
		}
		write(video, pkts)
	}
}

// audioPacket is one 20 ms audio packet of the given codec.
func audioPacket(codec string, seq uint16, n uint32) *rtp.Packet {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq}}
	switch codec {
	case "opus":
		p.PayloadType, p.Timestamp = 111, n*960
		p.Payload = []byte{0xF8, 0xFF, 0xFE} // a 20 ms silent Opus frame (RFC 6716 §3.1, code 0, DTX)
	case "pcmu16":
		p.PayloadType, p.Timestamp = 98, n*320
		p.Payload = bytes.Repeat([]byte{0xFF}, 2*320) // µ-law silence, 20 ms of 16 kHz stereo
	case "pcma":
		p.PayloadType, p.Timestamp = 8, n*160
		p.Payload = bytes.Repeat([]byte{0xD5}, 160) // A-law silence
	case "aac":
		// RFC 3640 AAC-hbr: AU-headers-length 16 bits, one 13+3-bit header,
		// then a silent AAC-LC stereo frame (from ffmpeg's aac encoder).
		au := []byte{0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c}
		p.PayloadType, p.Timestamp = 97, n*1024
		p.Payload = append([]byte{0x00, 0x10, byte(len(au) >> 5), byte(len(au)<<3) & 0xF8}, au...)
	}
	return p
}

// Synthetic H.265: parameter sets and slices of the right types (the
// bridge does not decode H.265, it re-packetizes NAL units).
var (
	h265VPS = []byte{0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x5d, 0x95, 0x98, 0x09}
	h265SPS = []byte{0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x5d, 0xa0, 0x02, 0x80, 0x80, 0x2d, 0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x70, 0x80, 0x00, 0x01, 0xf4, 0x80, 0x00, 0x3a, 0x98, 0x04}
	h265PPS = []byte{0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40}
)

// h265AU is frame n: an IDR (type 19, 5000 bytes) every 25 frames, else a
// TRAIL_R slice (type 1, 900 bytes). Camera-style, without parameter sets.
func h265AU(n int) [][]byte {
	if n%25 == 0 {
		return [][]byte{append([]byte{19 << 1, 0x01}, bytes.Repeat([]byte{0xAB}, 5000)...)}
	}
	return [][]byte{append([]byte{1 << 1, 0x01}, bytes.Repeat([]byte{0xCD}, 900)...)}
}

type cameraHandler struct{ c *camera }

func (h *cameraHandler) OnSessionOpen(*gortsplib.ServerHandlerOnSessionOpenCtx) {
	h.c.mu.Lock()
	h.c.sessions++
	h.c.mu.Unlock()
}

func (h *cameraHandler) OnSessionClose(*gortsplib.ServerHandlerOnSessionCloseCtx) {
	h.c.mu.Lock()
	h.c.sessions--
	h.c.mu.Unlock()
}

func (h *cameraHandler) current() *gortsplib.ServerStream {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	return h.c.stream
}

func (h *cameraHandler) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	st := h.current()
	if st == nil {
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

func (h *cameraHandler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	st := h.current()
	if st == nil {
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil, nil
	}
	h.c.mu.Lock()
	silent := h.c.silent
	h.c.mu.Unlock()
	if silent != nil && ctx.Transport == gortsplib.TransportUDP {
		// UDP is accepted, but its datagrams never arrive.
		return &base.Response{StatusCode: base.StatusOK}, silent, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

func (h *cameraHandler) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	h.c.plays.Add(1)
	return &base.Response{StatusCode: base.StatusOK}, nil
}
