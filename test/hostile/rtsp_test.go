package hostile

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// TestStalledRTSPConnectionsClosed: an RTSP connection that sends nothing,
// or one OPTIONS and then nothing, is closed at rtsp_idle_timeout; one
// address gets at most max_connections_per_ip connections; RTSP readers
// over TCP and over UDP and a publisher over UDP (FFmpeg's default), whose
// connections are as silent, keep playing and publishing for many idle
// timeouts; the WHEP control viewer keeps its picture.
func TestStalledRTSPConnectionsClosed(t *testing.T) {
	const idle = 1500 * time.Millisecond
	udp := testutil.FreeUDPPair(t)
	gw := startGateway(t, func(c *config.Config) {
		c.RTSPIdleTimeout = idle
		c.MaxConnectionsPerIP = 3
		c.RateLimitExempt = nil
		c.RTSPUDPRTPAddr, c.RTSPUDPRTCPAddr = "127.0.0.1:"+strconv.Itoa(udp), "127.0.0.1:"+strconv.Itoa(udp+1)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	addr := gw.RTSPAddr()

	// Readers over TCP and UDP and a publisher over UDP, each from its own
	// address: they send nothing on their RTSP connections after PLAY or
	// RECORD (gortsplib's RTCP reports come every few seconds at most, and
	// over UDP not on the connection at all).
	var got, gotUDP, gotPub atomic.Int64
	reader := playRTSP(t, "rtsp://"+addr.String()+"/control", "127.0.0.5", gortsplib.TransportTCP, &got)
	defer reader.Close()
	readerUDP := playRTSP(t, "rtsp://"+addr.String()+"/control", "127.0.0.6", gortsplib.TransportUDP, &gotUDP)
	defer readerUDP.Close()
	publisher := publishRTSP(t, "rtsp://"+addr.String()+"/udp-pub", "127.0.0.7", gortsplib.TransportUDP)
	defer publisher.stop()
	api := newAttacker(t, gw)
	waitFor(t, ctx, "the RTSP publisher's stream", func() bool {
		return strings.Contains(api.do("GET", "/api/v1/streams/udp-pub", "", nil).body, `"state":"live"`)
	})
	pubReader := playRTSP(t, "rtsp://"+addr.String()+"/udp-pub", "127.0.0.5", gortsplib.TransportTCP, &gotPub)
	defer pubReader.Close()
	waitFor(t, ctx, "the RTSP readers' first packets", func() bool {
		return got.Load() > 10 && gotUDP.Load() > 10 && gotPub.Load() > 10
	})

	silent := dialFrom(t, "127.0.0.1", addr)
	closedWithin(t, "an RTSP connection that sends nothing", silent, idle-200*time.Millisecond, idle+slack)

	opts := dialFrom(t, "127.0.0.1", addr)
	fmt.Fprintf(opts, "OPTIONS rtsp://%s/control RTSP/1.0\r\nCSeq: 1\r\n\r\n", addr)
	buf := make([]byte, 512)
	_ = opts.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := opts.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "RTSP/1.0 200") {
		t.Fatalf("OPTIONS: %q %v", buf[:n], err)
	}
	closedWithin(t, "an RTSP connection after one OPTIONS", opts, idle-200*time.Millisecond, idle+slack)

	// The per-address cap: three held, the fourth closed at once.
	var held []net.Conn
	for i := range 3 {
		c := dialFrom(t, "127.0.0.1", addr)
		fmt.Fprintf(c, "OPTIONS rtsp://%s/control RTSP/1.0\r\nCSeq: %d\r\n\r\n", addr, i+1)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "RTSP/1.0 200") {
			t.Fatalf("held connection %d: %q %v", i, buf[:n], err)
		}
		held = append(held, c)
	}
	fourth := dialFrom(t, "127.0.0.1", addr)
	closedWithin(t, "a fourth RTSP connection of 127.0.0.1", fourth, 0, idle-500*time.Millisecond)
	for _, c := range held {
		c.Close()
	}

	// The readers and the publisher went on through all of it, four idle
	// timeouts at least after they started.
	start, before, beforeUDP, beforePub := time.Now(), got.Load(), gotUDP.Load(), gotPub.Load()
	waitFor(t, ctx, "the RTSP readers and publisher across idle timeouts", func() bool {
		return time.Since(start) > 4*idle && got.Load() > before+100 && gotUDP.Load() > beforeUDP+100 && gotPub.Load() > beforePub+100
	})
	if err := publisher.err(); err != nil {
		t.Errorf("the RTSP publisher over UDP: %v", err)
	}
	if n := metric(t, api, `wishgate_connections_refused_total{listener="rtsp",reason="per_ip"}`); n != 1 {
		t.Errorf("RTSP refusals per_ip counted %v, want 1", n)
	}
	// The silent connection and the one after OPTIONS; the playing and
	// publishing ones never.
	if n := metric(t, api, `wishgate_connections_timed_out_total{direction="read",listener="rtsp"}`); n != 2 {
		t.Errorf("RTSP connections ended by a read deadline: %v, want 2", n)
	}
	ctl.check(t, 0.999)
}

// playRTSP plays url from the source address src, counting packets.
func playRTSP(t *testing.T, url, src string, transport gortsplib.Transport, n *atomic.Int64) *gortsplib.Client {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := rtspClient(u, src, transport)
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	desc, _, err := c.Describe(u)
	if err == nil {
		err = c.SetupAll(desc.BaseURL, desc.Medias)
	}
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	c.OnPacketRTPAny(func(*description.Media, format.Format, *rtp.Packet) { n.Add(1) })
	if _, err := c.Play(nil); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// rtspClient is a client of u whose connection, and UDP sockets, are on the
// loopback address src.
func rtspClient(u *base.URL, src string, transport gortsplib.Transport) *gortsplib.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &transport, DialContext: d.DialContext}
	if transport == gortsplib.TransportUDP {
		c.ListenPacket = func(network, address string) (net.PacketConn, error) {
			_, port, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			return net.ListenPacket(network, net.JoinHostPort(src, port))
		}
	}
	return c
}

// rtspPublisher sends synthetic H.264 to the gateway over RTSP.
type rtspPublisher struct {
	c      *gortsplib.Client
	cancel context.CancelFunc
	done   chan struct{}
	failed atomic.Value // error
}

// publishRTSP publishes synthetic H.264 at url from the address src.
func publishRTSP(t *testing.T, url, src string, transport gortsplib.Transport) *rtspPublisher {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}}}
	c := rtspClient(u, src, transport)
	if err := c.StartRecording(url, desc); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &rtspPublisher{c: c, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		v := client.NewSynthVideo(client.SynthConfig{Bitrate: 300_000, FPS: 25})
		tick := time.NewTicker(v.FrameInterval())
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				for _, pkt := range v.Next(now) {
					pkt.PayloadType = forma.PayloadTyp
					if err := c.WritePacketRTP(desc.Medias[0], pkt); err != nil {
						p.failed.Store(err)
						return
					}
				}
			}
		}
	}()
	return p
}

// err is why the publisher stopped sending, if it did.
func (p *rtspPublisher) err() error {
	if err, ok := p.failed.Load().(error); ok {
		return err
	}
	return nil
}

func (p *rtspPublisher) stop() {
	p.cancel()
	<-p.done
	p.c.Close()
}

// TestSilentRTSPPublisherClosed: a publisher that sets up and records over
// TCP, then sends nothing, holds a stream name and a connection; it is
// closed at rtsp_read_timeout (1.5 s here), the stream is free again, and
// the deadline is counted.
func TestSilentRTSPPublisherClosed(t *testing.T) {
	const read = 1500 * time.Millisecond
	gw := startGateway(t, func(c *config.Config) { c.RTSPReadTimeout = read })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	api := newAttacker(t, gw)
	url := "rtsp://" + gw.RTSPAddr().String() + "/silent"
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}}}
	c := rtspClient(u, "127.0.0.1", gortsplib.TransportTCP)
	if err := c.StartRecording(url, desc); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	ended := make(chan error, 1)
	go func() { ended <- c.Wait() }()
	select {
	case err := <-ended:
		took := time.Since(start)
		if took < read-200*time.Millisecond {
			t.Errorf("the silent publisher was closed after %v, before rtsp_read_timeout %v (%v)", took, read, err)
		}
		t.Logf("the silent publisher was closed after %v: %v", took.Round(time.Millisecond), err)
	case <-time.After(read + slack):
		t.Fatalf("a publisher silent for %v is still connected (rtsp_read_timeout %v)", read+slack, read)
	}
	waitFor(t, ctx, "the silent publisher's stream gone", func() bool {
		return api.do("GET", "/api/v1/streams/silent", "", nil).status == http.StatusNotFound
	})
	if n := metric(t, api, `wishgate_connections_timed_out_total{direction="read",listener="rtsp"}`); n != 1 {
		t.Errorf("RTSP connections ended by a read deadline: %v, want 1", n)
	}
	ctl.check(t, 0.999)
}
