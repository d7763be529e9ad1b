package connlimit

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server accepts on a limited loopback listener and keeps what it accepted
// until the test ends.
type server struct {
	l    *Listener
	mu   sync.Mutex
	conn []net.Conn
	done chan struct{}
}

func serve(t *testing.T, cfg Config) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{l: New(ln, cfg), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := s.l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conn = append(s.conn, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		s.l.Close()
		<-s.done
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conn {
			c.Close()
		}
	})
	return s
}

func (s *server) accepted() []net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Conn(nil), s.conn...)
}

func dial(t *testing.T, s *server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readAll reads what the server sends until it closes (bounded).
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the refused connection was not closed")
		}
	}
	return string(b)
}

func TestPerClientAndTotalCaps(t *testing.T) {
	refusal := "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
	s := serve(t, Config{Name: "test", MaxConns: 3, MaxPerClient: 2, Refusal: []byte(refusal)})
	dial(t, s)
	dial(t, s)
	waitFor(t, "two accepted", func() bool { return len(s.accepted()) == 2 })
	// A third from the same address: refused with the answer, then closed.
	c := dial(t, s)
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, c); got != refusal {
		t.Fatalf("refused connection read %q", got)
	}
	if r := s.l.Refused(); r.PerClient != 1 || r.Total != 0 || s.l.Open() != 2 {
		t.Fatalf("refused %+v, open %d", r, s.l.Open())
	}
	// Closing one gives its place back.
	s.accepted()[0].Close()
	waitFor(t, "the place given back", func() bool { return s.l.Open() == 1 })
	dial(t, s)
	waitFor(t, "accepted again", func() bool { return len(s.accepted()) == 3 })
}

func TestExemptClientsMeetTheTotalCap(t *testing.T) {
	s := serve(t, Config{MaxConns: 3, MaxPerClient: 1, Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for range 3 {
		dial(t, s)
	}
	waitFor(t, "the exempt client's three accepted", func() bool { return len(s.accepted()) == 3 })
	readAll(t, dial(t, s))
	if r := s.l.Refused(); r.Total != 1 || r.PerClient != 0 {
		t.Fatalf("refused %+v, open %d", r, s.l.Open())
	}
}

// Places held for a client (an RTSP session over UDP) count like its
// connections, against both caps, until released.
func TestHeldPlaces(t *testing.T) {
	s := serve(t, Config{MaxConns: 4, MaxPerClient: 2})
	a := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5000}
	b := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 5000}
	releaseA, ok := s.l.Hold(a)
	if !ok {
		t.Fatal("first place of a refused")
	}
	dial(t, s) // 127.0.0.1
	waitFor(t, "accepted", func() bool { return len(s.accepted()) == 1 })
	if _, ok := s.l.Hold(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 6000}); !ok {
		t.Fatal("second place of a refused")
	}
	if _, ok := s.l.Hold(a); ok {
		t.Fatal("a third place of one client held")
	}
	if _, ok := s.l.Hold(b); !ok {
		t.Fatal("a place of b refused")
	}
	if _, ok := s.l.Hold(b); ok {
		t.Fatal("a place past the total held")
	}
	if r := s.l.Refused(); r.PerClient != 1 || r.Total != 1 || s.l.Open() != 4 {
		t.Fatalf("refused %+v, open %d", r, s.l.Open())
	}
	releaseA()
	releaseA() // a second release gives nothing back
	if s.l.Open() != 3 {
		t.Fatalf("open %d after one release", s.l.Open())
	}
	if _, ok := s.l.Hold(a); !ok {
		t.Fatal("a released place was not given back")
	}
}

func TestRefusalWithoutAnswer(t *testing.T) {
	s := serve(t, Config{MaxConns: 1})
	dial(t, s)
	waitFor(t, "accepted", func() bool { return len(s.accepted()) == 1 })
	if got := readAll(t, dial(t, s)); got != "" {
		t.Fatalf("read %q", got)
	}
}

func TestIdleTimeoutUnlessBusy(t *testing.T) {
	s := serve(t, Config{IdleTimeout: 200 * time.Millisecond})
	dial(t, s)
	waitFor(t, "accepted", func() bool { return len(s.accepted()) == 1 })
	sc := s.accepted()[0].(*Conn)
	buf := make([]byte, 1)
	start := time.Now()
	_, err := sc.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("idle read: %v after %v", err, time.Since(start))
	}
	// Busy: the idle timeout no longer applies (the session's own do).
	sc.SetBusy(true)
	if err := sc.Conn.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = sc.Read(buf)
	if !errors.As(err, &ne) || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("busy read ended after %v: %v", time.Since(start), err)
	}
	// Idle again: a read blocked without deadline gets one.
	_ = sc.Conn.SetReadDeadline(time.Time{})
	res := make(chan error, 1)
	go func() {
		_, err := sc.Conn.Read(buf)
		res <- err
	}()
	sc.SetBusy(false)
	select {
	case err := <-res:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after SetBusy(false): %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SetBusy(false) set no deadline")
	}
}

// A connection becomes busy after a Read (the request that starts an RTSP
// session over UDP) has set its idle deadline: that deadline must not close
// it. The proof waits for another connection, idle since before, to time
// out: by then the busy one's old deadline has passed too.
func TestBusyLiftsTheIdleDeadline(t *testing.T) {
	const idle = 200 * time.Millisecond
	s := serve(t, Config{IdleTimeout: idle})
	client := dial(t, s)
	waitFor(t, "accepted", func() bool { return len(s.accepted()) == 1 })
	sc := s.accepted()[0].(*Conn)
	buf := make([]byte, 1)
	if _, err := client.Write([]byte{'P'}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Read(buf); err != nil { // sets the idle deadline
		t.Fatal(err)
	}
	dial(t, s)
	waitFor(t, "accepted", func() bool { return len(s.accepted()) == 2 })
	other := s.accepted()[1]
	sc.SetBusy(true)
	res := make(chan error, 1)
	go func() {
		_, err := sc.Read(buf)
		res <- err
	}()
	if _, err := other.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the idle connection's read: %v", err)
	}
	select {
	case err := <-res:
		t.Fatalf("the busy connection's read ended: %v", err)
	default:
	}
	if _, err := client.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-res:
		if err != nil || buf[0] != 'x' {
			t.Fatalf("the busy connection read %q, %v", buf, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the busy connection's read never returned")
	}
}

func TestUnwrap(t *testing.T) {
	s := serve(t, Config{})
	dial(t, s)
	waitFor(t, "accepted", func() bool { return len(s.accepted()) == 1 })
	c := s.accepted()[0]
	if got, ok := Unwrap(wrapped{c}); !ok || got != c {
		t.Fatal("Unwrap through NetConn")
	}
	if _, ok := Unwrap(wrapped{&net.TCPConn{}}); ok {
		t.Fatal("Unwrap found a Conn that is not there")
	}
}

// wrapped stands for a tls.Conn: it exposes the connection beneath.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

// closeProbe is a connection whose Close records how many places its
// listener counted open at the moment the socket went.
type closeProbe struct {
	net.Conn
	l          *Listener
	openAtShut int
}

func (p *closeProbe) Close() error {
	p.openAtShut = p.l.Open()
	return p.Conn.Close()
}

// A client that sees its connection closed and reconnects at once, at its
// per-client cap, must be admitted: the place is free before the socket
// closes, not some time after.
func TestPlaceFreeWhenTheClientSeesTheClose(t *testing.T) {
	s := serve(t, Config{MaxConns: 4, MaxPerClient: 1})
	dial(t, s)
	waitFor(t, "accepted", func() bool { return len(s.accepted()) == 1 })
	c := s.accepted()[0].(*Conn)
	probe := &closeProbe{Conn: c.Conn, l: s.l, openAtShut: -1}
	c.Conn = probe
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if probe.openAtShut != 0 {
		t.Fatalf("%d place(s) still counted open when the socket closed", probe.openAtShut)
	}
	// Closing again gives nothing back twice.
	_ = c.Close()
	if n := s.l.Open(); n != 0 {
		t.Fatalf("open %d after a second Close", n)
	}
	dial(t, s)
	waitFor(t, "the reconnect accepted", func() bool { return len(s.accepted()) == 2 })
	if r := s.l.Refused(); r.PerClient != 0 {
		t.Fatalf("refused %+v", r)
	}
}
