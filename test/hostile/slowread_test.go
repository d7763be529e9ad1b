package hostile

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
	"github.com/wishgate/wishgate/internal/config"
)

// TestSlowReaderClosed: a client that asks for responses and never reads
// them (many pipelined GETs of a script, its receive buffer kept small)
// holds the gateway's write blocked; http_write_timeout closes its
// connection, counted from the request being written, and a client reading
// its answers on another connection is served throughout.
func TestSlowReaderClosed(t *testing.T) {
	const write = 1500 * time.Millisecond
	gw := startGateway(t, func(c *config.Config) {
		c.RTSPAddr = ""
		c.HTTPReadTimeout, c.HTTPWriteTimeout, c.HTTPIdleTimeout = time.Second, write, time.Minute
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	a := newAttacker(t, gw)
	open := func() float64 { return metric(t, a, `wishgate_connections{listener="http"}`) }
	base := open() // the scrape's own connection, and the bystanders' if any
	if base < 0 {
		t.Fatal("/metrics refused")
	}
	const path = "/static/js/dashboard.js"
	page := len(a.do("GET", path, "", nil).body)

	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)},
		Timeout:   5 * time.Second,
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			if err != nil {
				return err
			}
			return serr
		},
	}
	c, err := d.Dial("tcp", gw.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 64 KiB of requests whose answers are far more than the socket
	// buffers on both sides hold (4 MiB at most): the gateway's write
	// blocks within the first few hundred.
	req := "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
	n := 64 << 10 / len(req)
	if n*page < 8<<20 {
		t.Fatalf("%d answers of %d bytes fit in the buffers", n, page)
	}
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := c.Write([]byte(strings.Repeat(req, n))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the slow reader's connection counted", func() bool { return open() >= base+1 })

	waitFor(t, ctx, "the slow reader's connection closed", func() bool {
		if time.Since(start) > write+slack {
			t.Fatalf("the connection of a client that reads nothing is open %v after its requests (http_write_timeout %v)",
				time.Since(start).Round(time.Millisecond), write)
		}
		n := open()
		return n >= 0 && n <= base
	})
	took := time.Since(start)
	if took < write-200*time.Millisecond {
		t.Errorf("closed after %v, before http_write_timeout %v", took.Round(time.Millisecond), write)
	}
	t.Logf("%s is %d bytes; a client reading none of its answers closed after %v", path, page, took.Round(time.Millisecond))
	if n := metric(t, a, `wishgate_connections_timed_out_total{direction="write",listener="http"}`); n != 1 {
		t.Errorf("HTTP connections ended by a write deadline: %v, want 1", n)
	}
	ctl.check(t, 0.999)
}

// TestEventStreamOutlivesWriteTimeout: a WHEP session's server-sent event
// stream is a response that lasts as long as the session; it sets its own
// deadline for each write, so http_write_timeout (1 s here) does not cut
// it: an event well after that still arrives.
func TestEventStreamOutlivesWriteTimeout(t *testing.T) {
	const write = time.Second
	gw := startGateway(t, func(c *config.Config) {
		c.RTSPAddr = ""
		c.HTTPReadTimeout, c.HTTPWriteTimeout = write, write
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctl := startControl(t, ctx, gw, "control")
	a := newAttacker(t, gw)
	r := a.do("POST", "/whep/control", "application/sdp", withCandidates(golden(t, "chromium-156-whep.sdp"), nil))
	if r.status != http.StatusCreated {
		t.Fatalf("viewer: %d %s", r.status, r.body)
	}
	defer a.do("DELETE", r.header.Get("Location"), "", nil)
	var sse string
	for _, l := range r.header.Values("Link") {
		if m := regexp.MustCompile(`^<([^>]+)>;.*rel="urn:ietf:params:whep:ext:core:server-sent-events"`).FindStringSubmatch(l); m != nil {
			sse = m[1]
		}
	}
	if sse == "" {
		t.Fatalf("no server-sent events link in %q", r.header.Values("Link"))
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gw.URL()+sse, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %d %q", sse, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	counts := make(chan string, 16)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(counts)
		sc := bufio.NewScanner(resp.Body)
		viewers := false
		for sc.Scan() {
			switch l := sc.Text(); {
			case l == "event: viewercount":
				viewers = true
			case viewers && strings.HasPrefix(l, "data: "):
				viewers = false
				counts <- strings.TrimPrefix(l, "data: ")
			}
		}
	}()
	defer func() {
		resp.Body.Close()
		<-readDone
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case c, ok := <-counts:
			if !ok {
				t.Fatalf("the event stream ended before %s", what)
			}
			return c
		case <-ctx.Done():
			t.Fatalf("no event: %s", what)
		}
		return ""
	}
	first := next("the first viewer count")
	// Well past the write timeout, counted from the GET's headers.
	select {
	case c, ok := <-counts:
		if !ok {
			t.Fatal("the event stream ended within three write timeouts")
		}
		t.Fatalf("an unexpected viewer count %s", c)
	case <-time.After(3 * write):
	}
	// Another viewer: the count changes, and the stream says so.
	ctx2, cancel2 := context.WithTimeout(ctx, 20*time.Second)
	defer cancel2()
	v, err := client.Play(ctx2, gw.URL()+"/whep/control", client.PlayOptions{Options: client.Options{HTTPClient: bystanderHTTP(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if c := next("a second viewer's count"); c == first {
		t.Errorf("viewer count %s again", c)
	} else {
		t.Logf("viewer count %s, then %s after %v", first, c, 3*write)
	}
	ctl.check(t, 0.999)
}
