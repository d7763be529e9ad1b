package hostile

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"

	"github.com/wishgate/wishgate/internal/config"
	"github.com/wishgate/wishgate/internal/testutil"
)

// rtspHangUp is a reader that sets up url over UDP from src (client ports
// port and port+1), plays and hangs up without TEARDOWN: its session
// outlives the connection. It returns the SETUP's status.
func rtspHangUp(t *testing.T, addr net.Addr, url, src string, port int) base.StatusCode {
	t.Helper()
	c := dialFrom(t, src, addr)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	cseq := 0
	do := func(method base.Method, u string, h base.Header) *base.Response {
		cseq++
		h["CSeq"] = base.HeaderValue{strconv.Itoa(cseq)}
		pu, err := base.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		b, err := base.Request{Method: method, URL: pu, Header: h}.Marshal()
		if err == nil {
			_, err = c.Write(b)
		}
		var res base.Response
		if err == nil {
			err = res.Unmarshal(br)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		return &res
	}
	res := do(base.Describe, url, base.Header{"Accept": base.HeaderValue{"application/sdp"}})
	ctl := regexp.MustCompile(`a=control:(\S+)`).FindAllStringSubmatch(string(res.Body), -1)
	if res.StatusCode != base.StatusOK || len(ctl) == 0 {
		t.Fatalf("DESCRIBE: %d %q", res.StatusCode, res.Body)
	}
	track := ctl[len(ctl)-1][1]
	if !strings.HasPrefix(track, "rtsp://") {
		track = url + "/" + track
	}
	res = do(base.Setup, track, base.Header{"Transport": base.HeaderValue{
		"RTP/AVP;unicast;client_port=" + strconv.Itoa(port) + "-" + strconv.Itoa(port+1)}})
	if res.StatusCode != base.StatusOK {
		return res.StatusCode
	}
	session, _, _ := strings.Cut(res.Header["Session"][0], ";")
	if res := do(base.Play, url+"/", base.Header{"Session": base.HeaderValue{session}}); res.StatusCode != base.StatusOK {
		t.Fatalf("PLAY: %d", res.StatusCode)
	}
	return base.StatusOK
}

// TestRTSPUDPSessionsCapped: an RTSP session over UDP outlives the
// connection that set it up, so one client setting up readers over UDP and
// hanging up, again and again, once left the gateway sending the stream to
// as many sessions as it liked (300 from one address, 1 200 goroutines,
// nothing held open). Each such session now holds a place of its address
// under max_connections_per_ip: past it, SETUP is 503; a reader that
// leaves with TEARDOWN gives its place back; other addresses and the
// control viewer are untouched.
func TestRTSPUDPSessionsCapped(t *testing.T) {
	const perIP = 3
	udp := testutil.FreeUDPPair(t)
	gw := startGateway(t, func(c *config.Config) {
		c.MaxConnectionsPerIP = perIP
		c.RateLimitExempt = nil
		c.RTSPUDPRTPAddr, c.RTSPUDPRTCPAddr = "127.0.0.1:"+strconv.Itoa(udp), "127.0.0.1:"+strconv.Itoa(udp+1)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	addr := gw.RTSPAddr()
	url := "rtsp://" + addr.String() + "/control"
	api := newAttacker(t, gw)
	readers := func() int {
		var st struct {
			Viewers struct {
				RTSP int `json:"rtsp"`
			} `json:"viewers"`
		}
		r := api.do("GET", "/api/v1/streams/control", "", nil)
		if err := json.Unmarshal([]byte(r.body), &st); err != nil {
			t.Fatalf("stream info: %d %s: %v", r.status, r.body, err)
		}
		return st.Viewers.RTSP
	}

	// The attacker: ten readers that hang up. Its own connection takes a
	// place while it sets each one up, so it keeps perIP-1 sessions.
	var ok, refused int
	for i := range 10 {
		switch st := rtspHangUp(t, addr, url, "127.0.0.8", 30000+2*i); st {
		case base.StatusOK:
			ok++
		case base.StatusServiceUnavailable:
			refused++
		default:
			t.Fatalf("SETUP %d: %d", i, st)
		}
		// The gateway has seen the hang-up: what its RTSP listener holds
		// is the sessions alone.
		waitFor(t, ctx, "the attacker's connection closed", func() bool {
			n := metric(t, api, `wishgate_connections{listener="rtsp"}`)
			return n >= 0 && n <= float64(ok)
		})
	}
	if ok != perIP-1 || refused != 10-ok {
		t.Errorf("readers that hung up: %d set up, %d refused; want %d set up", ok, refused, perIP-1)
	}
	if n := readers(); n != ok {
		t.Errorf("the stream has %d RTSP readers, want the %d the attacker kept", n, ok)
	}

	// A reader elsewhere that leaves properly, again and again: each
	// TEARDOWN gives its place back.
	for range 2 * perIP {
		var got atomic.Int64
		r := playRTSP(t, url, "127.0.0.9", gortsplib.TransportUDP, &got)
		waitFor(t, ctx, "an RTSP reader's packets over UDP", func() bool { return got.Load() > 10 })
		r.Close()
		waitFor(t, ctx, "the reader gone", func() bool { return readers() == ok })
	}
	if n := metric(t, api, `wishgate_connections_refused_total{listener="rtsp",reason="per_ip"}`); int(n) != refused {
		t.Errorf("RTSP refusals per_ip counted %v, want %d", n, refused)
	}
	ctl.check(t, 0.999)
}

// TestRTSPUDPNotAimedAtOwnSockets: gortsplib sends a UDP reader's RTP to
// its connection's address at the client ports its SETUP names, so a
// reader on the gateway's own machine could aim the stream at the
// gateway's WebRTC media socket, its RTSP UDP ports or its HTTP port. Such
// a SETUP is 400; any other port of the reader's own address plays.
func TestRTSPUDPNotAimedAtOwnSockets(t *testing.T) {
	udp := testutil.FreeUDPPair(t)
	gw := startGateway(t, func(c *config.Config) {
		c.RTSPUDPRTPAddr, c.RTSPUDPRTCPAddr = "127.0.0.1:"+strconv.Itoa(udp), "127.0.0.1:"+strconv.Itoa(udp+1)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	addr := gw.RTSPAddr()
	url := "rtsp://" + addr.String() + "/control"
	media := gw.UDPAddr().Port
	http := gw.HTTPAddr().(*net.TCPAddr).Port
	// Each SETUP's two ports apart from the others': a session the
	// gateway let through would keep its ports, and a later SETUP naming
	// one of them would be refused for that reason instead.
	for _, c := range []struct {
		what string
		port int
	}{
		{"the WebRTC media socket", media},
		{"the RTSP UDP RTP port, as RTCP", udp - 1},
		{"the RTSP UDP RTCP port", udp + 1},
		{"the HTTP port", http},
	} {
		if st := rtspHangUp(t, addr, url, "127.0.0.1", c.port); st != base.StatusBadRequest {
			t.Errorf("SETUP aimed at %s (client_port=%d-%d): %d, want 400", c.what, c.port, c.port+1, st)
		}
	}
	// A port of the reader's own, from the same address: it plays.
	free := testutil.FreeUDPPair(t)
	if st := rtspHangUp(t, addr, url, "127.0.0.1", free); st != base.StatusOK {
		t.Errorf("SETUP to free ports of the reader: %d", st)
	}
	ctl.check(t, 0.999)
}
