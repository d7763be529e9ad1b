package connlimit

import (
	"errors"
	"net"
	"os"
	"time"
)

// TimedOut counts the connections a deadline ended: Read ones (a client
// that sent nothing for the idle timeout, or its request too slowly),
// Write ones (a client that did not take its response in time). Each
// connection counts once, for the first deadline that passed.
type TimedOut struct {
	Read, Write uint64
}

// TimedOut reports the connections ended by a deadline so far.
func (l *Listener) TimedOut() TimedOut {
	return TimedOut{Read: l.readTimeouts.Load(), Write: l.writeTimeouts.Load()}
}

// SetDeadline records whether the read deadline is an abort (see
// SetReadDeadline) and sets both.
func (c *Conn) SetDeadline(t time.Time) error {
	c.noteReadDeadline(t)
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline records whether the deadline is already past: servers set
// one to interrupt a pending Read of their own (net/http ends its
// background read so), which is not a client being slow.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.noteReadDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *Conn) noteReadDeadline(t time.Time) {
	c.readAbort.Store(!t.IsZero() && !t.After(time.Now()))
}

// Write counts a write deadline that passed.
func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && isTimeout(err) && c.timedOut.CompareAndSwap(false, true) {
		c.l.writeTimeouts.Add(1)
	}
	return n, err
}

// readTimedOut counts a read deadline that passed, unless it was an abort.
func (c *Conn) readTimedOut(err error) {
	if err != nil && isTimeout(err) && !c.readAbort.Load() && c.timedOut.CompareAndSwap(false, true) {
		c.l.readTimeouts.Add(1)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
