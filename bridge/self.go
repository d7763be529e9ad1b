package bridge

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/url"
	"strconv"
	"sync"
)

// Self lets a camera source pull one of the gateway's own streams (a source
// whose URL names one of its RTSP or RTSPS listeners on this machine, e.g.
// mirror=rtsp://127.0.0.1:8554/site/cam1) without a user's token: the
// source presents a credential made at start-up that only this process
// knows, and the gateway's RTSP servers accept it for reading, whatever
// read tokens users are given. It never leaves the machine: it is added
// only to URLs of the gateway's own listeners, and scrubbed from errors.
type Self struct {
	token string

	mu        sync.Mutex
	listeners []selfListener
}

type selfListener struct {
	addr *net.TCPAddr
	tls  bool
}

// NewSelf makes the credential.
func NewSelf() *Self {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return &Self{token: hex.EncodeToString(b)}
}

// listening records a bound RTSP (tls false) or RTSPS listener.
func (s *Self) listening(a net.Addr, tls bool) {
	if s == nil {
		return
	}
	if ta, ok := a.(*net.TCPAddr); ok {
		s.mu.Lock()
		s.listeners = append(s.listeners, selfListener{addr: ta, tls: tls})
		s.mu.Unlock()
	}
}

// authorizes reports whether tok is the gateway's own credential.
func (s *Self) authorizes(tok string) bool {
	return s != nil && tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) == 1
}

// pullURL returns raw with the credential added if raw names one of the
// gateway's own listeners, and whether it does.
func (s *Self) pullURL(raw string) (string, bool) {
	if s == nil {
		return raw, false
	}
	u, err := url.Parse(raw)
	if err != nil || !s.own(u) {
		return raw, false
	}
	q := u.Query()
	q.Set("token", s.token)
	u.RawQuery = q.Encode()
	return u.String(), true
}

// own: the URL's scheme and port are a listener's, and its host is this
// machine (loopback, the listener's own address, or an interface's).
func (s *Self) own(u *url.URL) bool {
	tls := u.Scheme == "rtsps"
	port := 554
	if tls {
		port = 322
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		port = n
	}
	s.mu.Lock()
	ls := append([]selfListener(nil), s.listeners...)
	s.mu.Unlock()
	for _, l := range ls {
		if l.tls == tls && l.addr.Port == port && onThisMachine(u.Hostname(), l.addr.IP) {
			return true
		}
	}
	return false
}

// onThisMachine reports whether a connection to host reaches a listener
// bound to listenIP. A listener on one address is reached by that address
// only (another program may hold the port on another loopback address, and
// must not get the credential); one on every address by loopback and the
// machine's interface addresses, IPv4 ones only for 0.0.0.0.
func onThisMachine(host string, listenIP net.IP) bool {
	if host == "localhost" {
		return listenIP.IsUnspecified() || listenIP.IsLoopback()
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return false // a name: not resolved here, so never taken for the gateway
	case !listenIP.IsUnspecified():
		return ip.Equal(listenIP)
	case listenIP.To4() != nil && ip.To4() == nil:
		return false
	case ip.IsLoopback():
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
