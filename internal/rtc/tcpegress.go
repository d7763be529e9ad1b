package rtc

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/wishgate/wishgate/streams"
)

// ICE-TCP egress. pion's TCP mux owns the connections the listener accepts;
// the engine's listener records each (by remote address) so that a viewer
// whose selected pair is TCP can write its own sealed, RFC 4571-framed
// packets into it. Go serializes whole Write calls on a connection and
// pion writes each of its frames (STUN, DTLS, RTCP) with one Write, so the
// two writers' frames never interleave inside one another.

// tcpConns is the registry of accepted ICE-TCP connections.
type tcpConns struct {
	mu    sync.Mutex
	conns map[string]net.Conn
}

func (c *tcpConns) lookup(remote string) net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conns[remote]
}

// trackingListener records what it accepts in conns.
type trackingListener struct {
	net.Listener
	conns *tcpConns
}

func (l trackingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	key := conn.RemoteAddr().String()
	l.conns.mu.Lock()
	if l.conns.conns == nil {
		l.conns.conns = map[string]net.Conn{}
	}
	l.conns.conns[key] = conn
	l.conns.mu.Unlock()
	return &trackedConn{Conn: conn, key: key, conns: l.conns}, nil
}

type trackedConn struct {
	net.Conn
	key   string
	conns *tcpConns
	once  sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.conns.mu.Lock()
		if c.conns.conns[c.key] == c.Conn {
			delete(c.conns.conns, c.key)
		}
		c.conns.mu.Unlock()
	})
	return c.Conn.Close()
}

// tcpQueue bounds a TCP viewer's backlog in packets (≈ 0.75 s of a
// 2.5 Mbit/s stream with audio, as a fan-out worker's queue). Behind that
// the viewer skips to the next keyframe (streams.ErrDropped).
const tcpQueue = 256

type tcpFrame struct {
	b [2 + slotBytes]byte
	n int
}

// tcpWriter is one viewer's TCP writer: a bounded queue and the goroutine
// that drains it. The fan-out never waits for it.
type tcpWriter struct {
	conn   net.Conn
	remote string
	q      chan *tcpFrame
	free   chan *tcpFrame
	made   atomic.Int32
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func newTCPWriter(conn net.Conn, remote string) *tcpWriter {
	w := &tcpWriter{conn: conn, remote: remote,
		q: make(chan *tcpFrame, tcpQueue), free: make(chan *tcpFrame, tcpQueue+8),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// frame returns a free frame buffer, or nil when the queue is full.
func (w *tcpWriter) frame() *tcpFrame {
	select {
	case f := <-w.free:
		return f
	default:
	}
	if w.made.Add(1) > tcpQueue+8 {
		w.made.Add(-1)
		return nil
	}
	return new(tcpFrame)
}

func (w *tcpWriter) recycle(f *tcpFrame) {
	select {
	case w.free <- f:
	default:
	}
}

func (w *tcpWriter) push(f *tcpFrame) error {
	select {
	case <-w.stop:
		w.recycle(f)
		return nil
	default:
	}
	select {
	case w.q <- f:
		return nil
	default:
		w.recycle(f)
		return streams.ErrDropped
	}
}

// run writes frames until stopped or the connection fails. A Write blocked
// by a full TCP window returns when pion closes the connection with the
// peer connection.
func (w *tcpWriter) run() {
	defer close(w.done)
	for {
		select {
		case f := <-w.q:
			_, err := w.conn.Write(f.b[:f.n])
			w.recycle(f)
			if err != nil {
				return
			}
		case <-w.stop:
			return
		}
	}
}

func (w *tcpWriter) close() { w.once.Do(func() { close(w.stop) }) }
